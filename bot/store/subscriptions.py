"""Subscriptions (digests and alerts): the source of truth the scheduler rebuilds from."""

from __future__ import annotations

from typing import Any

from bot.store.engine import Db

DIGEST, ALERT = "digest", "alert"


def add(db: Db, row: dict[str, Any]) -> dict[str, Any]:
    with db.conn:
        new = list(db.query(
            "insert into subscriptions (owner, kind, platforms, source, trigger, tz, channel,"
            " skip_empty, paused, created_at, last_run_at, resumed_at, instance, last_error)"
            " values (:owner, :kind, :platforms, :source, :trigger, :tz, :channel,"
            " :skip_empty, 0, :created_at, '', '', :instance, '') returning id",
            {"source": "", "platforms": "", "instance": "", **row}))
    return get(db, int(new[0]["id"]))  # type: ignore[return-value]


def get(db: Db, sub_id: int) -> dict[str, Any] | None:
    rows = list(db.query("select * from subscriptions where id = ?", [sub_id]))
    return rows[0] if rows else None


def all_active(db: Db) -> list[dict[str, Any]]:
    return list(db.query("select * from subscriptions where paused = 0 order by id"))


def for_owner(db: Db, owner: str) -> list[dict[str, Any]]:
    return list(db.query("select * from subscriptions where owner = ? order by id", [owner]))


def count(db: Db) -> int:
    return int(next(db.query("select count(*) as n from subscriptions"))["n"])


def set_paused(db: Db, sub_id: int, paused: bool, at: str) -> None:
    with db.conn:
        if paused:
            db.execute("update subscriptions set paused = 1 where id = ?", [sub_id])
        else:
            db.execute("update subscriptions set paused = 0, resumed_at = ? where id = ?",
                       [at, sub_id])


def ran(db: Db, sub_id: int, run_at: str, error: str = "") -> None:
    """Remember the latest run (the next digest's "since"); never moves backwards."""
    with db.conn:
        db.execute(
            "update subscriptions set last_run_at = case when coalesce(last_run_at, '') > ?"
            " then last_run_at else ? end, last_error = ? where id = ?",
            [run_at, run_at, error[:300], sub_id])


def remove(db: Db, sub_id: int) -> int:
    with db.conn:
        db.execute("delete from deliveries where subscription_id = ?", [sub_id])
        return db.execute("delete from subscriptions where id = ?", [sub_id]).rowcount
