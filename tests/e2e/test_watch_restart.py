"""Watches live in the database: a restart resumes them, and the person gets exactly one
"ended" message, even when the process dies while that message is being posted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.server import BotServer
from emulators.base import FakeClock
from emulators.dss import DEMO, DSSEmulator
from emulators.slack_driver import SlackDriver
from tests.e2e.helpers import link, reply_to, texts
from tests.e2e.process import BotProcess, wait_until
from tests.engines import on_both_engines, rows
from tests.support.bot import SIGNING_SECRET

ALICE_KEY = DEMO["alice"]["api_key"]
FUTURE = "Fm7pQ2rL"  # "Compute metrics on SALES.orders", runs 15 minutes
WATCH = f"U0ALICE:dss:prod:{FUTURE}"


@pytest.fixture
def dss(clock_from_now: FakeClock) -> Iterator[DSSEmulator]:
    with DSSEmulator(clock=clock_from_now) as emulator:
        yield emulator


def ended_dms(slack) -> list[str]:
    dm = "D" + slack.user("alice").id[1:]
    return [m.text for m in slack.messages(dm) if "ended: done" in f"{m.text}{texts(m.blocks)}"]


def watch_state(database: Path | str) -> str | None:
    found = rows(database, "select state from watches where id = ?", [WATCH])
    return found[0][0] if found else None


async def start_watch(driver: SlackDriver, slack) -> None:
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(
        driver, slack, "alice", "/dss", f"future {FUTURE} watch", expect="Compute metrics"
    )
    assert "I'll send you a message when it ends." in texts(reply.blocks)


@on_both_engines
async def test_a_watch_survives_a_restart_and_its_message_arrives_once(
    settings, slack, dss, clock_from_now
):
    with BotServer(settings) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await start_watch(driver, slack)
    assert watch_state(settings.database) == "watching"

    clock_from_now.advance(20 * 60)  # the task ends while the bot is down
    with BotServer(settings):
        wait_until(lambda: watch_state(settings.database) == "done", 30, "the watch done")
        assert len(ended_dms(slack)) == 1
        assert "Compute metrics on SALES.orders" in ended_dms(slack)[0]
    assert len(ended_dms(slack)) == 1


@pytest.mark.parametrize("post", ["lands after the kill", "never lands"])
@on_both_engines
async def test_killed_while_posting_the_ended_message_it_arrives_exactly_once(
    tmp_path, slack, dss, clock_from_now, post, engine, request
):
    config = tmp_path / "switchboard.toml"
    config.write_text(f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n', encoding="utf-8")
    world = {
        "data": tmp_path / "data",
        "slack_url": slack.url,
        "config": config,
        "key": Fernet.generate_key().decode(),
        "log": tmp_path / "bot.log",
        "watch_interval": 0.1,
        "digest_recovery_settle": 2.0,
        "sync_interval": 0.5,
    }
    db_path: Path | str = world["data"] / "switchboard.db"
    if engine == "postgresql":
        db_path = world["database_url"] = request.getfixturevalue("postgres_url")
    with BotProcess(**world) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await start_watch(driver, slack)
        # The "ended" DM is slow to post (or never answered): the process dies meanwhile.
        if post == "never lands":
            slack.faults.set(hang=True, path_prefix="/api/chat.postMessage")
        else:
            slack.faults.set(latency=1.5, path_prefix="/api/chat.postMessage")
        clock_from_now.advance(20 * 60)
        wait_until(lambda: slack.requests_to("POST", "chat.postMessage"), 30, "the DM sent")
        assert watch_state(db_path) == "posting"
        bot.kill()
    if post == "never lands":
        slack.faults.clear()
        assert ended_dms(slack) == []
    else:
        wait_until(lambda: ended_dms(slack), 10, "the slow DM landing")
        slack.faults.clear()

    with BotProcess(**world):
        wait_until(lambda: watch_state(db_path) == "done", 30, "the watch done")
        assert len(ended_dms(slack)) == 1
    assert len(ended_dms(slack)) == 1, (tmp_path / "bot.log").read_text()
