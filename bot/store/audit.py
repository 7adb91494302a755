"""The audit trail: every state change (link, unlink, abort, approve ...) is one row."""

from __future__ import annotations

from typing import Any

from bot.store.engine import Db

COLUMNS = ("at", "user_id", "action", "platform", "instance", "target", "result", "detail")


def record(db: Db, row: dict[str, Any]) -> None:
    with db.conn:
        db.execute(
            f"insert into audit ({', '.join(COLUMNS)})"
            f" values ({', '.join(':' + c for c in COLUMNS)})",
            {c: row.get(c, "") for c in COLUMNS},
        )


def latest(db: Db, n: int) -> list[dict[str, Any]]:
    return list(db.query("select * from audit order by id desc limit ?", [n]))
