"""The schema, as a sqlite-utils migration set applied at every start-up."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("switchboard")


@migrations()
def m001_core(db: Database) -> None:
    # One credential per (Slack user, platform, instance). `secret` is Fernet ciphertext.
    db["links"].create(
        {"user_id": str, "platform": str, "instance": str, "account": str, "kind": str,
         "secret": str, "details": str, "linked_at": str, "verified_at": str},
        pk=("user_id", "platform", "instance"),
    )
    db["audit"].create(
        {"id": int, "at": str, "user_id": str, "action": str, "platform": str,
         "instance": str, "target": str, "result": str, "detail": str},
        pk="id",
    )
    db["audit"].create_index(["at"])
    # Approval cards: claimed atomically (pending -> acting -> done | failed).
    db["approvals"].create(
        {"id": str, "platform": str, "instance": str, "kind": str, "target": str,
         "state": str, "summary": str, "payload": str, "actor": str, "action": str,
         "acted_at": str, "result": str, "created_at": str},
        pk="id",
    )
    # Every copy of an approval card, so all can be updated in place.
    db["approval_messages"].create(
        {"approval_id": str, "channel": str, "ts": str},
        pk=("approval_id", "channel", "ts"),
    )
    db["subscriptions"].create(
        {"id": int, "owner": str, "kind": str, "platforms": str, "source": str,
         "trigger": str, "tz": str, "channel": str, "skip_empty": int, "paused": int,
         "created_at": str, "last_run_at": str},
        pk="id",
    )
    # The delivery ledger: one row per subscription run; `delivered_at` set once posted.
    db["deliveries"].create(
        {"subscription_id": int, "run_at": str, "state": str, "ts": str,
         "delivered_at": str},
        pk=("subscription_id", "run_at"),
    )
    # Slack event ids and alert items already handled (retries, "post only what is new").
    db["seen"].create({"key": str, "seen_at": str}, pk="key")


@migrations()
def m002_posted_messages(db: Database) -> None:
    # Channel messages the bot posted that carry approval cards, with their blocks, so every
    # copy can be re-rendered in place when one copy is clicked (Slack has no "get message").
    db["posted"].create({"channel": str, "ts": str, "blocks": str, "posted_at": str},
                        pk=("channel", "ts"))


@migrations()
def m003_scheduler(db: Database) -> None:
    # Subscriptions: where runs are counted from after a resume (missed runs while paused are
    # not "missed"), the instance an alert watches, and the last failure for `/ops digest list`.
    db["subscriptions"].add_column("resumed_at", str)
    db["subscriptions"].add_column("instance", str)
    db["subscriptions"].add_column("last_error", str)
    # The ledger: the channel id the run goes to (known before posting, so a restart can look
    # for it in the history), when posting began, how the run came about, and a note.
    db["deliveries"].add_column("channel", str)
    db["deliveries"].add_column("posting_at", str)
    db["deliveries"].add_column("reason", str)
    db["deliveries"].add_column("detail", str)
    db["deliveries"].create_index(["state"])
