"""Operating the bot: /healthz (liveness) and /readyz (readiness) on the bot's own port, and
SIGTERM letting the work in flight finish before the process exits."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
from cryptography.fernet import Fernet

from bot.accounts import Accounts
from bot.platforms.base import VerifiedAccount
from bot.store import Store
from bot.store import subscriptions as subs
from bot.vault import Vault
from emulators.dss import DEMO
from emulators.slack_driver import SlackDriver
from tests.e2e.helpers import texts
from tests.e2e.process import BotProcess, wait_until
from tests.engines import on_both_engines
from tests.support.bot import SIGNING_SECRET


async def test_healthz_is_liveness_and_reveals_nothing(bot):
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{bot.url}/healthz")
    assert health.status_code == 200
    assert health.json() == {"ok": True}


@on_both_engines
async def test_readyz_says_what_is_ready_and_503_while_slack_refuses(bot, slack):
    async with httpx.AsyncClient() as http:
        # Slack does not accept the token (yet): not ready, and it says why.
        slack.faults.set(status=500, path_prefix="/api/auth.test")
        refused = await http.get(f"{bot.url}/readyz")
        assert refused.status_code == 503
        body = refused.json()
        assert body["ready"] is False and body["slack"] is False
        assert body["database"] is True and body["migrations"] is True
        slack.faults.clear()

        answer = None
        for _ in range(300):  # a failure is remembered for a few seconds only
            answer = await http.get(f"{bot.url}/readyz")
            if answer.status_code == 200 and answer.json()["leader"]:  # PostgreSQL: the lock
                break
            await asyncio.sleep(0.1)
    assert answer is not None
    assert answer.json() == {
        "ready": True,
        "database": True,
        "migrations": True,
        "slack": True,
        "leader": True,
        "draining": False,
    }


async def test_sigterm_lets_a_command_and_a_digest_in_flight_finish(tmp_path, slack, dss):
    key = Fernet.generate_key().decode()
    data = tmp_path / "data"
    store = Store(data / "switchboard.db")
    accounts = Accounts(store=store, vault=Vault([key.encode()]), now=lambda: datetime.now(UTC))
    await accounts.link(
        "U0ALICE",
        "dss",
        "prod",
        VerifiedAccount(account="alice", secret=DEMO["alice"]["api_key"], kind="API key"),
    )
    # A digest due 5 s ago, while the bot was down: caught up as soon as it starts.
    created = (datetime.now(UTC) - timedelta(minutes=5, seconds=5)).isoformat()
    await store.run(
        subs.add,
        {
            "owner": "U0ALICE",
            "kind": "digest",
            "platforms": "dss",
            "trigger": "every 5m",
            "tz": "UTC",
            "channel": "",
            "skip_empty": 0,
            "created_at": created,
        },
    )
    store.close()
    config = tmp_path / "switchboard.toml"
    config.write_text(f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n', encoding="utf-8")
    # DSS answers slowly: the command's reply and the digest are both still being composed
    # when SIGTERM arrives.
    dss.faults.set(latency=3.0)
    bot = BotProcess(
        data,
        slack_url=slack.url,
        config=config,
        key=key,
        log=tmp_path / "bot.log",
        drain_timeout=30,
    )
    try:
        bot.start()
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            acked = await driver.command("alice", "/dss", "futures")
            assert acked.status == 200
        wait_until(lambda: _states(data) == ["composing"], 30, "the digest composing")
        assert bot.terminate(timeout=60) == 0
    finally:
        dss.faults.clear()
        bot.__exit__()
    log = (tmp_path / "bot.log").read_text()
    assert "drained" in log, log
    replies = [m for m in slack.ephemerals("alice") if "running task" in m.text]
    assert len(replies) == 1, log
    assert _states(data) == ["delivered"]
    digests = [
        m
        for m in slack.messages("D0ALICE")
        if m.metadata and m.metadata.get("event_type") == "switchboard_digest"
    ]
    assert len(digests) == 1 and "Dataiku DSS" in texts(digests[0].blocks)


def _states(data) -> list[str]:
    db = sqlite3.connect(data / "switchboard.db")
    try:
        return [r[0] for r in db.execute("select state from deliveries")]
    finally:
        db.close()
