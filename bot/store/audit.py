"""The audit trail: every state change (link, unlink, abort, approve ...) is one row."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database


def record(db: Database, row: dict[str, Any]) -> None:
    db["audit"].insert(row)


def latest(db: Database, n: int) -> list[dict[str, Any]]:
    return list(db.query("select * from audit order by id desc limit ?", [n]))
