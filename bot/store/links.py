"""Linked accounts. `secret` is always ciphertext here: the vault is applied in bot.accounts."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database


def save(db: Database, row: dict[str, Any]) -> None:
    db["links"].upsert(row, pk=("user_id", "platform", "instance"))


def get(db: Database, user_id: str, platform: str, instance: str | None) -> dict[str, Any] | None:
    sql = "select * from links where user_id = ? and platform = ?"
    params: list[str] = [user_id, platform]
    if instance is not None:
        sql += " and instance = ?"
        params.append(instance)
    rows = list(db.query(sql + " order by linked_at", params))
    return rows[0] if rows else None


def for_user(db: Database, user_id: str) -> list[dict[str, Any]]:
    return list(db.query(
        "select * from links where user_id = ? order by platform, instance", [user_id]))


def delete(db: Database, user_id: str, platform: str, instance: str) -> int:
    with db.conn:  # commit now: other processes (console, scheduler) read this file
        cursor = db.execute(
            "delete from links where user_id = ? and platform = ? and instance = ?",
            [user_id, platform, instance])
    return cursor.rowcount


def update_secret(db: Database, user_id: str, platform: str, instance: str, secret: str,
                  verified_at: str) -> None:
    with db.conn:
        db.execute(
            "update links set secret = ?, verified_at = ? "
            "where user_id = ? and platform = ? and instance = ?",
            [secret, verified_at, user_id, platform, instance])


def all_secrets(db: Database) -> list[dict[str, Any]]:
    return list(db.query("select user_id, platform, instance, secret from links"))


def replace_secrets(db: Database, rows: list[dict[str, Any]]) -> None:
    with db.conn:
        for row in rows:
            db.execute(
                "update links set secret = ? where user_id = ? and platform = ? and instance = ?",
                [row["secret"], row["user_id"], row["platform"], row["instance"]])


def count(db: Database) -> int:
    return db["links"].count
