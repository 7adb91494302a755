"""Alert threads: the parent message of each subject an alert told, and the last fact told
about it (bot/alert_threads.py). A row is written in the same store call that marks the
parent's or the reply's ledger row delivered, so a crash never leaves one without the other."""

from __future__ import annotations

import json
from typing import Any

from bot.store.engine import Db


def get(db: Db, sub_id: int, subject: str) -> dict[str, Any] | None:
    rows = list(
        db.query(
            "select * from alert_threads where subscription_id = ? and subject = ?",
            [sub_id, subject],
        )
    )
    return _decoded(rows[0]) if rows else None


def following(db: Db, sub_id: int) -> list[dict[str, Any]]:
    """The open threads whose subject's absence means something (`gone` words)."""
    return [
        _decoded(r)
        for r in db.query(
            "select * from alert_threads where subscription_id = ? and open = 1"
            " and gone is not null order by posted_at, subject",
            [sub_id],
        )
    ]


def unshown(db: Db, sub_id: int) -> list[dict[str, Any]]:
    """Threads whose parent does not show their last state yet (an update that failed)."""
    return [
        _decoded(r)
        for r in db.query(
            "select * from alert_threads where subscription_id = ? and shown <> state",
            [sub_id],
        )
    ]


def started(db: Db, row: dict[str, Any]) -> None:
    """A parent was posted: its thread begins (a second recording of it changes nothing)."""
    with db.conn:
        db.execute(
            "insert into alert_threads (subscription_id, subject, channel, ts, text, blocks,"
            " approvals, state, shown, gone, kind, facts, open, posted_at, updated_at) values"
            " (:subscription_id, :subject, :channel, :ts, :text, :blocks, :approvals, :state,"
            " :state, :gone, :kind, 0, 1, :at, :at) on conflict do nothing",
            {
                **row,
                "blocks": json.dumps(row["blocks"]),
                "approvals": json.dumps(row.get("approvals") or []),
            },
        )


def advanced(
    db: Db,
    sub_id: int,
    subject: str,
    *,
    fact: int,
    state: str,
    gone: str | None,
    open_: bool,
    at: str,
) -> None:
    """Reply number `fact` was posted: the thread's last fact is `state`. Recording the same
    reply twice (the ledger says delivered, the thread had not heard) changes nothing."""
    with db.conn:
        db.execute(
            "update alert_threads set state = ?, gone = ?, open = ?, facts = ?, updated_at = ?"
            " where subscription_id = ? and subject = ? and facts < ?",
            [state, gone, 1 if open_ else 0, fact, at, sub_id, subject, fact],
        )


def closed(db: Db, sub_id: int, subject: str, state: str, at: str) -> None:
    """Gone without a reply (its approval was settled here): the parent is left to show it."""
    with db.conn:
        db.execute(
            "update alert_threads set state = ?, gone = null, open = 0, updated_at = ? where"
            " subscription_id = ? and subject = ?",
            [state, at, sub_id, subject],
        )


def still(db: Db, sub_id: int, subject: str, gone: str | None) -> None:
    """No new fact: what the subject's absence would mean now (its source may change it)."""
    with db.conn:
        db.execute(
            "update alert_threads set gone = ?, open = 1 where subscription_id = ? and subject = ?",
            [gone, sub_id, subject],
        )


def shown(db: Db, sub_id: int, subject: str, state: str, blocks: list[dict[str, Any]]) -> None:
    """The parent was updated to show `state` with these blocks."""
    with db.conn:
        db.execute(
            "update alert_threads set shown = ?, blocks = ? where subscription_id = ? and"
            " subject = ?",
            [state, json.dumps(blocks), sub_id, subject],
        )


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "blocks": json.loads(row["blocks"] or "[]"),
        "approvals": json.loads(row["approvals"] or "[]"),
    }


def posted_blocks(db: Db, channel: str, ts: str) -> list[dict[str, Any]] | None:
    """A message's blocks as an approval click last drew them (the `posted` table)."""
    rows = list(db.query("select blocks from posted where channel = ? and ts = ?", [channel, ts]))
    return json.loads(rows[0]["blocks"]) if rows else None


def open_subjects(db: Db, sub_id: int) -> set[str]:
    """The subjects this subscription still follows (a source keeps listing them)."""
    return set(open_states(db, sub_id))


def open_states(db: Db, sub_id: int) -> dict[str, str]:
    """The subjects this subscription still follows, each with the last state told."""
    return {
        r["subject"]: r["state"] or ""
        for r in db.query(
            "select subject, state from alert_threads where subscription_id = ? and open = 1",
            [sub_id],
        )
    }
