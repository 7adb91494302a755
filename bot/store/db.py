"""The database and the one thread that touches it.

sqlite-utils connections belong to the thread that opened them, so every read and write runs on
a single dedicated thread (`Store.run`), which also serialises writes. The event loop never
blocks on SQLite. WAL mode lets the scheduler and a second process (a console, a test) read
while the bot writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlite_utils import Database

from bot.store.migrations import migrations

P = ParamSpec("P")
T = TypeVar("T")


def open_database(path: Path | str | None) -> Database:
    """Open (creating the folder), switch to WAL and apply pending migrations."""
    if path is None:
        db = Database(memory=True)
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(sqlite3.connect(str(path), timeout=30))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    migrations.apply(db)
    return db


class Store:
    def __init__(self, path: Path | str | None) -> None:
        self.path = None if path is None else Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self.db: Database = self._executor.submit(open_database, self.path).result()

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `fn(db, *args, **kwargs)` on the store's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self.db, *args, **kwargs))

    def run_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """The same from synchronous code (CLI commands, start-up)."""
        return self._executor.submit(fn, self.db, *args, **kwargs).result()

    def close(self) -> None:
        try:
            self._executor.submit(self.db.close).result()
        finally:
            self._executor.shutdown(wait=True)
