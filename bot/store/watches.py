"""Watch rows: watching -> ending (the "ended" message recorded) -> posting -> done.

A watch id is `<user>:<what>`: one person watches one thing once at a time. A watch that is
done may be started again (a new run of the same scenario, a second `watch`)."""

from __future__ import annotations

import json
from typing import Any

from bot.store.engine import Db

WATCHING, ENDING, POSTING, DONE = "watching", "ending", "posting", "done"
LIVE = (WATCHING, ENDING, POSTING)


def start(db: Db, row: dict[str, Any]) -> bool:
    """Insert the watch, or restart a finished one; False when it is already live."""
    with db.conn:
        cursor = db.execute(
            "INSERT INTO watches (id, user_id, kind, params, label, state, started_at, deadline,"
            " message, channel, posting_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '',"
            " '', '') ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,"
            " params = excluded.params, label = excluded.label, state = excluded.state,"
            " started_at = excluded.started_at, deadline = excluded.deadline, message = '',"
            " channel = '', posting_at = '', ended_at = '' WHERE watches.state = ?",
            [
                row["id"],
                row["user_id"],
                row["kind"],
                json.dumps(row["params"]),
                row["label"],
                WATCHING,
                row["started_at"],
                row["deadline"],
                DONE,
            ],
        )
    return cursor.rowcount == 1


def get(db: Db, watch_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM watches WHERE id = ?", [watch_id]))
    return _decoded(rows[0]) if rows else None


def live(db: Db) -> list[dict[str, Any]]:
    """Every watch not done, oldest first: what a (new) leader resumes."""
    return [
        _decoded(r)
        for r in db.query(
            f"SELECT * FROM watches WHERE state IN ({', '.join('?' * len(LIVE))})"
            " ORDER BY started_at, id",
            list(LIVE),
        )
    ]


def count_live(db: Db) -> int:
    rows = list(
        db.query(
            f"SELECT count(*) AS n FROM watches WHERE state IN ({', '.join('?' * len(LIVE))})",
            list(LIVE),
        )
    )
    return int(rows[0]["n"])


def ended(db: Db, watch_id: str, message: dict[str, Any], at: str) -> None:
    """watching -> ending, with the message to send: recorded before anything is posted."""
    with db.conn:
        db.execute(
            "UPDATE watches SET state = ?, message = ?, ended_at = ? WHERE id = ? AND state = ?",
            [ENDING, json.dumps(message), at, watch_id, WATCHING],
        )


def begin_posting(db: Db, watch_id: str, channel: str, at: str) -> bool:
    """ending -> posting, committed before chat.postMessage; True for the one caller."""
    with db.conn:
        cursor = db.execute(
            "UPDATE watches SET state = ?, channel = ?, posting_at = ? WHERE id = ? AND state = ?",
            [POSTING, channel, at, watch_id, ENDING],
        )
    return cursor.rowcount == 1


def done(db: Db, watch_id: str) -> None:
    with db.conn:
        db.execute("UPDATE watches SET state = ? WHERE id = ?", [DONE, watch_id])


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "params": json.loads(row["params"] or "{}"),
        "message": json.loads(row["message"]) if row["message"] else None,
    }
