"""Subscription filters end to end, through signed Slack requests: `/ops digest add … project=`
narrows what the next digest shows per platform (DSS by project, Limits by kind, Astakos by
project), an alert filter narrows what is posted, bad filters are explained (an unknown
project with its close names, a field a platform cannot apply with what it can), `edit`
changes what the next run shows, and `list` and App Home show the filters."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.astakos import DEMO as ASTAKOS_DEMO
from emulators.dss import DEMO as DSS_DEMO
from emulators.limits import DEMO as LIMITS_DEMO
from emulators.limits import LimitsEmulator
from tests.e2e.helpers import link, reply_to, texts
from tests.support.bot import make_settings

ALICE_KEY = DSS_DEMO["alice"]["api_key"]
ALICE_DM = "D0ALICE"


@pytest.fixture(scope="module")
def limits_emulator() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:
        yield emulator


@pytest.fixture
def limits(limits_emulator: LimitsEmulator) -> LimitsEmulator:
    limits_emulator.faults.clear()
    return limits_emulator


@pytest.fixture
def platforms(dss, limits, astakos) -> dict[str, list[dict[str, Any]]]:
    return {
        "dss": [{"name": "prod", "url": dss.url}],
        "limits": [{"name": "risk", "url": limits.url}],
        "astakos": [{"name": "okeanos", "url": f"{astakos.url}/identity/v2.0"}],
    }


@pytest.fixture
def settings(tmp_path, slack, platforms):
    return make_settings(tmp_path, slack, platforms=platforms, slack_channel_interval=0.05)


def rows(settings, sql: str, *args: Any) -> list[tuple]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute(sql, args).fetchall()


def posted(slack, sub_id: int) -> list:
    return [
        m
        for m in slack.messages(ALICE_DM)
        if m.metadata and m.metadata["event_payload"]["subscription"] == sub_id
    ]


async def digest_now(driver, slack, sub_id: int) -> str:
    """Run the digest at once and return the text of the message it posted."""
    before = len(posted(slack, sub_id))
    await reply_to(driver, slack, "alice", "/ops", f"digest now {sub_id}", expect=f"#{sub_id}")
    messages = await driver.wait_for(
        lambda: (found := posted(slack, sub_id)) and len(found) > before and found
    )
    return texts(messages[-1].blocks)


async def link_dss(driver, slack) -> None:
    assert "Linked" in await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})


async def link_limits(driver, slack) -> None:
    values = {k: LIMITS_DEMO["alice"][k] for k in ("username", "password")}
    assert "Linked" in await link(driver, slack, "alice", "limits", values)


async def test_dss_digest_narrowed_to_a_project(driver, slack, bot, dss):
    await link_dss(driver, slack)
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Digest added"
    )
    added = await reply_to(
        driver,
        slack,
        "alice",
        "/ops",
        "digest add dss daily 09:00 project=sales",
        expect="Digest added",
    )
    # Spelt as DSS spells it, and shown with the subscription.
    assert "only `project=SALES`" in texts(added.blocks)
    assert rows(bot.settings, "select id, filters from subscriptions order by id") == [
        (1, ""),
        (2, "project=SALES"),
    ]
    everything = await digest_now(driver, slack, 1)
    narrowed = await digest_now(driver, slack, 2)
    assert "Rebuild code env" in everything and "Nightly build" in everything
    assert "Nightly build" in narrowed  # the SALES scenario running now
    assert "Rebuild code env" not in narrowed  # a task of no project
    # The narrowed run asked DSS for SALES's scenarios only, not for every project's.
    scenario_lists = [
        r.path for r in dss.requests_to("GET", "/scenarios") if r.path.endswith("/scenarios")
    ]
    assert scenario_lists.count("/public/api/projects/SALES/scenarios") == 2
    assert scenario_lists.count("/public/api/projects/FINANCE/scenarios") == 1


async def test_limits_digest_narrowed_by_kind_and_edited(driver, slack, bot, limits):
    await link_limits(driver, slack)
    await reply_to(
        driver,
        slack,
        "alice",
        "/ops",
        "digest add limits daily 09:00 kind=breach",
        expect="Digest added",
    )
    limits.requests.clear()
    breaches = await digest_now(driver, slack, 1)
    assert ":red_circle: *Breach*" in breaches
    assert "0 warning(s)" in breaches and "*Warning*" not in breaches
    # Limits itself was asked for breaches only.
    [asked] = [r for r in limits.requests_to("POST", "incident") if b"Incident Type" in r.body]
    assert b'"Breach"' in asked.body and b'"Warning"' not in asked.body
    edited = await reply_to(
        driver, slack, "alice", "/ops", "digest edit 1 kind=warning", expect="now filtered"
    )
    assert "only `kind=warning`" in texts(edited.blocks)
    warnings = await digest_now(driver, slack, 1)
    assert "0 breach(es)" in warnings and "*Warning*" in warnings and "*Breach*" not in warnings
    cleared = await reply_to(
        driver, slack, "alice", "/ops", "digest edit 1 clear", expect="Cleared the filters"
    )
    assert "only `" not in texts(cleared.blocks)
    assert rows(bot.settings, "select filters from subscriptions") == [("",)]
    audit = rows(bot.settings, "select action, detail from audit where action = 'digest.edit'")
    assert audit == [("digest.edit", "kind=warning"), ("digest.edit", "filters cleared")]


async def test_an_alert_filter_narrows_what_is_posted(driver, slack, bot, limits):
    await link_limits(driver, slack)
    await reply_to(
        driver, slack, "alice", "/ops", "alert add limits.breaches", expect="Alert added"
    )
    added = await reply_to(
        driver,
        slack,
        "alice",
        "/ops",
        'alert add limits.breaches name~"model 3"',
        expect="Alert added",
    )
    assert "only `name~'model 3'`" in texts(added.blocks)
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")
    await reply_to(driver, slack, "alice", "/ops", "alert now 2", expect="Checked #2")
    every = [m.text for m in posted(slack, 1)]
    narrowed = [m.text for m in posted(slack, 2)]
    assert narrowed and len(narrowed) < len(every)
    assert all("Model 3" in t for t in narrowed), narrowed
    assert sorted(narrowed) == sorted(t for t in every if "Model 3" in t)


async def test_bad_filters_are_explained(driver, slack, bot):
    await link_dss(driver, slack)
    await link_limits(driver, slack)

    async def refused(text: str, expect: str) -> str:
        reply = await reply_to(driver, slack, "alice", "/ops", text, expect=expect)
        return reply.text or ""

    unknown = await refused("digest add dss daily 09:00 project=SALSE", "no project")
    assert "`SALSE`" in unknown and "Did you mean `SALES`" in unknown
    cannot = await refused("digest add limits daily 09:00 project=SALES", "can't be filtered")
    assert "Atoti Limits can't be filtered by `project`" in cannot
    assert "it supports `instance`, `kind`, `name`" in cannot
    mixed = await refused("digest add all daily 09:00 project=SALES", "can't be filtered")
    assert "Name the platforms that can: `dss,astakos`" in mixed
    kind = await refused("digest add limits daily 09:00 kind=error", "`breach` or `warning`")
    assert "not `error`" in kind
    name = await refused("alert add limits.breaches name=Civic", "`name~Civic`")
    assert "Write the name filter with `~`" in name
    source = await refused("alert add limits.status kind=breach", "can't be filtered")
    assert "`limits.status` can't be filtered by `kind`; it supports `instance`." in source
    instance = await refused("digest add dss daily 09:00 instance=test", "instance")
    assert "`test`" in instance
    # Nothing was saved, and the bot still answers.
    assert rows(bot.settings, "select count(*) from subscriptions") == [(0,)]
    await reply_to(driver, slack, "alice", "/ops", "digest list", expect="You have none")
    edit = await refused("digest edit 7 kind=breach", "no digest or alert #7")
    assert "`/ops digest list`" in edit


async def test_list_and_home_show_the_filters(driver, slack, bot):
    await link_dss(driver, slack)
    await reply_to(
        driver,
        slack,
        "alice",
        "/ops",
        "digest add dss daily 09:00 project=SALES project=FINANCE name~build",
        expect="Digest added",
    )
    listed = await reply_to(driver, slack, "alice", "/ops", "digest list", expect="#1")
    assert "only `project=SALES project=FINANCE name~build`" in texts(listed.blocks)
    await driver.home_opened("alice")
    home = await driver.wait_for(lambda: slack.home("alice"))
    assert "only `project=SALES project=FINANCE name~build`" in texts(home.blocks)
    await reply_to(driver, slack, "alice", "/ops", "digest edit 1 clear", expect="Cleared")
    await driver.home_opened("alice")
    await driver.wait_for(lambda: "only `" not in texts(slack.home("alice").blocks))


async def test_astakos_digest_narrowed_to_a_project(driver, slack, bot, astakos):
    token = ASTAKOS_DEMO["alice"]["token"]
    assert "Linked" in await link(driver, slack, "alice", "astakos", {"token": token})
    await reply_to(
        driver, slack, "alice", "/ops", "digest add astakos daily 09:00", expect="Digest added"
    )
    await reply_to(
        driver,
        slack,
        "alice",
        "/ops",
        "digest add astakos daily 09:00 project=CHEM.example.org",
        expect="Digest added",
    )
    everything = await digest_now(driver, slack, 1)
    narrowed = await digest_now(driver, slack, 2)
    assert "bio.example.org" in everything and "personal (system)" in everything
    assert "*RAM* · chem.example.org" in narrowed
    assert "Quotas over 80 % (2)" in narrowed
    assert "bio.example.org" not in narrowed and "personal (system)" not in narrowed
    assert rows(bot.settings, "select filters from subscriptions where id = 2") == [
        ("project=chem.example.org",)
    ]
