"""The SQL of a PostgreSQL session advisory lock (bot.leader.AdvisoryLock decides leadership
with it): try to take it, ask whether this session still holds it, let it go. Each runs on the
lock's own connection (an async psycopg connection in autocommit), never the store's pool: the
lock belongs to the session that took it."""

from __future__ import annotations

from typing import Any


async def try_lock(conn: Any, key: int) -> bool:
    """Take the lock if it is free; never waits."""
    cursor = await conn.execute("select pg_try_advisory_lock(%s)", [key])
    row = await cursor.fetchone()
    return bool(row and row[0])


async def holds(conn: Any, key: int) -> bool:
    """Whether this very session holds the lock (granted, not merely asked for)."""
    cursor = await conn.execute(
        "select count(*) from pg_locks where locktype = 'advisory' and granted"
        " and pid = pg_backend_pid() and objsubid = 1"
        " and (classid::bigint << 32) | objid::bigint = %s",
        [key],
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


async def unlock(conn: Any, key: int) -> None:
    await conn.execute("select pg_advisory_unlock(%s)", [key])
