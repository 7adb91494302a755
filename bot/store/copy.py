"""`switchboard db copy SOURCE TARGET`: move an installation between databases, nothing lost.

Both databases are first brought to the current schema (the same migration history), the
target must hold no data yet, and every table is copied row for row (credentials stay the
ciphertext they are: nothing is decrypted to be copied). In the same transaction, before it
commits, the target is checked: each table holds as many rows as the source's, and every
stored credential decrypts with the installation's key. Anything short of that rolls the
target back, and the source is never written to (beyond its own migrations).

Either direction works: sqlite -> postgresql (outgrowing one process), and back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import ConfigError
from bot.store import migrations
from bot.store.db import connect
from bot.store.engine import POSTGRESQL, SQLITE, engine_of, redact
from bot.vault import Vault, VaultError

BATCH = 1000
# Tables that describe the database rather than the installation's data.
SKIP = {migrations.TABLE, migrations.LEGACY_TABLE}


class CopyError(Exception):
    """The copy did not happen (or was rolled back); the message says why, in one line."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)
    credentials: int = 0

    def lines(self) -> list[str]:
        out = [f"  {table}: {n} row(s)" for table, n in self.rows.items()]
        out.append(
            f"Copied {sum(self.rows.values())} row(s) in {len(self.rows)} table(s); "
            f"counts match, and all {self.credentials} credential(s) decrypt."
        )
        return out


def describe(target: str | Path) -> str:
    return redact(str(target)) if engine_of(target) == POSTGRESQL else f"sqlite:{target}"


def data_tables(db: Any) -> list[str]:
    return [
        t
        for t in db.table_names()
        if t not in SKIP and not t.startswith("sqlite_") and not t.startswith("_")
    ]


def columns(db: Any, table: str) -> list[str]:
    if db.engine == SQLITE:
        return [r["name"] for r in db.query(f"pragma table_info([{table}])")]
    return [
        r["column_name"]
        for r in db.query(
            "select column_name from information_schema.columns"
            " where table_schema = current_schema() and table_name = ? order by ordinal_position",
            [table],
        )
    ]


def count(db: Any, table: str) -> int:
    return int(next(db.query(f"select count(*) as n from {table}"))["n"])


def _rows(db: Any, table: str, cols: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in batches (a cursor, not a list: an audit table can be large)."""
    select = f"select {', '.join(cols)} from {table}"
    if db.engine == SQLITE:
        cursor = db.sqlite.conn.execute(select)
    else:
        from psycopg.rows import tuple_row

        cursor = db.pg.cursor(row_factory=tuple_row)
        cursor.execute(select)
    while batch := cursor.fetchmany(BATCH):
        yield [tuple(r) for r in batch]


def _insert_many(db: Any, table: str, cols: list[str], batch: list[tuple[Any, ...]]) -> None:
    names = ", ".join(cols)
    if db.engine == SQLITE:
        db.sqlite.conn.executemany(
            f"insert into {table} ({names}) values ({', '.join('?' * len(cols))})", batch
        )
    else:
        with db.pg.cursor() as cursor:
            cursor.executemany(
                f"insert into {table} ({names}) values ({', '.join(['%s'] * len(cols))})", batch
            )


def _reset_identity(db: Any, table: str, cols: list[str]) -> None:
    """PostgreSQL numbers new rows from a sequence: move it past the ids just copied."""
    if db.engine != POSTGRESQL or "id" not in cols:
        return
    seq = next(db.query("select pg_get_serial_sequence(?, 'id') as s", [table]))["s"]
    if seq:
        db.execute(
            f"select setval(?, (select coalesce(max(id), 0) + 1 from {table}), false)", [seq]
        )


def copy_database(source: str | Path, target: str | Path, vault: Vault) -> CopyReport:
    if str(source) == str(target):
        raise CopyError("the source and the target are the same database")
    src = connect(source)
    try:
        dst = connect(target)
        try:
            return _copy(src, dst, vault)
        finally:
            dst.close()
    finally:
        src.close()


def _copy(src: Any, dst: Any, vault: Vault) -> CopyReport:
    tables = data_tables(src)
    missing = [t for t in tables if t not in set(dst.table_names())]
    if missing:
        raise CopyError(
            f"the target has no table {', '.join(missing)}: is it the same Switchboard version?"
        )
    busy = [f"{t} ({n})" for t in data_tables(dst) if (n := count(dst, t))]
    if busy:
        raise CopyError(
            "the target already holds data (" + ", ".join(busy) + "): copy into an empty database"
        )
    report = CopyReport()
    if dst.engine == SQLITE:
        dst.execute("begin immediate")
        tx = None
    else:
        tx = dst.pg.transaction()
        tx.__enter__()
    try:
        for table in tables:
            src_cols, dst_cols = columns(src, table), set(columns(dst, table))
            lost = [c for c in src_cols if c not in dst_cols]
            if lost:
                raise CopyError(f"{table}: the target has no column {', '.join(lost)}")
            for batch in _rows(src, table, src_cols):
                _insert_many(dst, table, src_cols, batch)
            _reset_identity(dst, table, src_cols)
            expected, copied = count(src, table), count(dst, table)
            if copied != expected:
                raise CopyError(
                    f"{table}: {copied} row(s) in the target, {expected} in the "
                    "source; nothing was kept"
                )
            report.rows[table] = copied
        report.credentials = _check_credentials(dst, vault)
    except BaseException as error:
        if tx is None:
            dst.sqlite.conn.rollback()
        else:
            tx.__exit__(type(error), error, error.__traceback__)
        raise
    if tx is None:
        dst.sqlite.conn.commit()
    else:
        tx.__exit__(None, None, None)
    return report


def _check_credentials(db: Any, vault: Vault) -> int:
    bad = 0
    rows = list(db.query("select user_id, platform, instance, secret from links"))
    for row in rows:
        try:
            vault.decrypt(row["secret"])
        except VaultError:
            bad += 1
    if bad:
        raise CopyError(
            f"{bad} of {len(rows)} credential(s) do not decrypt with the key given "
            "(SWITCHBOARD_SECRET_KEY, or the key file beside the SQLite database); "
            "nothing was kept"
        )
    return len(rows)


def ensure_url(value: str) -> str | Path:
    """A command-line database: `postgresql://...`, `sqlite:PATH`, or a plain file path."""
    if engine_of(value) == POSTGRESQL:
        return value
    from bot.store.engine import sqlite_path

    path = sqlite_path(value)
    if path is None:
        raise ConfigError(f"{value}: give a file (sqlite:PATH) or a postgresql:// URL")
    return path
