"""Messages as a person reads them: enumerations in words, every time as a Slack date token
(each reader's own time zone), never a raw ISO string."""

from __future__ import annotations

import re

from emulators.dss import DEMO
from tests.e2e.helpers import link, reply_to, texts

ALICE_KEY = DEMO["alice"]["api_key"]
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
DATE_TOKEN = re.compile(
    r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d{2}-\d{2} "
    r"\d{2}:\d{2} UTC>"
)


def without_tokens(text: str) -> str:
    return re.sub(r"<!date\^[^>]*>", "", text)


async def test_dss_jobs_are_in_words(driver, slack, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(driver, slack, "alice", "/dss", "jobs", expect="Running jobs")
    body = texts(reply.blocks)
    assert "not started · forced build" in body and "running · forced build" in body
    assert "NOT_STARTED" not in body and "NON_RECURSIVE_FORCED_BUILD" not in body
    assert DATE_TOKEN.search(body) and not ISO.search(without_tokens(body))


async def test_links_audit_and_home_show_times_as_date_tokens(driver, slack, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    links = texts(
        (await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")).blocks
    )
    audit = texts(
        (await reply_to(driver, slack, "alice", "/ops", "audit 5", expect="changes")).blocks
    )
    await driver.home_opened("alice")
    home = await driver.wait_for(lambda: slack.home("alice"))
    for body in (links, audit, texts(home.blocks)):
        assert DATE_TOKEN.search(body), body
        assert not ISO.search(without_tokens(body)), body
