"""`/readyz`: whether this replica should get traffic, for a load balancer or an orchestrator.

    {"ready": true, "database": true, "migrations": true, "slack": true, "leader": true,
     "draining": false}

ready = the database answers, its schema is the code's (no migration pending), Slack accepted
the bot token (auth.test, remembered for a while so a probe every second costs Slack nothing),
and the process is not shutting down. `leader` says whether this replica runs the scheduler;
it does not affect readiness (every replica serves Slack).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.store import migrations

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

# How long an auth.test answer is trusted: a good one for longer than a failure.
SLACK_OK_SECONDS, SLACK_FAILED_SECONDS = 60.0, 5.0
CHECK_TIMEOUT = 5.0


class Readiness:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._slack: tuple[float, bool] | None = None  # (checked at, ok)
        self._lock = asyncio.Lock()

    async def check(self) -> dict[str, Any]:
        database = schema = False
        try:
            database, schema = await asyncio.wait_for(
                self.services.store.run(migrations.schema_current), CHECK_TIMEOUT
            )
        except Exception as error:
            log.warning("readiness: the database did not answer (%s)", type(error).__name__)
        slack = await self._slack_ok()
        draining = self.services.draining.is_set()
        leader = self.services.leader
        return {
            "ready": database and schema and slack and not draining,
            "database": database,
            "migrations": schema,
            "slack": slack,
            "leader": bool(leader is not None and leader.leading),
            "draining": draining,
        }

    async def _slack_ok(self) -> bool:
        async with self._lock:  # many probes at once make one auth.test
            if self._slack is not None:
                at, ok = self._slack
                if time.monotonic() - at < (SLACK_OK_SECONDS if ok else SLACK_FAILED_SECONDS):
                    return ok
            try:
                response = await asyncio.wait_for(self.services.slack.auth_test(), CHECK_TIMEOUT)
                ok = bool(response.get("ok"))
            except (TimeoutError, SlackApiError, OSError) as error:
                log.warning("readiness: Slack auth.test failed (%s)", type(error).__name__)
                ok = False
            self._slack = (time.monotonic(), ok)
            return ok
