"""The schema as the release before the versioned history made it (sqlite-utils'
Migrations, verbatim), plus the two tables that release created on first use, with a row in
each table: what an existing installation's file looks like."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("switchboard")


@migrations()
def m001_core(db: Database) -> None:
    db["links"].create(
        {
            "user_id": str,
            "platform": str,
            "instance": str,
            "account": str,
            "kind": str,
            "secret": str,
            "details": str,
            "linked_at": str,
            "verified_at": str,
        },
        pk=("user_id", "platform", "instance"),
    )
    db["audit"].create(
        {
            "id": int,
            "at": str,
            "user_id": str,
            "action": str,
            "platform": str,
            "instance": str,
            "target": str,
            "result": str,
            "detail": str,
        },
        pk="id",
    )
    db["audit"].create_index(["at"])
    db["approvals"].create(
        {
            "id": str,
            "platform": str,
            "instance": str,
            "kind": str,
            "target": str,
            "state": str,
            "summary": str,
            "payload": str,
            "actor": str,
            "action": str,
            "acted_at": str,
            "result": str,
            "created_at": str,
        },
        pk="id",
    )
    db["approval_messages"].create(
        {"approval_id": str, "channel": str, "ts": str},
        pk=("approval_id", "channel", "ts"),
    )
    db["subscriptions"].create(
        {
            "id": int,
            "owner": str,
            "kind": str,
            "platforms": str,
            "source": str,
            "trigger": str,
            "tz": str,
            "channel": str,
            "skip_empty": int,
            "paused": int,
            "created_at": str,
            "last_run_at": str,
        },
        pk="id",
    )
    db["deliveries"].create(
        {"subscription_id": int, "run_at": str, "state": str, "ts": str, "delivered_at": str},
        pk=("subscription_id", "run_at"),
    )
    db["seen"].create({"key": str, "seen_at": str}, pk="key")


@migrations()
def m002_posted_messages(db: Database) -> None:
    db["posted"].create(
        {"channel": str, "ts": str, "blocks": str, "posted_at": str}, pk=("channel", "ts")
    )


@migrations()
def m003_scheduler(db: Database) -> None:
    db["subscriptions"].add_column("resumed_at", str)
    db["subscriptions"].add_column("instance", str)
    db["subscriptions"].add_column("last_error", str)
    db["deliveries"].add_column("channel", str)
    db["deliveries"].add_column("posting_at", str)
    db["deliveries"].add_column("reason", str)
    db["deliveries"].add_column("detail", str)
    db["deliveries"].create_index(["state"])


def build_legacy_database(path: Path) -> None:
    db = Database(path)
    db.execute("PRAGMA journal_mode=WAL")
    migrations.apply(db)
    db["links"].insert(
        {
            "user_id": "U0ALICE",
            "platform": "dss",
            "instance": "prod",
            "account": "alice",
            "kind": "API key",
            "secret": "ct-alice",
            "details": "{}",
            "linked_at": "t",
            "verified_at": "t",
        }
    )
    db["audit"].insert(
        {
            "at": "t",
            "user_id": "U0ALICE",
            "action": "link",
            "platform": "dss",
            "instance": "prod",
            "target": "alice",
            "result": "ok",
            "detail": "",
        }
    )
    db["subscriptions"].insert(
        {
            "owner": "U0ALICE",
            "kind": "digest",
            "platforms": "dss",
            "source": "",
            "trigger": "daily 09:00",
            "tz": "UTC",
            "channel": "C1",
            "skip_empty": 0,
            "paused": 0,
            "created_at": "t",
            "last_run_at": "",
            "resumed_at": "",
            "instance": "prod",
            "last_error": "",
        }
    )
    db["seen"].insert({"key": "event:old", "seen_at": "t"})
    # Created on first use by handlers/mstr.py and bot/weblink.py, as they did it.
    db["mstr_defaults"].upsert(
        {
            "user_id": "U0ALICE",
            "instance": "lib",
            "project_id": "P1",
            "project_name": "Tutorial",
            "set_at": "t",
        },
        pk=("user_id", "instance"),
    )
    db["weblink_tokens"].insert(
        {
            "token_hash": "hash-1",
            "user_id": "U0ALICE",
            "platform": "dss",
            "instance": "",
            "response_url": "",
            "created_at": "t",
            "expires_at": 1.5e9,
            "used_at": None,
            "outcome": "",
            "failures": 1,
        },
        pk="token_hash",
    )
    db.close()
