"""Linked accounts. `secret` is always ciphertext here: the vault is applied in bot.accounts.

A person holds one link per (platform, instance, role): the role is '' for the usual
credential, or a platform's second kind (`service`: an Astakos service token beside a user
token). Reads list the usual one first.
"""

from __future__ import annotations

from typing import Any

from bot.store.engine import Db

COLUMNS = (
    "user_id",
    "platform",
    "instance",
    "role",
    "account",
    "kind",
    "secret",
    "details",
    "linked_at",
    "verified_at",
)
KEY = ("user_id", "platform", "instance", "role")
_WHERE = "user_id = ? and platform = ? and instance = ? and role = ?"


def save(db: Db, row: dict[str, Any]) -> None:
    """Insert or replace the link (the columns given; others keep their value)."""
    row = {"role": "", **row}
    columns = [c for c in COLUMNS if c in row]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in KEY)
    with db.conn:
        db.execute(
            f"insert into links ({', '.join(columns)})"
            f" values ({', '.join(':' + c for c in columns)})"
            f" on conflict ({', '.join(KEY)}) do update set {updates}",
            row,
        )


def find(
    db: Db, user_id: str, platform: str, instance: str | None, role: str | None = None
) -> list[dict[str, Any]]:
    """The person's links on `platform` (one instance, one role, when given): by instance as
    first linked, the usual role first."""
    sql = "select * from links where user_id = ? and platform = ?"
    params: list[str] = [user_id, platform]
    if instance is not None:
        sql += " and instance = ?"
        params.append(instance)
    if role is not None:
        sql += " and role = ?"
        params.append(role)
    rows = list(db.query(sql + " order by linked_at, role", params))
    # Group by instance in the order each was first linked, so "the first instance" stays
    # the same whichever role was linked later.
    first: dict[str, int] = {}
    for row in rows:
        first.setdefault(row["instance"], len(first))
    return sorted(rows, key=lambda r: (first[r["instance"]], r["role"]))


def get(
    db: Db, user_id: str, platform: str, instance: str | None, role: str | None = None
) -> dict[str, Any] | None:
    rows = find(db, user_id, platform, instance, role)
    return rows[0] if rows else None


def for_user(db: Db, user_id: str) -> list[dict[str, Any]]:
    return list(
        db.query(
            "select * from links where user_id = ? order by platform, instance, role", [user_id]
        )
    )


def delete(db: Db, user_id: str, platform: str, instance: str, role: str = "") -> int:
    with db.conn:  # commit now: other processes (console, scheduler) read this file
        cursor = db.execute(
            f"delete from links where {_WHERE}", [user_id, platform, instance, role]
        )
    return cursor.rowcount


def update_secret(
    db: Db,
    user_id: str,
    platform: str,
    instance: str,
    secret: str,
    verified_at: str,
    role: str = "",
) -> None:
    with db.conn:
        db.execute(
            f"update links set secret = ?, verified_at = ? where {_WHERE}",
            [secret, verified_at, user_id, platform, instance, role],
        )


def all_secrets(db: Db) -> list[dict[str, Any]]:
    return list(db.query("select user_id, platform, instance, role, secret from links"))


def replace_secrets(db: Db, rows: list[dict[str, Any]]) -> None:
    with db.conn:
        for row in rows:
            db.execute(
                f"update links set secret = ? where {_WHERE}",
                [row["secret"], row["user_id"], row["platform"], row["instance"], row["role"]],
            )


def count(db: Db) -> int:
    return int(next(db.query("select count(*) as n from links"))["n"])
