"""One-time web-link tokens (bot/weblink.py): only a SHA-256 of each token is kept."""

from __future__ import annotations

from typing import Any

from bot.store.engine import Db

LINKED = "linked"
LOCKED = "locked"
COLUMNS = (
    "token_hash",
    "user_id",
    "platform",
    "instance",
    "response_url",
    "created_at",
    "expires_at",
    "used_at",
    "outcome",
    "failures",
)


def insert(db: Db, row: dict[str, Any], prune_before: float) -> None:
    """Store a new token, pruning those expired before `prune_before`."""
    with db.conn:
        db.execute("delete from weblink_tokens where expires_at < ?", [prune_before])
        db.execute(
            f"insert into weblink_tokens ({', '.join(COLUMNS)})"
            f" values ({', '.join(':' + c for c in COLUMNS)})",
            {c: row.get(c) for c in COLUMNS},
        )


def get(db: Db, token_hash: str) -> dict[str, Any] | None:
    rows = list(db.query("select * from weblink_tokens where token_hash = ?", [token_hash]))
    return rows[0] if rows else None


def claim(db: Db, token_hash: str, now: float) -> bool:
    """Spend a live token on a successful link. True for exactly one caller (one UPDATE)."""
    with db.conn:
        cursor = db.execute(
            "update weblink_tokens set used_at = ?, outcome = ?, response_url = ''"
            " where token_hash = ? and used_at is null and expires_at > ?",
            [now, LINKED, token_hash, now],
        )
    return cursor.rowcount == 1


def fail(db: Db, token_hash: str, now: float, limit: int) -> int:
    """Count a refused credential; spend the token at `limit`. Returns the failures so far."""
    with db.conn:
        db.execute(
            "update weblink_tokens set failures = failures + 1"
            " where token_hash = ? and used_at is null",
            [token_hash],
        )
        db.execute(
            "update weblink_tokens set used_at = ?, outcome = ?, response_url = ''"
            " where token_hash = ? and used_at is null and failures >= ?",
            [now, LOCKED, token_hash, limit],
        )
    row = get(db, token_hash)
    return int(row["failures"]) if row else limit
