"""Keys already handled: Slack event ids (retries) and alert items (post only what is new)."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database


def first_time(db: Database, key: str, at: str) -> bool:
    """Record `key`; True only the first time it is seen (atomic: the primary key decides)."""
    try:
        with db.conn:
            db.execute("insert into seen (key, seen_at) values (?, ?)", [key, at])
    except sqlite3.IntegrityError:
        return False
    return True
