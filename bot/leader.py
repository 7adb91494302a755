"""Which process runs the scheduler, and what that process does while it leads.

Exactly one process leads: it runs digests and alerts (bot/scheduler.py), watches
(bot/watch.py) and the recovery of stale approval claims (bot/recovery.py). Every process
serves Slack. `Leadership` is how leading is decided:

    SingleProcess      SQLite: the one process always leads
    AdvisoryLock       PostgreSQL: a session advisory lock held on a connection of its own
                       (outside the store's pool); a replica that does not lead tries again
                       every `leader_retry` seconds, so one takes over within that time of
                       the leader's connection dropping (a process killed: the server drops
                       its connection at once; a host lost: TCP keepalives, below, notice)

`Leader` runs the loop: when leadership is gained it starts the scheduler (with its start-up
catch-up), resumes the stored watches and recovers stale claims; while it leads it polls, every
`sync_interval` seconds, the subscriptions change counter (a subscription added or changed on
any replica reaches the scheduler within seconds), the watches table (a watch started on
another replica) and the claims; when leadership is lost it stops all of that at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from bot import approval_expiry, recovery
from bot.store import advisory

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

log = logging.getLogger(__name__)


class Leadership(ABC):
    """Whether this process may run the scheduler."""

    @abstractmethod
    async def acquire(self) -> bool:
        """Try once, without waiting; True when this process now leads."""

    @abstractmethod
    async def held(self) -> bool:
        """Whether this process still leads (a lost connection loses a lock)."""

    @abstractmethod
    async def release(self) -> None:
        """Stop leading, so another process can take over at once."""


class SingleProcess(Leadership):
    """The embedded SQLite default: one process, which always leads."""

    async def acquire(self) -> bool:
        return True

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


# Any 64-bit number of our own: the scheduler's advisory lock ("SWLEAD").
LEADER_LOCK = 0x5357_4C45_4144
# TCP keepalives on the lock's connection, on both ends: the server drops the session of a
# leader whose host vanished (no FIN, no RST), releasing the lock, within about idle +
# interval * count seconds, well under 30 s (the server's own default is two hours); the
# client notices a server that vanished as fast.
KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3",
}


class AdvisoryLock(Leadership):
    """PostgreSQL: whoever holds `pg_try_advisory_lock(LEADER_LOCK)` leads. The lock lives
    as long as its session, so a dead leader's lock is released by the server when its
    connection drops, and another replica's next try succeeds."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self._conn: Any = None

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            import psycopg

            self._conn = await psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                connect_timeout=int(self.timeout),
                application_name="switchboard-leader",
                **KEEPALIVE,
            )
        return self._conn

    async def _drop(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:
                pass
            self._conn = None

    async def acquire(self) -> bool:
        try:
            conn = await self._connection()
            return await asyncio.wait_for(advisory.try_lock(conn, LEADER_LOCK), self.timeout)
        except Exception as error:  # the database is unreachable: not leading, try later
            log.warning("leadership: cannot reach PostgreSQL (%s)", type(error).__name__)
            await self._drop()
            return False

    async def held(self) -> bool:
        """The lock is the session's: held while this very connection is alive and holds it
        (never a new connection: that one would not hold the lock)."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            return await asyncio.wait_for(advisory.holds(self._conn, LEADER_LOCK), self.timeout)
        except Exception as error:
            log.warning("leadership: the lock's connection failed (%s)", type(error).__name__)
            await self._drop()
            return False

    async def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                await asyncio.wait_for(advisory.unlock(self._conn, LEADER_LOCK), self.timeout)
            except Exception:
                pass  # closing the session below releases it anyway
        await self._drop()


def leadership_for(settings: Settings) -> Leadership:
    """SQLite: this process leads; PostgreSQL: the advisory lock decides."""
    if settings.uses_postgresql:
        return AdvisoryLock(str(settings.database))
    return SingleProcess()


class Leader:
    def __init__(
        self, leadership: Leadership, *, retry: float, sync_interval: float, claim_interval: float
    ) -> None:
        self._services: Services | None = None
        self.leadership = leadership
        self.retry = retry
        self.sync_interval = sync_interval
        self.claim_interval = claim_interval
        self.leading = False
        self._duties: asyncio.Task[None] | None = None
        self._loop: asyncio.Task[None] | None = None

    def attach(self, services: Services) -> None:
        self._services = services

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the leader is not attached to services")
        return self._services

    def start(self) -> None:
        """Begin trying to lead (in the background)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                if not self.leading:
                    if await self.leadership.acquire():
                        await self._gained()
                elif not await self.leadership.held():
                    log.warning("leadership lost: the scheduler stops here")
                    await self._lost()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leadership check failed")
            await asyncio.sleep(self.retry)

    async def _gained(self) -> None:
        self.leading = True
        log.info("this process leads: scheduler, watches and claim recovery run here")
        services = self.services
        if services.scheduler is not None:
            try:
                await services.scheduler.start()
            except Exception:
                log.exception("the scheduler did not start; digests and alerts are off")
        await services.watches.lead()
        self._duties = asyncio.get_running_loop().create_task(self._duty_loop())

    async def _lost(self, drain: float = 0.0) -> None:
        self.leading = False
        if self._duties is not None:
            self._duties.cancel()
            await asyncio.gather(self._duties, return_exceptions=True)
            self._duties = None
        await self.services.watches.stand_down()
        if self.services.scheduler is not None:
            await self.services.scheduler.shutdown(drain)

    async def _duty_loop(self) -> None:
        services = self.services
        next_claims = 0.0
        while True:
            try:
                if services.scheduler is not None:
                    await services.scheduler.sync()
                await services.watches.sweep()
                if time.monotonic() >= next_claims:
                    next_claims = time.monotonic() + self.claim_interval
                    await recovery.recover_claims(services)
                    await approval_expiry.sweep(services)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("a leader duty failed; trying again in %s s", self.sync_interval)
            await asyncio.sleep(self.sync_interval)

    async def stop(self, drain: float = 0.0) -> None:
        """Stop leading (SIGTERM, shutdown): digest and alert runs in flight get `drain`
        seconds to finish, watches stop (their rows stay), then the role is released so
        another process can take over at once."""
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        if self.leading:
            await self._lost(drain)
            try:
                await self.leadership.release()
            except Exception:
                log.exception("could not release leadership")
