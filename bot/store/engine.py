"""The one small connection interface every store function is written against, for SQLite and
for PostgreSQL.

    db.execute(sql, params)    a cursor; use its `rowcount` (never its rows: see `query`)
    db.executemany(sql, rows)  one statement, many parameter rows
    db.query(sql, params)      the rows, as dicts
    with db.conn: ...          one transaction, committed at the end (rolled back on error)
    db.engine                  "sqlite" or "postgresql", for the rare statement that differs

SQL is written once, in the dialect both engines share: `?` and `:name` placeholders,
`insert ... on conflict (...) do nothing | do update set x = excluded.x` (never SQLite's
`insert or ignore`), `returning id` (never `lastrowid`), `case` instead of two-argument
`max()`. PostgreSQL's driver wants `%s` / `%(name)s`, so the text is translated once per
statement (cached). Statements that must be atomic across processes (the approval claim, the
seen-key insert, the ledger claim) stay single statements: both engines make those atomic.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlite_utils import Database

if TYPE_CHECKING:  # psycopg is imported only when PostgreSQL is used
    import psycopg

SQLITE, POSTGRESQL = "sqlite", "postgresql"

Params = Sequence[Any] | Mapping[str, Any]


def engine_of(target: str | Path | None) -> str:
    """Which engine a database setting names: a `postgresql://` URL, else a SQLite path."""
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        return POSTGRESQL
    return SQLITE


def sqlite_path(target: str | Path | None) -> Path | None:
    """The file of a SQLite target: a path, `sqlite:PATH` or `sqlite:///PATH` (None: memory)."""
    if target is None:
        return None
    text = str(target)
    if text.startswith("sqlite:"):
        text = text[len("sqlite:") :]
        if text.startswith("//"):  # sqlite:///abs/path (URL style): one leading slash kept
            text = "/" + text.lstrip("/")
        if text in ("", "/", ":memory:", "/:memory:"):
            return None
    return Path(text)


def redact(url: str) -> str:
    """A PostgreSQL URL without its password, for logs and messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


class Cursor(Protocol):
    """What a store function reads of what `Db.execute` returns (sqlite3's or psycopg's
    cursor)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Db(Protocol):
    """What a store function may use (see the module's docstring)."""

    engine: str
    conn: Any

    def execute(self, sql: str, params: Params = ...) -> Cursor: ...

    def query(self, sql: str, params: Params = ...) -> Iterator[dict[str, Any]]: ...

    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    def table_names(self) -> list[str]: ...


# -- SQL translation for psycopg -------------------------------------------------------------

_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """`?` -> `%s`, `:name` -> `%(name)s`, a literal `%` -> `%%`, outside quoted text."""
    parts = _QUOTED.split(sql)
    out = []
    for i, part in enumerate(parts):
        part = part.replace("%", "%%")
        if i % 2 == 0:  # not inside quotes
            part = _NAMED.sub(r"%(\1)s", part.replace("?", "%s"))
        out.append(part)
    return "".join(out)


# -- SQLite ----------------------------------------------------------------------------------


class SqliteDb:
    """A sqlite-utils Database behind the shared interface (its own API is in `.sqlite`)."""

    engine = SQLITE

    def __init__(self, database: Database) -> None:
        self.sqlite = database
        self.conn = database.conn  # sqlite3: `with conn:` commits, as the interface says

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self.sqlite.execute(sql, _sqlite_params(params))

    def query(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        return self.sqlite.query(sql, _sqlite_params(params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self.sqlite.conn.executemany(sql, rows)

    def executescript(self, sql: str) -> None:
        self.sqlite.executescript(sql)

    def table_names(self) -> list[str]:
        return self.sqlite.table_names()

    def close(self) -> None:
        self.sqlite.close()


def _sqlite_params(params: Params) -> Sequence[Any] | dict[str, Any]:
    """sqlite-utils is typed for a dict of named parameters (sqlite3 takes any mapping)."""
    return dict(params) if isinstance(params, Mapping) else params


# -- PostgreSQL ------------------------------------------------------------------------------


class _Transaction:
    """`with db.conn:` on PostgreSQL: one transaction (nested: a savepoint). The connection
    is in autocommit mode otherwise, so a statement outside a block commits at once, as
    the SQLite code expects after its `with db.conn:` blocks."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._stack: list[Any] = []

    def __enter__(self) -> _Transaction:
        tx = self._conn.transaction()
        tx.__enter__()
        self._stack.append(tx)
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._stack.pop().__exit__(*exc)

    def commit(self) -> None:
        """Outside a block every statement is already committed (autocommit)."""


class PgDb:
    """A psycopg 3 connection (autocommit, dict rows) behind the shared interface."""

    engine = POSTGRESQL

    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self.pg = conn
        self.conn = _Transaction(conn)

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        if isinstance(params, Mapping):
            return self.pg.execute(to_pyformat(sql), dict(params))
        return self.pg.execute(to_pyformat(sql), list(params))

    def query(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        return iter(self.execute(sql, params).fetchall())

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        rows = list(rows)
        if rows:
            with self.pg.cursor() as cursor:
                cursor.executemany(
                    to_pyformat(sql), [dict(r) if isinstance(r, Mapping) else list(r) for r in rows]
                )

    def executescript(self, sql: str) -> None:
        self.pg.execute(sql)  # no parameters: several statements are allowed

    def table_names(self) -> list[str]:
        return [
            r["table_name"]
            for r in self.query(
                "select table_name from information_schema.tables"
                " where table_schema = current_schema() order by table_name"
            )
        ]

    def close(self) -> None:
        self.pg.close()


def connect_postgresql(url: str, **kwargs: Any) -> PgDb:
    """One connection of our kind, outside any pool (CLI commands, tests)."""
    import psycopg
    from psycopg.rows import dict_row

    return PgDb(psycopg.connect(url, autocommit=True, row_factory=dict_row, **kwargs))
