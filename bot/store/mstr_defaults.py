"""`/mstr use <project>`: each person's default project per Strategy One instance."""

from __future__ import annotations

from typing import Any

from bot.store.engine import Db


def get(db: Db, user_id: str, instance: str) -> dict[str, Any] | None:
    rows = list(
        db.query(
            "select * from mstr_defaults where user_id = ? and instance = ?", [user_id, instance]
        )
    )
    return rows[0] if rows else None


def save(db: Db, row: dict[str, Any]) -> None:
    with db.conn:
        db.execute(
            "insert into mstr_defaults (user_id, instance, project_id, project_name, set_at)"
            " values (:user_id, :instance, :project_id, :project_name, :set_at)"
            " on conflict (user_id, instance) do update set project_id = excluded.project_id,"
            " project_name = excluded.project_name, set_at = excluded.set_at",
            row,
        )


def clear(db: Db, user_id: str, instance: str) -> None:
    with db.conn:
        db.execute(
            "delete from mstr_defaults where user_id = ? and instance = ?", [user_id, instance]
        )
