"""Writing and reading the audit trail (every state change, its actor and its result)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from bot.store import Store
from bot.store import audit as audit_rows


class Audit:
    def __init__(self, *, store: Store, now: Callable[[], datetime]) -> None:
        self.store = store
        self._now = now

    @contextlib.asynccontextmanager
    async def outcome(
        self, *, user_id: str, action: str, platform: str, instance: str, target: str
    ) -> AsyncIterator[None]:
        """Record the platform call made inside the block by how it ended: "ok", or the name
        of the error it raised (raised on). A cancelled call records nothing: its outcome is
        not known."""
        where = {
            "user_id": user_id,
            "action": action,
            "platform": platform,
            "instance": instance,
            "target": target,
        }
        try:
            yield
        except Exception as error:
            await self.record(**where, result=type(error).__name__)
            raise
        await self.record(**where)

    async def record(
        self,
        *,
        user_id: str,
        action: str,
        platform: str = "",
        instance: str = "",
        target: str = "",
        result: str = "ok",
        detail: str = "",
    ) -> None:
        await self.store.run(
            audit_rows.record,
            {
                "at": self._now().isoformat(timespec="seconds"),
                "user_id": user_id,
                "action": action,
                "platform": platform,
                "instance": instance,
                "target": target,
                "result": result,
                "detail": detail[:500],
            },
        )

    async def latest(self, n: int) -> list[dict[str, Any]]:
        return await self.store.run(audit_rows.latest, n)
