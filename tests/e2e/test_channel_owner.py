"""A digest or alert into a channel needs its owner in that channel as well as the bot (the
owner's credentials speak there): checked when it is added, confirmed and resumed, at each
run, and when Slack says the owner left; then it pauses, and the owner gets one DM saying why
and how to resume. (issue 11, "People and channels")"""

from __future__ import annotations

import sqlite3

from emulators.dss import DEMO
from tests.e2e.helpers import dms, link, reply_to
from tests.support.bot import on_bot

ALICE_KEY = DEMO["alice"]["api_key"]
PAUSED = "I paused digest #1 in <#C0OPS>: you are no longer a member there"


def paused(settings) -> list[tuple[int, int]]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute("select id, paused from subscriptions order by id").fetchall()


async def add_alices_digest(driver, slack) -> None:
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    prompt = await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00 to #ops", expect="Everyone in"
    )
    await driver.click("alice", prompt, text="Confirm")
    await driver.wait_for(
        lambda: (
            "Added #1" in dms(slack, "alice")
            or any("Added #1" in (m.text or "") for m in slack.ephemerals("alice"))
        )
    )


def leave(slack, user: str, channel: str = "C0OPS") -> None:
    with slack.workspace.lock:
        slack.channel(channel).members.discard(user)


async def test_an_owner_outside_the_channel_cannot_add_one(driver, slack, bot, settings):
    leave(slack, "U0BOB")
    for text in ("digest add dss daily 09:00 to #ops", "alert add dss.futures to #ops"):
        refused = await reply_to(driver, slack, "bob", "/ops", text, expect="You are not in")
        assert refused.text.startswith(
            "You are not in <#C0OPS>. What is posted there is what *your* linked accounts can see"
        )
    assert paused(settings) == []


async def test_the_confirm_button_checks_again(driver, slack, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    prompt = await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00 to #ops", expect="Everyone in"
    )
    leave(slack, "U0ALICE")
    await driver.click("alice", prompt, text="Confirm")
    await driver.wait_for(
        lambda: any("You are not in <#C0OPS>" in (m.text or "") for m in slack.ephemerals("alice"))
    )
    assert paused(settings) == []


async def test_leaving_the_channel_pauses_it_with_one_dm(driver, slack, bot, settings):
    await add_alices_digest(driver, slack)
    assert paused(settings) == [(1, 0)] and bot.services.scheduler.scheduled(1)
    leave(slack, "U0ALICE")
    event = {
        "type": "member_left_channel",
        "user": "U0ALICE",
        "channel": "C0OPS",
        "channel_type": "C",
    }
    assert (await driver.event(event)).status == 200
    await driver.wait_for(lambda: paused(settings) == [(1, 1)])
    await driver.wait_for(lambda: PAUSED in dms(slack, "alice"))
    told = dms(slack, "alice")
    assert (
        "Join <#C0OPS> again, then `/ops digest resume 1`. Or remove it with "
        "`/ops digest remove 1`."
    ) in told
    assert not bot.services.scheduler.scheduled(1)
    # Slack says it again (another event), and a run comes: still one DM.
    await driver.event(event)
    await on_bot(bot, bot.services.scheduler.run_job(1))
    await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="was not posted")
    assert dms(slack, "alice").count(PAUSED) == 1
    # Resuming from outside is refused; back in the channel, it resumes.
    await reply_to(driver, slack, "alice", "/ops", "digest resume 1", expect="You are not in")
    with slack.workspace.lock:
        slack.channel("C0OPS").members.add("U0ALICE")
    await reply_to(driver, slack, "alice", "/ops", "digest resume 1", expect="Resumed #1")
    assert paused(settings) == [(1, 0)]


async def test_a_run_finds_the_owner_gone_and_pauses_with_one_dm(driver, slack, bot, settings):
    await add_alices_digest(driver, slack)
    leave(slack, "U0ALICE")  # no event: Slack's may be lost
    posted = len(slack.messages("C0OPS"))
    await on_bot(bot, bot.services.scheduler.run_job(1))
    assert paused(settings) == [(1, 1)]
    assert len(slack.messages("C0OPS")) == posted  # nothing posted with alice's credentials
    await on_bot(bot, bot.services.scheduler.run_job(1))
    assert dms(slack, "alice").count(PAUSED) == 1
