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
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlite_utils import Database

from bot import errors
from bot.config import ConfigError
from bot.files import private_file, private_folder, tighten
from bot.store import migrations
from bot.store.engine import (
    POSTGRESQL,
    SQLITE,
    PgDb,
    SqliteDb,
    connect_postgresql,
    engine_of,
    redact,
    sqlite_path,
)

if TYPE_CHECKING:  # psycopg is imported only when PostgreSQL is used
    import psycopg

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_POOL = 10
CONNECT_TIMEOUT = 10  # seconds, for the first connection at start-up


class DatabaseUnusable(ConfigError):
    """The SQLite file cannot be used: one line naming it and what to do (no traceback)."""


SQLITE_HEADER = b"SQLite format 3\x00"


def open_sqlite(path: Path | str | None, *, upgrade: bool = True) -> SqliteDb:
    """Open the file (creating it 0600 in a 0700 folder), switch to WAL, apply pending
    migrations. A file that is damaged, unreadable or read-only is refused before anything
    writes to it (DatabaseUnusable), so it is left exactly as it was."""
    if path is None:
        database = Database(memory=True)
    else:
        path = Path(path)
        private_folder(path.parent)
        check_sqlite_file(path)
        private_file(path)  # SQLite creates -wal and -shm with the database's mode
        try:
            database = Database(sqlite3.connect(str(path), timeout=30))
            database.execute("PRAGMA journal_mode=WAL")
            database.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as error:
            raise unusable(path, error) from None
    database.execute("PRAGMA foreign_keys=ON")
    db = SqliteDb(database)
    try:
        if upgrade:
            migrations.apply(db)
        else:
            migrations.check_not_newer(migrations.applied(db))
    except sqlite3.DatabaseError as error:
        database.conn.close()
        raise unusable(path, error) from None
    if path is not None:
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            tighten(name)  # a database made by an older version was 0644
    return db


def check_sqlite_file(path: Path) -> None:
    """Refuse, with what to do, a path the bot cannot use as its database; read only."""
    if path.is_dir():
        raise DatabaseUnusable(
            f"{path} is a folder, not a database file: point SWITCHBOARD_DB "
            "at a file, or move the folder away."
        )
    if not path.exists():
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise DatabaseUnusable(
                f"cannot create the database {path}: its folder is not "
                "writable by this user. Fix its permissions, or set "
                "SWITCHBOARD_DATA_DIR to a writable folder."
            )
        return
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as error:
        raise DatabaseUnusable(
            f"the database {path} cannot be read ({error.strerror}): give the user running "
            "Switchboard read and write access to it and its folder, then start again."
        ) from None
    if header and header != SQLITE_HEADER:
        raise DatabaseUnusable(NOT_A_DATABASE.format(path=path))
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise DatabaseUnusable(READ_ONLY.format(path=path))
    try:  # the schema is readable: a damaged first pages shows here, before any write
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            probe.execute("select count(*) from sqlite_master").fetchone()
        finally:
            probe.close()
    except sqlite3.DatabaseError as error:
        raise unusable(path, error) from None


NOT_A_DATABASE = (
    "{path} is not a SQLite database (damaged, or another file): restore it from "
    "a backup, or move it away to start with an empty one. It was not changed."
)
READ_ONLY = (
    "the database {path} is read-only for this user: Switchboard writes it and, beside "
    "it, its -wal and -shm files. Make both writable (permissions or mount), then "
    "start again."
)


def unusable(path: Path | None, error: sqlite3.DatabaseError) -> DatabaseUnusable:
    """SQLite's error, as one line naming the file and what to do."""
    text = str(error).lower()
    if "readonly" in text or "read-only" in text:
        return DatabaseUnusable(READ_ONLY.format(path=path))
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return DatabaseUnusable(NOT_A_DATABASE.format(path=path))
    if "full" in text:
        return DatabaseUnusable(
            f"the disk holding the database {path} is full: free some space, then start again."
        )
    return DatabaseUnusable(
        f"the database {path} cannot be opened ({error}): check it and "
        "its folder, then start again."
    )


def open_database(path: Path | str | None) -> SqliteDb:
    """A SQLite file for direct synchronous use (benchmarks populating a database)."""
    return open_sqlite(sqlite_path(path) if isinstance(path, str) else path)


def connect(target: str | Path | None, *, upgrade: bool = True) -> SqliteDb | PgDb:
    """One connection to either engine, outside the store's threads (CLI commands, tests).
    Migrated unless `upgrade` is False (then only checked not to be newer than the code)."""
    if engine_of(target) == SQLITE:
        return open_sqlite(
            sqlite_path(target) if isinstance(target, str) else target, upgrade=upgrade
        )
    try:
        db = connect_postgresql(str(target), connect_timeout=CONNECT_TIMEOUT)
    except Exception as error:  # psycopg.OperationalError: refused, unknown host, bad login
        raise ConfigError(
            f"cannot connect to PostgreSQL at {redact(str(target))}: "
            f"{str(error).strip().splitlines()[0]}"
        ) from None
    try:
        if upgrade:
            migrations.apply(db)
        else:
            migrations.check_not_newer(migrations.applied(db))
    except BaseException:
        db.close()
        raise
    return db


def cannot_write(error: BaseException) -> bool:
    """A write refused for lack of space or of write access, on either engine (SQLite's
    SQLITE_FULL / SQLITE_READONLY, PostgreSQL's disk_full 53100 / read-only 25006)."""
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        return "disk is full" in text or "readonly" in text or "read-only" in text
    return getattr(error, "sqlstate", None) in ("53100", "25006")


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
            self._reader: SqliteDb | None = None
            return
        self._reader = None
        self.path = None
        self.db = None
        self.url = str(target)
        connect(self.url).close()  # fails fast with one line; migrates under a lock
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self._pool = ConnectionPool(
            self.url,
            min_size=1,
            max_size=pool_size,
            open=True,
            name="switchboard",
            kwargs={"autocommit": True, "row_factory": dict_row},
            # A connection broken meanwhile (server restart, failover) is replaced before use.
            check=ConnectionPool.check_connection,
        )
        self._executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="store")

    def _call(self, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        try:
            if self._pool is None:
                return fn(self.db, *args, **kwargs)
            with self._pool.connection() as conn:
                # Its rows are dicts (the pool's kwargs set the row factory), which the
                # pool's type does not carry.
                return fn(PgDb(cast("psycopg.Connection[dict[str, Any]]", conn)), *args, **kwargs)
        except Exception as error:
            if not cannot_write(error):
                raise
            # The person is told nothing was saved (errors.NotSaved); the operator, here.
            log.error(
                "the database refused a write (%s): %s",
                type(error).__name__,
                str(error).splitlines()[0] if str(error) else "",
            )
            raise errors.NotSaved() from None

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `fn(db, *args, **kwargs)` on a store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args, kwargs)

    async def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """A short read by key (a credential, per command): on a SQLite file, right here on
        the caller's thread, on a connection of its own that only reads. In WAL mode a read
        never waits for a writer, and it sees every write committed before it; handing it to
        the store thread instead cost more CPU than the query itself (thread wake-ups and the
        GIL passed twice: py-spy under bench/ack_latency). Elsewhere (PostgreSQL, in memory):
        as `run`."""
        if self.engine != SQLITE or self.path is None:
            return await self.run(fn, *args, **kwargs)
        if self._reader is None:
            # check_same_thread off: every loop of the process may read through it (the
            # sqlite3 module serialises each connection's use).
            conn = sqlite3.connect(str(self.path), timeout=5, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self._reader = SqliteDb(Database(conn))
        return fn(self._reader, *args, **kwargs)

    def run_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """The same from synchronous code (CLI commands, start-up)."""
        return self._executor.submit(self._call, fn, args, kwargs).result()

    def close(self) -> None:
        if self._pool is None:
            assert self.db is not None  # SQLite: opened in __init__
            if self._reader is not None:
                self._reader.close()
            try:
                self._executor.submit(self.db.close).result()
            finally:
                self._executor.shutdown(wait=True)
            return
        self._executor.shutdown(wait=True)  # calls in flight finish first
        self._pool.close()


__all__ = ["POSTGRESQL", "SQLITE", "Store", "connect", "open_database", "open_sqlite"]
