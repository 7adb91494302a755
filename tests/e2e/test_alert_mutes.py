"""Snooze and Mute on alert messages, end to end through signed Slack requests: every alert
message carries the controls; a snooze silences exactly that item's news on that subscription
until it ends (the bot's clock moved by the test), a mute silences the item, or every item of a
kind, until `/ops alert unmute` or Home's Unmute lifts it; what happened during a silence is
not posted afterwards; another item and another subscription keep posting; a person outside
the alert's channel is refused; `/ops alert list` and App Home show what is silenced.

Besides the real Limits breaches source, the bot is given one more Limits alert source,
`limits.jobs`, that returns the facts the test scripts (`NEWS`): several facts about the same
subject, which is what the real sources say as an item moves on (started, failed, done)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.blocks import common as b
from bot.digests.base import AlertItem, DigestContext
from bot.platforms.catalog import DESCRIPTORS
from bot.server import BotServer
from emulators.limits import DEMO as LIMITS_DEMO
from emulators.limits import LimitsEmulator
from tests.e2e.helpers import link, reply_to, texts
from tests.support.bot import make_settings

ALICE_DM = "D0ALICE"
NEWS: list[AlertItem] = []


def fact(subject: str, state: str, kind: str = "job", gone: str | None = None) -> AlertItem:
    text = f"{subject} {state}"
    return AlertItem(
        key=f"{subject}:{state}",
        text=text,
        blocks=[b.section(text)],
        subject=subject,
        kind=kind,
        state=state,
        gone=gone,
    )


async def scripted(ctx: DigestContext) -> list[AlertItem]:
    """What a source says each poll: every subject scripted so far, at its latest fact."""
    latest = {item.subject: item for item in NEWS}
    return list(latest.values())


def with_jobs_source() -> tuple[Any, ...]:
    out = []
    for descriptor in DESCRIPTORS:
        if descriptor.key == "limits":
            sources = {**descriptor.alert_sources(), "limits.jobs": scripted}
            descriptor = replace(descriptor, alerts=sources)
        out.append(descriptor)
    return tuple(out)


class Clock:
    """The bot's `now`: the real time at the start, moved only by the test."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture(scope="module")
def limits_emulator() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:
        yield emulator


@pytest.fixture
def limits(limits_emulator: LimitsEmulator) -> LimitsEmulator:
    limits_emulator.faults.clear()
    return limits_emulator


@pytest.fixture
def platforms(dss, limits) -> dict[str, list[dict[str, Any]]]:
    return {
        "dss": [{"name": "prod", "url": dss.url}],
        "limits": [{"name": "risk", "url": limits.url}],
    }


@pytest.fixture
def settings(tmp_path, slack, platforms):
    return make_settings(tmp_path, slack, platforms=platforms, descriptors=with_jobs_source())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bot(settings, clock) -> Iterator[BotServer]:
    NEWS.clear()
    with BotServer(settings, now=clock) as server:
        yield server
    NEWS.clear()


def rows(settings, sql: str, *args: Any) -> list[tuple]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute(sql, args).fetchall()


def posted(slack, channel: str, sub_id: int) -> list:
    return [
        m
        for m in slack.messages(channel)
        if m.metadata and m.metadata["event_payload"]["subscription"] == sub_id
    ]


def posted_texts(slack, channel: str, sub_id: int) -> list[str]:
    return [m.text for m in posted(slack, channel, sub_id)]


def message_about(slack, channel: str, sub_id: int, text: str):
    [found] = [m for m in posted(slack, channel, sub_id) if m.text == text]
    return found


async def marked_with(driver, slack, channel: str, sub_id: int, text: str, line: str):
    """The alert message once the line saying who silenced it is on it."""
    return await driver.wait_for(
        lambda: (m := message_about(slack, channel, sub_id, text)) and line in texts(m.blocks) and m
    )


async def check(driver, slack, sub_id: int, new: int) -> None:
    """`/ops alert now <id>`: the bot says how many new items it posted."""
    await reply_to(
        driver, slack, "alice", "/ops", f"alert now {sub_id}", expect=f"Checked #{sub_id}: {new} "
    )


async def link_limits(driver, slack) -> None:
    values = {k: LIMITS_DEMO["alice"][k] for k in ("username", "password")}
    assert "Linked" in await link(driver, slack, "alice", "limits", values)


async def add_jobs_alerts(driver, slack) -> None:
    """#1 to alice's DMs, #2 to #ops (alice owns both; bob is in #ops, carol is not)."""
    await link_limits(driver, slack)
    await reply_to(driver, slack, "alice", "/ops", "alert add limits.jobs", expect="Alert added")
    prompt = await reply_to(
        driver, slack, "alice", "/ops", "alert add limits.jobs to #ops", expect="Everyone in"
    )
    since = slack.last_seq
    await driver.click("alice", prompt, text="Confirm")
    await driver.wait_for(
        lambda: (
            any("Added #2" in (m.text or "") for m in slack.ephemerals("alice") if m.ts)
            and slack.last_seq > since
        )
    )


async def clicked(driver, slack, user: str, message, text: str, expect: str) -> str:
    """Click a control on an alert message; the clicker's ephemeral reply containing `expect`."""
    since = slack.last_seq
    await driver.click(user, message, text=text)
    return await _told(driver, slack, user, since, expect)


async def _told(driver, slack, user: str, since: int, expect: str) -> str:
    uid = slack.user(user).id

    def found() -> str | None:
        touched = {e.ts for e in slack.events_since(since) if e.user == uid}
        for m in slack.ephemerals(user):
            if m.ts in touched and expect in (m.text or ""):
                return m.text
        return None

    return await driver.wait_for(found)


def date_token_time(text: str) -> datetime:
    [stamp] = re.findall(r"<!date\^(\d+)\^", text)
    return datetime.fromtimestamp(int(stamp), UTC)


async def test_every_alert_message_carries_snooze_and_mute(driver, slack, bot):
    await link_limits(driver, slack)
    await reply_to(
        driver, slack, "alice", "/ops", "alert add limits.breaches", expect="Alert added"
    )
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")
    messages = posted(slack, ALICE_DM, 1)
    assert messages
    for message in messages:
        [controls] = [block for block in message.blocks if block["type"] == "actions"][-1:]
        labels = [(e.get("text") or {}).get("text") or e["type"] for e in controls["elements"]]
        assert labels == [
            "Snooze 1 hour",
            "Snooze 1 day",
            "datepicker",
            "Mute this item",
            "Mute all breaches",
        ]


async def test_a_snooze_silences_that_items_news_on_that_alert_until_it_ends(
    driver, slack, bot, clock
):
    await add_jobs_alerts(driver, slack)
    NEWS.extend([fact("job:1", "started"), fact("job:2", "started")])
    await check(driver, slack, 1, 2)
    await check(driver, slack, 2, 2)
    told = await clicked(
        driver,
        slack,
        "alice",
        message_about(slack, ALICE_DM, 1, "job:1 started"),
        "Snooze 1 hour",
        "Snoozed",
    )
    assert "Snoozed `job:1` on alert #1 until <!date^" in told
    assert date_token_time(told) == (clock() + timedelta(hours=1)).replace(microsecond=0)
    marked = await marked_with(driver, slack, ALICE_DM, 1, "job:1 started", "Snoozed by <@U0ALICE>")
    assert "Snoozed by <@U0ALICE> until <!date^" in texts(marked.blocks)
    assert "job:1 started" in texts(marked.blocks)  # the rest is kept
    assert any(block["type"] == "actions" for block in marked.blocks)

    NEWS.extend([fact("job:1", "failed"), fact("job:2", "failed")])
    await check(driver, slack, 1, 1)  # job:2's news only
    await check(driver, slack, 2, 2)  # the #ops alert was not snoozed
    assert posted_texts(slack, ALICE_DM, 1)[-1] == "job:2 failed"
    assert "job:1 failed" not in posted_texts(slack, ALICE_DM, 1)
    assert {"job:1 failed", "job:2 failed"} <= set(posted_texts(slack, "C0OPS", 2))
    listed = await reply_to(driver, slack, "alice", "/ops", "alert list", expect="#1")
    assert ":zzz: `job:1` snoozed until <!date^" in texts(listed.blocks)
    assert "by <@U0ALICE>" in texts(listed.blocks)

    clock.advance(hours=1, minutes=1)  # the snooze has ended
    listed = await reply_to(driver, slack, "alice", "/ops", "alert list", expect="#1")
    assert "snoozed" not in texts(listed.blocks)
    NEWS.append(fact("job:1", "done"))
    await check(driver, slack, 1, 1)
    # What happened during the snooze stays unposted; what came after is posted, in the
    # item's thread.
    assert posted_texts(slack, ALICE_DM, 1)[-1] == "job:1 done"
    assert "job:1 failed" not in posted_texts(slack, ALICE_DM, 1)
    done = message_about(slack, ALICE_DM, 1, "job:1 done")
    assert done.thread_ts == message_about(slack, ALICE_DM, 1, "job:1 started").ts


async def test_snooze_until_a_picked_day_starts_that_day_in_the_clickers_zone(
    driver, slack, bot, clock
):
    await add_jobs_alerts(driver, slack)
    NEWS.append(fact("job:1", "started"))
    await check(driver, slack, 1, 1)
    message = message_about(slack, ALICE_DM, 1, "job:1 started")
    paris = ZoneInfo("Europe/Paris")  # alice's Slack profile zone
    day = clock().astimezone(paris).date() + timedelta(days=3)
    since = slack.last_seq
    await driver.pick_date("alice", message, day.isoformat())
    told = await _told(driver, slack, "alice", since, "Snoozed")
    assert date_token_time(told) == datetime.combine(day, datetime.min.time(), paris)
    # A day already begun is refused with how to do it right; nothing changes.
    since = slack.last_seq
    await driver.pick_date("alice", message, clock().astimezone(paris).date().isoformat())
    refused = await _told(driver, slack, "alice", since, "Pick a day after today")
    assert "Snooze 1 hour" in refused
    [(until,)] = rows(bot.settings, "select until from alert_mutes")
    assert datetime.fromisoformat(until) == datetime.combine(day, datetime.min.time(), paris)
    clock.advance(days=2)
    NEWS.append(fact("job:1", "failed"))
    await check(driver, slack, 1, 0)
    clock.advance(days=1, hours=1)
    NEWS.append(fact("job:1", "done"))
    await check(driver, slack, 1, 1)
    assert posted_texts(slack, ALICE_DM, 1) == ["job:1 started", "job:1 done"]


async def test_mutes_in_a_channel_and_who_may_set_them(driver, slack, bot):
    await add_jobs_alerts(driver, slack)
    NEWS.extend(
        [fact("job:1", "started"), fact("job:2", "started"), fact("disk:1", "full", "disk")]
    )
    await check(driver, slack, 2, 3)
    await check(driver, slack, 1, 3)
    # Carol is not in #ops: her click is refused and nothing is silenced.
    refused = await clicked(
        driver,
        slack,
        "carol",
        message_about(slack, "C0OPS", 2, "job:2 started"),
        "Mute all jobs",
        "Only the owner",
    )
    assert "a member of the channel it posts to" in refused
    assert rows(bot.settings, "select count(*) from alert_mutes") == [(0,)]
    # Bob is: he mutes job:1 alone, then every job, on the #ops alert.
    told = await clicked(
        driver,
        slack,
        "bob",
        message_about(slack, "C0OPS", 2, "job:1 started"),
        "Mute this item",
        "Muted",
    )
    assert "Muted `job:1` on alert #2" in told and "/ops alert unmute 2" in told
    marked = await marked_with(driver, slack, "C0OPS", 2, "job:1 started", "Muted by <@U0BOB>")
    assert texts(marked.blocks).count("Muted by") == 1
    told = await clicked(
        driver,
        slack,
        "bob",
        message_about(slack, "C0OPS", 2, "job:2 started"),
        "Mute all jobs",
        "Muted",
    )
    assert "Muted all jobs from `limits.jobs` on alert #2" in told
    NEWS.extend([fact("job:1", "failed"), fact("job:3", "started"), fact("disk:1", "ok", "disk")])
    await check(driver, slack, 2, 1)  # only the disk: another kind keeps posting
    assert posted_texts(slack, "C0OPS", 2)[-1] == "disk:1 ok"
    await check(driver, slack, 1, 3)  # alice's DM alert is not muted
    listed = await reply_to(driver, slack, "alice", "/ops", "alert list", expect="#2")
    body = texts(listed.blocks)
    assert ":no_bell: `job:1` muted by <@U0BOB>" in body
    assert ":no_bell: all jobs from `limits.jobs` muted by <@U0BOB>" in body

    # Unmute: a name that matches nothing is explained with the close ones.
    bad = await reply_to(
        driver, slack, "alice", "/ops", "alert unmute 2 jbo", expect="no mute or snooze"
    )
    assert "Did you mean `job`" in bad.text
    assert "`/ops alert unmute &lt;id&gt; [all|&lt;item or kind&gt;]`" in bad.text  # escaped
    carol = await reply_to(
        driver, slack, "carol", "/ops", "alert unmute 2", expect="Only the owner"
    )
    assert "can snooze, mute or unmute it" in carol.text
    assert rows(bot.settings, "select count(*) from alert_mutes") == [(2,)]
    lifted = await reply_to(
        driver, slack, "bob", "/ops", "alert unmute 2 jobs", expect="Unmuted on alert #2"
    )
    assert "all jobs" in lifted.text and "`job:1`" not in lifted.text
    NEWS.append(fact("job:3", "done"))
    await check(driver, slack, 2, 1)  # job:3 is news again; job:3 started (muted) is not
    assert posted_texts(slack, "C0OPS", 2)[-1] == "job:3 done"
    assert "job:3 started" not in posted_texts(slack, "C0OPS", 2)
    NEWS.append(fact("job:1", "done"))
    await check(driver, slack, 2, 0)  # job:1 itself is still muted
    await reply_to(driver, slack, "alice", "/ops", "alert unmute 2", expect="Unmuted")
    await reply_to(
        driver, slack, "alice", "/ops", "alert unmute 2", expect="Nothing is muted or snoozed"
    )
    NEWS.append(fact("job:1", "archived"))
    await check(driver, slack, 2, 1)


async def test_home_shows_the_silences_with_an_unmute_button(driver, slack, bot):
    await add_jobs_alerts(driver, slack)
    NEWS.extend([fact("job:1", "started")])
    await check(driver, slack, 1, 1)
    await clicked(
        driver,
        slack,
        "alice",
        message_about(slack, ALICE_DM, 1, "job:1 started"),
        "Mute all jobs",
        "Muted",
    )
    await clicked(
        driver,
        slack,
        "alice",
        message_about(slack, ALICE_DM, 1, "job:1 started"),
        "Snooze 1 day",
        "Snoozed",
    )
    await driver.home_opened("alice")
    home = await driver.wait_for(
        lambda: (h := slack.home("alice")) and "all jobs" in texts(h.blocks) and h
    )
    body = texts(home.blocks)
    assert ":no_bell: all jobs from `limits.jobs` muted by <@U0ALICE>" in body
    assert ":zzz: `job:1` snoozed until <!date^" in body
    await driver.click("alice", home, text="Unmute all")
    await driver.wait_for(
        lambda: (
            "all jobs" not in texts(slack.home("alice").blocks)
            and "Your digests and alerts" in texts(slack.home("alice").blocks)
        )
    )
    assert rows(bot.settings, "select count(*) from alert_mutes") == [(0,)]
    NEWS.append(fact("job:1", "done"))
    await check(driver, slack, 1, 1)


async def test_a_muted_items_end_is_not_told_either(driver, slack, bot):
    """A subject the source stops returning is told as gone ("cleared") in its thread, unless
    it is muted (by item or by kind) when that happens; then never."""
    await add_jobs_alerts(driver, slack)
    NEWS.extend(
        [
            fact("job:1", "open", gone="cleared"),
            fact("job:2", "open", gone="cleared"),
            fact("disk:1", "open", "disk", gone="cleared"),
        ]
    )
    await check(driver, slack, 1, 3)
    await clicked(
        driver,
        slack,
        "alice",
        message_about(slack, ALICE_DM, 1, "job:1 open"),
        "Mute all jobs",
        "Muted",
    )
    NEWS.clear()  # the source returns none of them any more
    await check(driver, slack, 1, 1)  # only the disk is told as cleared
    cleared = [m for m in posted(slack, ALICE_DM, 1) if m.thread_ts and "Cleared" in m.text]
    assert [m.thread_ts for m in cleared] == [message_about(slack, ALICE_DM, 1, "disk:1 open").ts]
    await reply_to(driver, slack, "alice", "/ops", "alert unmute 1", expect="Unmuted")
    await check(driver, slack, 1, 0)  # what ended during the mute is not told late
