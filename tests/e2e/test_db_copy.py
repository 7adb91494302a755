"""`switchboard db copy` from a SQLite installation the bot populated to PostgreSQL, then the
bot on PostgreSQL (as every replica would run it) serves every linked user with the
credentials it copied: nothing re-linked, nothing lost."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bot.server import BotServer
from bot.store import copy as db_copy
from bot.store.db import connect
from bot.vault import KEY_FILE_NAME
from emulators.dss import DEMO
from emulators.slack_driver import SlackDriver
from tests.e2e.helpers import link, reply_to, texts
from tests.engines import rows
from tests.support.bot import SIGNING_SECRET, make_settings

ROOT = Path(__file__).resolve().parents[2]
USERS = {"alice": "U0ALICE", "bob": "U0BOB"}


def counts(target) -> dict[str, int]:
    db = connect(target, upgrade=False)
    try:
        return {t: db_copy.count(db, t) for t in db_copy.data_tables(db)}
    finally:
        db.close()


async def test_db_copy_to_postgresql_then_the_bot_serves_every_linked_user(
    slack, dss, platforms, settings, postgres_url, tmp_path
):
    with BotServer(settings) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            for name in USERS:
                outcome = await link(driver, slack, name, "dss", {"api_key": DEMO[name]["api_key"]})
                assert f"as *{name}*" in outcome
            await reply_to(
                driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Digest added"
            )
    before = counts(settings.db_path)
    assert before["links"] == 2 and before["audit"] >= 2 and before["subscriptions"] == 1

    # The operator's command, as typed: the key is read from the file beside the database.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "SLACK_"))}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "db", "copy", f"sqlite:{settings.db_path}", postgres_url],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "counts match, and all 2 credential(s) decrypt" in done.stdout
    assert "  links: 2 row(s)" in done.stdout.splitlines()
    assert counts(postgres_url) == before
    secrets = "select user_id, secret from links order by user_id"
    assert rows(postgres_url, secrets) == rows(settings.db_path, secrets)  # still ciphertext

    key = (settings.db_path.parent / KEY_FILE_NAME).read_text().strip()
    replica = make_settings(
        tmp_path / "replica", slack, platforms=platforms, database_url=postgres_url, secret_key=key
    )
    with BotServer(replica) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            for name in USERS:
                reply = await reply_to(driver, slack, name, "/dss", "whoami", expect="Login")
                assert name in texts(reply.blocks) + reply.text
                links = await reply_to(
                    driver, slack, name, "/ops", "links", expect="linked accounts"
                )
                assert f"as *{name}*" in texts(links.blocks)
            listed = await reply_to(driver, slack, "alice", "/ops", "digest list", expect="daily")
            assert "#1" in texts(listed.blocks) + listed.text
    # The bot kept writing where it was copied to (its audit rows carry on the numbering).
    assert max(r[0] for r in rows(postgres_url, "select id from audit")) >= before["audit"]
