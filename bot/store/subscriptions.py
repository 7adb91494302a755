"""Subscriptions (digests and alerts): the source of truth the scheduler rebuilds from."""

from __future__ import annotations

from typing import Any

from bot.store.engine import Db

DIGEST, ALERT = "digest", "alert"


def _changed(db: Db) -> None:
    """Move the change counter the scheduler leader polls (inside the caller's transaction)."""
    db.execute(
        "INSERT INTO counters (name, value) VALUES ('subscriptions', 1)"
        " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
    )


def version(db: Db) -> int:
    """The subscriptions change counter: moves on every add, pause, resume and removal."""
    rows = list(db.query("SELECT value FROM counters WHERE name = 'subscriptions'"))
    return int(rows[0]["value"]) if rows else 0


def add(db: Db, row: dict[str, Any]) -> dict[str, Any]:
    with db.conn:
        new = list(
            db.query(
                "insert into subscriptions (owner, kind, platforms, source, trigger, tz, channel,"
                " skip_empty, paused, created_at, last_run_at, resumed_at, instance, last_error,"
                " filters)"
                " values (:owner, :kind, :platforms, :source, :trigger, :tz, :channel,"
                " :skip_empty, 0, :created_at, '', '', :instance, '', :filters) returning id",
                {"source": "", "platforms": "", "instance": "", "filters": "", **row},
            )
        )
        _changed(db)
    added = get(db, int(new[0]["id"]))
    assert added is not None  # inserted just above
    return added


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
            db.execute(
                "update subscriptions set paused = 0, resumed_at = ? where id = ?", [at, sub_id]
            )
        _changed(db)


def set_filters(db: Db, sub_id: int, filters: str) -> None:
    """`/ops digest edit`: the subscription's filters, in bot.filters' canonical text.
    An alert's open threads stop reading a subject's absence as news (their `gone` words go)
    until its source lists the subject again: under new filters, a subject left out is not
    one that cleared or was resolved (bot.alert_threads)."""
    with db.conn:
        db.execute("update subscriptions set filters = ? where id = ?", [filters, sub_id])
        db.execute(
            "update alert_threads set gone = null where subscription_id = ? and open = 1",
            [sub_id],
        )
        _changed(db)


def ran(db: Db, sub_id: int, run_at: str, error: str = "") -> None:
    """Remember the latest run (the next digest's "since"); never moves backwards."""
    with db.conn:
        db.execute(
            "update subscriptions set last_run_at = case when coalesce(last_run_at, '') > ?"
            " then last_run_at else ? end, last_error = ? where id = ?",
            [run_at, run_at, error[:300], sub_id],
        )


def remove(db: Db, sub_id: int) -> int:
    with db.conn:
        db.execute("delete from deliveries where subscription_id = ?", [sub_id])
        db.execute("delete from alert_mutes where subscription_id = ?", [sub_id])
        db.execute("delete from alert_threads where subscription_id = ?", [sub_id])
        removed = db.execute("delete from subscriptions where id = ?", [sub_id]).rowcount
        _changed(db)
        return removed
