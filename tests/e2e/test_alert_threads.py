"""Alerts that converse (issue #14), end to end through signed Slack requests: a Squonk2
instance's alert is one parent message in #ops; every later fact about it (started, failed,
deleted) is a reply in its thread, the failure broadcast to the channel, and the parent's state
line is updated in place. A restarted bot (a new process on the same database) still threads
under the stored parent, and a reply being posted when the process is killed lands once, in
its thread."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.server import BotServer
from emulators.base import FakeClock
from emulators.dss import DEMO as DSS_DEMO
from emulators.dss import DSSEmulator
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from emulators.slack_models import Message
from emulators.squonk import DEMO, REMOVAL_SECONDS, SquonkEmulator
from tests.e2e.helpers import dms, link, reply_to, texts
from tests.e2e.process import BotProcess, wait_until
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


# -- exactly once across a kill -9 ---------------------------------------------------------------

FUTURE = "Fm7pQ2rL"  # alice's "Compute metrics on SALES.orders", runs 15 minutes
FUTURE_RUN = f"item:dss:prod:future:{FUTURE}"


@pytest.fixture
def dss(clock_from_now: FakeClock) -> Iterator[DSSEmulator]:
    with DSSEmulator(clock=clock_from_now) as emulator:
        yield emulator


def future_parent(slack: SlackEmulator) -> Message | None:
    found = [
        m
        for m in slack.messages("D0ALICE")
        if m.thread_ts is None
        and (m.metadata or {}).get("event_payload", {}).get("run") == FUTURE_RUN
    ]
    return found[0] if found else None


def future_replies(slack: SlackEmulator) -> list[Message]:
    parent = future_parent(slack)
    assert parent is not None
    return [m for m in slack.messages("D0ALICE") if m.thread_ts == parent.ts and m.ts != parent.ts]


def reply_posts(slack: SlackEmulator) -> list[Any]:
    """chat.postMessage requests that are replies in a thread."""
    return [r for r in slack.requests_to("POST", "chat.postMessage") if b"thread_ts" in r.body]


@pytest.mark.parametrize("post", ["lands after the kill", "never lands"])
@on_both_engines
async def test_killed_while_posting_a_reply_it_lands_once_in_its_thread(
    tmp_path, slack, dss, clock_from_now, post, engine, request
):
    config = tmp_path / "switchboard.toml"
    config.write_text(f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n', encoding="utf-8")
    world: dict[str, Any] = {
        "data": tmp_path / "data",
        "slack_url": slack.url,
        "config": config,
        "key": Fernet.generate_key().decode(),
        "log": tmp_path / "bot.log",
        "digest_recovery_settle": 2.0,
        "sync_interval": 0.5,
        "alert_interval": 3600,  # polls only when asked (and at start-up's recovery)
    }
    db: Path | str = world["data"] / "switchboard.db"
    if engine == "postgresql":
        db = world["database_url"] = request.getfixturevalue("postgres_url")
    reply_ledger = "select state from deliveries where run_at like ?"
    with BotProcess(**world) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await link(driver, slack, "alice", "dss", {"api_key": DSS_DEMO["alice"]["api_key"]})
            await reply_to(
                driver, slack, "alice", "/ops", "alert add dss.futures", expect="Alert added"
            )
            await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")
            parent = future_parent(slack)
            assert parent is not None and "is running" in parent.text
            # The task ends; the reply telling it is slow to post (or never answered), and
            # the process dies meanwhile.
            clock_from_now.advance(20 * 60)
            if post == "never lands":
                slack.faults.set(hang=True, path_prefix="/api/chat.postMessage")
            else:
                slack.faults.set(latency=1.5, path_prefix="/api/chat.postMessage")
            await driver.command("alice", "/ops", "alert now 1")
            wait_until(lambda: reply_posts(slack), 60, "the reply being posted")
            assert rows(db, reply_ledger, [f"{FUTURE_RUN}#%"]) == [("posting",)]
            bot.kill()
    if post == "never lands":
        slack.faults.clear()
        assert future_replies(slack) == []
    else:
        wait_until(lambda: future_replies(slack), 10, "the slow reply landing")
        slack.faults.clear()

    # The restarted process finishes the reply from the ledger: found in the thread, or posted.
    with BotProcess(**world):
        wait_until(
            lambda: (
                rows(db, "select shown from alert_threads where subject = ?", [FUTURE_RUN[5:]])
                == [("finished",)]
            ),
            60,
            "the thread advanced and its parent updated",
        )
    assert rows(db, reply_ledger, [f"{FUTURE_RUN}#%"]) == [("delivered",)]
    [reply] = future_replies(slack)
    assert "ended: *done*" in reply.text and not reply.reply_broadcast
    parent = future_parent(slack)
    assert parent is not None and parent.edited
    assert "State: *finished*" in state_line(parent)
    assert len([m for m in slack.messages("D0ALICE") if FUTURE in (m.text or "")]) == 2
