"""Running a test on both database engines, and reading the bot's database from a test
whichever engine it is on.

    @on_both_engines            # an e2e test: once on SQLite, once on PostgreSQL
    async def test_...(driver, slack, bot, settings): ...
        assert rows(settings, "select action from audit order by id") == [("link",)]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ENGINES = ["sqlite", "postgresql"]

# `engine` is the fixture in tests/conftest.py; the e2e `settings` follow it.
on_both_engines = pytest.mark.parametrize("engine", ENGINES, indirect=True)


def rows(where: Any, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple]:
    """The rows of a query as tuples (like sqlite3's), on the database of `where`: Settings,
    a SQLite path or a PostgreSQL URL. Portable SQL only (`?` placeholders)."""
    from bot.store.db import connect

    target: str | Path = where.database if hasattr(where, "database") else where
    db = connect(target, upgrade=False)
    try:
        return [tuple(r.values()) for r in db.query(sql, params)]
    finally:
        db.close()
