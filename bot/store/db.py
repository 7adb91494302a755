"""The database, on either engine, and the threads that touch it.

Store functions are small synchronous functions `fn(db, ...)` over the interface in
bot.store.engine; `Store.run` sends them off the event loop, which never blocks on the
database.

SQLite: sqlite-utils connections belong to the thread that opened them, so every read and
write runs on one dedicated thread, which also serialises writes. WAL mode lets the scheduler
and a second process (a console, a test) read while the bot writes.

PostgreSQL: a pool of psycopg connections (psycopg_pool) and as many worker threads as
connections, so a worker never waits for a connection and the same synchronous store
functions serve both engines (the async psycopg API would need a second copy of each). Each
call borrows one connection for its duration; `with db.conn:` makes a transaction on it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlite_utils import Database

from bot.config import ConfigError
from bot.store import migrations
from bot.store.engine import (
    POSTGRESQL, SQLITE, PgDb, SqliteDb, connect_postgresql, engine_of, redact, sqlite_path)

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_POOL = 10
CONNECT_TIMEOUT = 10  # seconds, for the first connection at start-up


def open_sqlite(path: Path | str | None, *, upgrade: bool = True) -> SqliteDb:
    """Open the file (creating its folder), switch to WAL, apply pending migrations."""
    if path is None:
        database = Database(memory=True)
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        database = Database(sqlite3.connect(str(path), timeout=30))
        database.execute("PRAGMA journal_mode=WAL")
        database.execute("PRAGMA synchronous=NORMAL")
    database.execute("PRAGMA foreign_keys=ON")
    db = SqliteDb(database)
    if upgrade:
        migrations.apply(db)
    else:
        migrations.check_not_newer(migrations.applied(db))
    return db


def open_database(path: Path | str | None) -> SqliteDb:
    """A SQLite file for direct synchronous use (benchmarks populating a database)."""
    return open_sqlite(sqlite_path(path) if isinstance(path, str) else path)


def connect(target: str | Path | None, *, upgrade: bool = True) -> SqliteDb | PgDb:
    """One connection to either engine, outside the store's threads (CLI commands, tests).
    Migrated unless `upgrade` is False (then only checked not to be newer than the code)."""
    if engine_of(target) == SQLITE:
        return open_sqlite(sqlite_path(target) if isinstance(target, str) else target,
                           upgrade=upgrade)
    try:
        db = connect_postgresql(str(target), connect_timeout=CONNECT_TIMEOUT)
    except Exception as error:  # psycopg.OperationalError: refused, unknown host, bad login
        raise ConfigError(f"cannot connect to PostgreSQL at {redact(str(target))}: "
                          f"{str(error).strip().splitlines()[0]}") from None
    try:
        if upgrade:
            migrations.apply(db)
        else:
            migrations.check_not_newer(migrations.applied(db))
    except BaseException:
        db.close()
        raise
    return db


class Store:
    """`Store(target)`: a SQLite path (None: in memory), `sqlite:PATH`, or a
    `postgresql://` URL. Pending migrations are applied on opening."""

    def __init__(self, target: Path | str | None, *, pool_size: int = DEFAULT_POOL) -> None:
        self.engine = engine_of(target)
        if self.engine == SQLITE:
            self.path = sqlite_path(target) if isinstance(target, str) else target
            if self.path is not None:
                self.path = Path(self.path)
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
            self.db: SqliteDb | None = self._executor.submit(open_sqlite, self.path).result()
            self._pool = None
            return
        self.path = None
        self.db = None
        self.url = str(target)
        connect(self.url).close()  # fails fast with one line; migrates under a lock
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self._pool = ConnectionPool(
            self.url, min_size=1, max_size=pool_size, open=True, name="switchboard",
            kwargs={"autocommit": True, "row_factory": dict_row},
            # A connection broken meanwhile (server restart, failover) is replaced before use.
            check=ConnectionPool.check_connection)
        self._executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="store")

    def _call(self, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        if self._pool is None:
            return fn(self.db, *args, **kwargs)
        with self._pool.connection() as conn:
            return fn(PgDb(conn), *args, **kwargs)

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `fn(db, *args, **kwargs)` on a store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args, kwargs)

    def run_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """The same from synchronous code (CLI commands, start-up)."""
        return self._executor.submit(self._call, fn, args, kwargs).result()

    def close(self) -> None:
        if self._pool is None:
            try:
                self._executor.submit(self.db.close).result()  # type: ignore[union-attr]
            finally:
                self._executor.shutdown(wait=True)
            return
        self._executor.shutdown(wait=True)  # calls in flight finish first
        self._pool.close()


__all__ = ["POSTGRESQL", "SQLITE", "Store", "connect", "open_database", "open_sqlite"]
