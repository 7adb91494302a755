"""Digests and alerts as a person sets them up: a duplicate is flagged, a removal is
confirmed, a channel is confirmed once, `alert add` alone lists the sources."""

from __future__ import annotations

import sqlite3

from bot import help as help_topics
from bot.digests import registry
from bot.platforms.catalog import DESCRIPTORS
from emulators.dss import DEMO
from tests.e2e.helpers import link, reply_to, texts

ALICE_KEY = DEMO["alice"]["api_key"]


def count(settings) -> int:
    return (
        sqlite3.connect(settings.db_path)
        .execute("select count(*) from subscriptions")
        .fetchone()[0]
    )


async def test_adding_the_same_digest_again_warns_and_asks(driver, slack, bot, settings):
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss every 30m", expect="Digest added"
    )
    again = await reply_to(
        driver, slack, "alice", "/ops", "digest add dss every 30m", expect="You already have this"
    )
    assert "*#1* digest of `dss`, `every 30m`" in texts(again.blocks)
    assert count(settings) == 1
    await driver.click("alice", again, text="Cancel")
    await driver.wait_for(lambda: "nothing was saved" in (slack.ephemerals("alice")[-1].text or ""))
    assert count(settings) == 1
    again = await reply_to(
        driver, slack, "alice", "/ops", "digest add dss every 30m", expect="You already have this"
    )
    await driver.click("alice", again, text="Add anyway")
    await driver.wait_for(lambda: count(settings) == 2)
    # A different schedule is not a duplicate.
    await reply_to(driver, slack, "alice", "/ops", "digest add dss every 2h", expect="Digest added")


async def test_digest_remove_asks_first_and_keep_keeps_it(driver, slack, bot, settings):
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss every 30m", expect="Digest added"
    )
    ask = await reply_to(driver, slack, "alice", "/ops", "digest remove 1", expect="Remove #1?")
    assert "It stops and is deleted" in texts(ask.blocks)
    await driver.click("alice", ask, text="Keep it")
    await driver.wait_for(lambda: "Kept #1" in (slack.ephemerals("alice")[-1].text or ""))
    assert count(settings) == 1
    ask = await reply_to(driver, slack, "alice", "/ops", "digest remove 1", expect="Remove #1?")
    await driver.click("alice", ask, text="Remove")
    await driver.wait_for(lambda: count(settings) == 0)


async def test_a_channel_digest_is_confirmed_once(driver, slack, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    prompt = await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00 to #ops", expect="Everyone in"
    )
    confirm = next(
        e
        for blk in prompt.blocks
        if blk["type"] == "actions"
        for e in blk["elements"]
        if e["text"]["text"] == "Confirm"
    )
    assert "confirm" not in confirm  # the message is the confirmation; no second dialog
    await driver.click("alice", prompt, text="Confirm")
    await driver.wait_for(lambda: count(settings) == 1)


async def test_alert_add_alone_lists_the_sources_one_line_each(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/ops", "alert add", expect="Sources:")
    body = texts(reply.blocks)
    lines = [line for line in body.splitlines() if line.startswith("• `")]
    # Only the configured platform's sources (DSS here), each with what it tells.
    assert lines == [
        f"• `{name}`: {help_topics.ALERT_SOURCES[name]}"
        for name in registry.alerts(DESCRIPTORS)
        if name.startswith("dss.")
    ]
    assert "For example: `/ops alert add dss.futures`" in body


def test_every_alert_source_has_its_line():
    assert set(registry.alerts(DESCRIPTORS)) <= set(help_topics.ALERT_SOURCES)


async def test_an_empty_secret_is_a_field_error_in_the_same_modal(driver, slack, bot):
    opened = len(slack.views_opened("alice"))
    await driver.command("alice", "/ops", "link dss")
    view = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    await driver.submit("alice", view, {"field_api_key": "   "})
    current = await driver.wait_for(lambda: slack.view(view.id).errors and slack.view(view.id))
    assert current.open and current.errors == {
        "field_api_key": "Fill this in: API key is needed to link your account."
    }
    assert "Link" in current.title["text"]  # still the link form, not a "Not linked" notice
