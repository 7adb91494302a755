"""kill -9 in the middle of a fan-out, then a restart: every due digest is delivered exactly
once. The bot runs as a real `python -m bot run` subprocess against emulators started here;
Slack answers chat.postMessage slowly, so the kill lands with a post in flight. On SQLite and
on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet

from bot.store import Store
from tests.engines import on_both_engines, rows
from tests.support.seed import link_dss, overdue_digests

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTIONS = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_bot(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def posted(slack) -> dict[int, int]:
    counts: dict[int, int] = {}
    for m in slack.messages("C0OPS"):
        if m.metadata and m.metadata.get("event_type") == "switchboard_digest":
            sub = m.metadata["event_payload"]["subscription"]
            counts[sub] = counts.get(sub, 0) + 1
    return counts


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


@on_both_engines
async def test_kill_9_mid_fan_out_then_restart_delivers_every_digest_exactly_once(
    tmp_path, slack, dss, engine, request
):
    with slack.workspace.lock:  # the owner must be in the channel (bot.membership)
        slack.channel("C0OPS").members.add("U0CAROL")
    key = Fernet.generate_key().decode()
    data = tmp_path / "data"
    database = (
        request.getfixturevalue("postgres_url")
        if engine == "postgresql"
        else data / "switchboard.db"
    )
    store = Store(database)
    await link_dss(store, key, "U0CAROL")
    # Six digests every 5 minutes whose last run fell due 20 s ago, while the bot was down:
    # all are caught up at start-up, at the same moment, into the same channel.
    await overdue_digests(store, "U0CAROL", SUBSCRIPTIONS)
    store.close()
    config = tmp_path / "switchboard.toml"
    config.write_text(f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n', encoding="utf-8")
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-crash-test",
        "SLACK_SIGNING_SECRET": "s3cr3t",
        "SLACK_API_URL": f"{slack.url}/api/",
        "SWITCHBOARD_DATA_DIR": str(data),
        "SWITCHBOARD_CONFIG": str(config),
        "SWITCHBOARD_PORT": str(free_port()),
        "SWITCHBOARD_SECRET_KEY": key,
        "SWITCHBOARD_SLACK_CHANNEL_INTERVAL": "1.0",
        "SWITCHBOARD_DIGEST_RECOVERY_SETTLE": "2.0",
        "PYTHONUNBUFFERED": "1",
        "SWITCHBOARD_DATABASE_URL": str(database) if engine == "postgresql" else "",
    }
    log = tmp_path / "bot.log"
    slack.faults.set(latency=0.6, path_prefix="/api/chat.postMessage")

    bot = start_bot(env, log)
    try:
        wait_until(lambda: len(posted(slack)) >= 2, timeout=120)  # includes start-up
        os.kill(bot.pid, signal.SIGKILL)
        bot.wait(5)
    finally:
        if bot.poll() is None:
            os.kill(bot.pid, signal.SIGKILL)
    before = posted(slack)
    assert 2 <= len(before) < SUBSCRIPTIONS, log.read_text()

    bot = start_bot(env | {"SWITCHBOARD_PORT": str(free_port())}, log)
    try:
        wait_until(lambda: len(posted(slack)) == SUBSCRIPTIONS, timeout=120)
        await asyncio.sleep(1.5)  # room for a duplicate to show up, were there one
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(10)
        except subprocess.TimeoutExpired:
            bot.kill()
    assert posted(slack) == dict.fromkeys(range(1, SUBSCRIPTIONS + 1), 1), log.read_text()
    assert rows(database, "select state from deliveries") == [("delivered",)] * SUBSCRIPTIONS
