"""What an alert source saw at its previous poll, by slot (`limits.status`: one per
subscription, owner and instance), as JSON text: kept in the database so the first poll
after a restart, on whichever process leads the scheduler, compares with the last one."""

from __future__ import annotations

from bot.store.engine import Db


def get(db: Db, slot: str) -> str | None:
    rows = list(db.query("select value from observations where slot = ?", [slot]))
    return str(rows[0]["value"]) if rows else None


def put(db: Db, slot: str, value: str, at: str) -> None:
    with db.conn:  # commit now: the next poll may run on another replica
        db.execute(
            "insert into observations (slot, value, observed_at) values (?, ?, ?)"
            " on conflict (slot) do update set value = excluded.value,"
            " observed_at = excluded.observed_at",
            [slot, value, at],
        )
