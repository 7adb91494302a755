"""The delivery ledger: one row per (subscription, run), moving pending → composing (claimed
by one scheduler process, before any platform is called) → posting → delivered (with the
message ts), or to skipped / empty / failed. See bot/digests/delivery.py
for how this makes each run go out exactly once across crashes."""

from __future__ import annotations

from typing import Any

from bot.store.engine import Db

PENDING, COMPOSING, POSTING, DELIVERED = "pending", "composing", "posting", "delivered"
SKIPPED, EMPTY, FAILED = "skipped", "empty", "failed"
FINAL = (DELIVERED, SKIPPED, EMPTY)


def get(db: Db, sub_id: int, run_at: str) -> dict[str, Any] | None:
    rows = list(
        db.query(
            "select * from deliveries where subscription_id = ? and run_at = ?", [sub_id, run_at]
        )
    )
    return rows[0] if rows else None


def open_run(db: Db, sub_id: int, run_at: str, reason: str) -> dict[str, Any]:
    """The run's row, created pending unless it exists (the primary key decides)."""
    with db.conn:
        db.execute(
            "insert into deliveries (subscription_id, run_at, state, ts, delivered_at,"
            " channel, posting_at, reason, detail) values (?, ?, ?, '', '', '', '', ?, '')"
            " on conflict do nothing",
            [sub_id, run_at, PENDING, reason],
        )
    entry = get(db, sub_id, run_at)
    assert entry is not None  # inserted just above, or there already
    return entry


def claim(db: Db, sub_id: int, run_at: str, owner: str, at: str) -> bool:
    """pending|failed → composing by `owner`, committed before the platforms are called. A run
    another process left composing is taken over (only the leader runs digests: that process
    lost the role, and its `begin_posting` now fails). True for the one caller that claimed."""
    with db.conn:
        cursor = db.execute(
            "UPDATE deliveries SET state = ?, owner = ?, claimed_at = ? WHERE"
            " subscription_id = ? AND run_at = ? AND (state IN (?, ?) OR (state = ? AND"
            " (owner IS NULL OR owner <> ?)))",
            [COMPOSING, owner, at, sub_id, run_at, PENDING, FAILED, COMPOSING, owner],
        )
    return cursor.rowcount == 1


def begin_posting(db: Db, sub_id: int, run_at: str, channel: str, at: str, owner: str = "") -> bool:
    """pending|failed (an alert item), or composing by this owner (a digest) → posting,
    committed before chat.postMessage. True for the one caller that moved it (a second
    runner of the same run, or a leader that lost its claim, gets False and stops)."""
    with db.conn:
        cursor = db.execute(
            "UPDATE deliveries SET state = ?, channel = ?, posting_at = ? WHERE"
            " subscription_id = ? AND run_at = ? AND (state IN (?, ?) OR (state = ? AND"
            " owner = ?))",
            [POSTING, channel, at, sub_id, run_at, PENDING, FAILED, COMPOSING, owner],
        )
    return cursor.rowcount == 1


def finish(
    db: Db, sub_id: int, run_at: str, state: str, *, ts: str = "", at: str = "", detail: str = ""
) -> None:
    with db.conn:
        db.execute(
            "update deliveries set state = ?, ts = ?, delivered_at = ?, detail = ? where"
            " subscription_id = ? and run_at = ?",
            [state, ts, at, detail[:300], sub_id, run_at],
        )


def record(
    db: Db, sub_id: int, run_at: str, state: str, reason: str, detail: str = "", at: str = ""
) -> bool:
    """A run that will not be posted (skipped beyond the grace window). False if known."""
    with db.conn:
        cursor = db.execute(
            "insert into deliveries (subscription_id, run_at, state, ts, delivered_at,"
            " channel, posting_at, reason, detail) values (?, ?, ?, '', ?, '', '', ?, ?)"
            " on conflict do nothing",
            [sub_id, run_at, state, at, reason, detail[:300]],
        )
    return cursor.rowcount == 1


def unfinished(db: Db) -> list[dict[str, Any]]:
    """Runs a previous process started and did not finish (crash, kill -9)."""
    return list(
        db.query(
            "select * from deliveries where state in (?, ?, ?) order by run_at, subscription_id",
            [PENDING, COMPOSING, POSTING],
        )
    )


def latest_runs(db: Db) -> dict[int, str]:
    """Each subscription's last scheduled run (not `now`, not alert items), in one query:
    start-up reads thousands."""
    return {
        row["subscription_id"]: row["m"] or ""
        for row in db.query(
            "select subscription_id, max(run_at) as m from deliveries"
            " where run_at not like 'item:%' and reason != 'now' group by subscription_id"
        )
    }
