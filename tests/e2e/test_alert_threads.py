"""Alerts that converse (issue #14), end to end through signed Slack requests: a Squonk2
instance's alert is one parent message in #ops; every later fact about it (started, failed,
deleted) is a reply in its thread, the failure broadcast to the channel, and the parent's state
line is updated in place. A restarted bot (a new process on the same database) still threads
under the stored parent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.server import BotServer
from emulators.base import FakeClock
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from emulators.slack_models import Message
from emulators.squonk import DEMO, REMOVAL_SECONDS, SquonkEmulator
from tests.e2e.helpers import dms, link, reply_to, texts
from tests.engines import on_both_engines, rows
from tests.support.bot import SIGNING_SECRET

ALICE = DEMO["alice"]
INSTANCE_ID = re.compile(r"instance-[0-9a-f-]{36}")
STATE_BLOCK = "alert_state"


@pytest.fixture
def platforms(dm: SquonkEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"squonk": [dm.instance_settings("main")]}


@pytest.fixture
def bot(settings: Any, module_clock: FakeClock) -> Iterator[BotServer]:
    # The bot's token cache runs on the same clock as Keycloak and the DM.
    with BotServer(settings, clock=module_clock) as server:
        yield server


async def link_alice(driver: SlackDriver, slack: SlackEmulator) -> None:
    outcome = await link(
        driver,
        slack,
        "alice",
        "squonk",
        {"username": ALICE["username"], "password": ALICE["password"]},
    )
    assert "Linked Squonk2 Data Manager (main)" in outcome


async def add_alert(driver: SlackDriver, slack: SlackEmulator) -> None:
    """`/ops alert add squonk.instances to #ops`, confirmed as the channel's poster."""
    prompt = await reply_to(
        driver,
        slack,
        "alice",
        "/ops",
        "alert add squonk.instances to #ops",
        expect="Everyone in",
    )
    await driver.click("alice", prompt, text="Confirm")
    await driver.wait_for(
        lambda: (
            "Added #1" in dms(slack, "alice")
            or any("Added #1" in (m.text or "") for m in slack.ephemerals("alice"))
        )
    )


async def launch_failing_job(driver: SlackDriver, slack: SlackEmulator) -> str:
    reply = await reply_to(
        driver, slack, "alice", "/squonk", "run im-test/fail@1.0.0 in demo", expect="Started"
    )
    found = INSTANCE_ID.search(reply.text or "")
    assert found, reply.text
    return found.group(0)


async def poll(driver: SlackDriver, slack: SlackEmulator) -> str:
    """`/ops alert now 1`: one poll of the alert, as its schedule would run it."""
    reply = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")
    return reply.text or ""


def parent_of(slack: SlackEmulator, instance_id: str) -> Message:
    """The alert's message about this instance in #ops (its run key names the subject)."""
    [parent] = [
        m
        for m in slack.messages("C0OPS")
        if m.thread_ts is None
        and (m.metadata or {}).get("event_payload", {}).get("run")
        == f"item:squonk:main:instance:{instance_id}"
    ]
    return parent


def replies(slack: SlackEmulator, parent: Message) -> list[Message]:
    return [m for m in slack.messages("C0OPS") if m.thread_ts == parent.ts and m.ts != parent.ts]


def about(slack: SlackEmulator, instance_id: str) -> list[Message]:
    """Every message in #ops that speaks of this instance."""
    return [m for m in slack.messages("C0OPS") if instance_id in f"{m.text}{texts(m.blocks)}"]


def state_line(message: Message) -> str:
    [line] = [b for b in message.blocks if b.get("block_id") == STATE_BLOCK]
    return texts([line])


async def test_an_instance_is_one_parent_with_three_replies_and_the_failure_broadcast(
    driver, slack, dm, module_clock, bot, settings
):
    await link_alice(driver, slack)
    await add_alert(driver, slack)
    instance_id = await launch_failing_job(driver, slack)

    await poll(driver, slack)
    parent = parent_of(slack, instance_id)
    assert "is *pending*" in parent.text
    assert "State: *pending*" in state_line(parent)
    assert replies(slack, parent) == []

    # Nothing new: nothing posted about it, in the channel or the thread.
    await poll(driver, slack)
    assert about(slack, instance_id) == [parent]

    # (Other instances of the seeded world move on too: each has its own thread.)
    module_clock.advance(6)  # past its 5 s pending
    await poll(driver, slack)
    module_clock.advance(11)  # its 10 s run ends: FAILED, exit code 1
    await poll(driver, slack)
    # Someone deletes it on Squonk2: once removed, it is no longer listed.
    with dm._lock:
        dm.instances[instance_id].deleted_at = module_clock()
    module_clock.advance(REMOVAL_SECONDS + 1)
    await poll(driver, slack)

    # One parent; three replies in its thread, in order; only the failure broadcast.
    thread = replies(slack, parent_of(slack, instance_id))
    assert len(thread) == 3
    running, failed, deleted = thread
    assert "is *running*" in running.text
    assert "ended: *failed*" in failed.text and "Exited with status 1" in failed.text
    assert texts(deleted.blocks).startswith("*Deleted*")
    assert [m.reply_broadcast for m in thread] == [False, True, False]
    # Outside the thread, the channel shows the parent and the broadcast failure only.
    channel = [m for m in about(slack, instance_id) if m.thread_ts is None or m.reply_broadcast]
    assert channel == [parent_of(slack, instance_id), failed]

    # The parent was updated in place to the last state, its first words kept.
    parent = parent_of(slack, instance_id)
    assert parent.edited
    assert "State: *deleted*" in state_line(parent)
    assert "<!date^" in state_line(parent)
    assert "is *pending*" in parent.text

    # Told once: a further poll posts nothing about it, and its thread is closed.
    told = about(slack, instance_id)
    await poll(driver, slack)
    assert about(slack, instance_id) == told
    stored = rows(
        settings,
        "select state, shown, facts, open from alert_threads where subject = ?",
        [f"squonk:main:instance:{instance_id}"],
    )
    assert stored == [("deleted", "deleted", 3, 0)]


@on_both_engines
async def test_a_restart_between_facts_still_replies_under_the_stored_parent(
    settings, slack, dm, module_clock
):
    with BotServer(settings, clock=module_clock) as first:
        async with SlackDriver(slack, first.events_url, SIGNING_SECRET) as driver:
            await link_alice(driver, slack)
            await add_alert(driver, slack)
            instance_id = await launch_failing_job(driver, slack)
            await poll(driver, slack)
    parent = parent_of(slack, instance_id)
    assert "State: *pending*" in state_line(parent)

    module_clock.advance(6)  # it starts while the bot is down
    with BotServer(settings, clock=module_clock) as second:
        async with SlackDriver(slack, second.events_url, SIGNING_SECRET) as driver:
            await poll(driver, slack)
    # The new process found the parent in the database: the news is a reply under it.
    assert parent_of(slack, instance_id).ts == parent.ts
    [running] = replies(slack, parent)
    assert "is *running*" in running.text
    assert "State: *running*" in state_line(parent_of(slack, instance_id))
    assert [m for m in about(slack, instance_id) if m.thread_ts is None] == [
        parent_of(slack, instance_id)
    ]
