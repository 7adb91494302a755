"""Keys already handled: Slack event ids (retries) and alert items (post only what is new)."""

from __future__ import annotations

from bot.store.engine import Db


def first_time(db: Db, key: str, at: str) -> bool:
    """Record `key`; True only the first time it is seen (atomic: the primary key decides)."""
    with db.conn:
        cursor = db.execute(
            "insert into seen (key, seen_at) values (?, ?) on conflict do nothing", [key, at]
        )
    return cursor.rowcount == 1
