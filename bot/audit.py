"""Writing and reading the audit trail (every state change, its actor and its result)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.store import Store
from bot.store import audit as audit_rows


class Audit:
    def __init__(self, *, store: Store, now: Callable[[], datetime]) -> None:
        self.store = store
        self._now = now

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
