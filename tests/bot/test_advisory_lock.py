"""Leadership on PostgreSQL: one holder at a time; a holder that dies (kill -9) or whose
connection drops loses it, and the next replica to try takes it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from bot.leader import AdvisoryLock

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import asyncio, sys
from bot.leader import AdvisoryLock

async def main():
    lock = AdvisoryLock(sys.argv[1])
    print("held" if await lock.acquire() else "refused", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def eventually(predicate) -> None:
    async with asyncio.timeout(30):
        # No event says the lock is free: only asking the server tells.
        while not await predicate():  # noqa: ASYNC110 (polls the server; see above)
            await asyncio.sleep(0.2)


async def test_one_holder_and_a_release_hands_it_over(postgres_url):
    first, second = AdvisoryLock(postgres_url), AdvisoryLock(postgres_url)
    try:
        assert await first.acquire() and await first.held()
        assert not await second.acquire() and not await second.held()
        assert await first.acquire()  # asking again while holding: still held
        await first.release()
        assert not await first.held()
        await eventually(second.acquire)  # the next try, once the server ended the session
        assert await second.held()
        assert not await first.acquire()
    finally:
        await first.release()
        await second.release()


async def test_the_server_drops_a_vanished_leader_within_seconds_not_hours(postgres_url):
    """A leader whose host vanishes sends no FIN: only the server's keepalive probes end its
    session (and so free the lock); they are set on the lock's session, not left at 2 hours."""
    lock = AdvisoryLock(postgres_url)
    try:
        assert await lock.acquire()
        cursor = await lock._conn.execute(
            "select current_setting('tcp_keepalives_idle'),"
            " current_setting('tcp_keepalives_interval'), current_setting('tcp_keepalives_count')"
        )
        assert await cursor.fetchone() == ("5", "2", "3")
    finally:
        await lock.release()


async def test_a_dropped_connection_loses_the_lock_and_another_takes_it(postgres_url):
    first, second = AdvisoryLock(postgres_url), AdvisoryLock(postgres_url)
    try:
        assert await first.acquire()
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where application_name = 'switchboard-leader'"
                " and pid <> pg_backend_pid()"
            )
        assert not await first.held()  # noticed: this replica stops leading
        assert await second.acquire()
    finally:
        await first.release()
        await second.release()


async def test_a_holder_killed_with_kill_9_frees_the_lock(postgres_url):
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, postgres_url, cwd=ROOT, stdout=subprocess.PIPE
    )
    other = AdvisoryLock(postgres_url)
    try:
        assert holder.stdout is not None
        said = await asyncio.wait_for(holder.stdout.readline(), 60)
        assert said.decode().strip() == "held"
        assert not await other.acquire()
        os.kill(holder.pid, signal.SIGKILL)
        await asyncio.wait_for(holder.wait(), 10)
        await eventually(other.acquire)
        assert await other.held()
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await other.release()
