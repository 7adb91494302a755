"""Linked accounts. `secret` is always ciphertext here: the vault is applied in bot.accounts."""

from __future__ import annotations

from typing import Any

from bot.store.engine import Db

COLUMNS = (
    "user_id",
    "platform",
    "instance",
    "account",
    "kind",
    "secret",
    "details",
    "linked_at",
    "verified_at",
)
KEY = ("user_id", "platform", "instance")


def save(db: Db, row: dict[str, Any]) -> None:
    """Insert or replace the link (the columns given; others keep their value)."""
    columns = [c for c in COLUMNS if c in row]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in KEY)
    with db.conn:
        db.execute(
            f"insert into links ({', '.join(columns)})"
            f" values ({', '.join(':' + c for c in columns)})"
            f" on conflict ({', '.join(KEY)}) do update set {updates}",
            row,
        )


def get(db: Db, user_id: str, platform: str, instance: str | None) -> dict[str, Any] | None:
    sql = "select * from links where user_id = ? and platform = ?"
    params: list[str] = [user_id, platform]
    if instance is not None:
        sql += " and instance = ?"
        params.append(instance)
    rows = list(db.query(sql + " order by linked_at", params))
    return rows[0] if rows else None


def for_user(db: Db, user_id: str) -> list[dict[str, Any]]:
    return list(
        db.query("select * from links where user_id = ? order by platform, instance", [user_id])
    )


def delete(db: Db, user_id: str, platform: str, instance: str) -> int:
    with db.conn:  # commit now: other processes (console, scheduler) read this file
        cursor = db.execute(
            "delete from links where user_id = ? and platform = ? and instance = ?",
            [user_id, platform, instance],
        )
    return cursor.rowcount


def update_secret(
    db: Db, user_id: str, platform: str, instance: str, secret: str, verified_at: str
) -> None:
    with db.conn:
        db.execute(
            "update links set secret = ?, verified_at = ? "
            "where user_id = ? and platform = ? and instance = ?",
            [secret, verified_at, user_id, platform, instance],
        )


def all_secrets(db: Db) -> list[dict[str, Any]]:
    return list(db.query("select user_id, platform, instance, secret from links"))


def replace_secrets(db: Db, rows: list[dict[str, Any]]) -> None:
    with db.conn:
        for row in rows:
            db.execute(
                "update links set secret = ? where user_id = ? and platform = ? and instance = ?",
                [row["secret"], row["user_id"], row["platform"], row["instance"]],
            )


def count(db: Db) -> int:
    return int(next(db.query("select count(*) as n from links"))["n"])
