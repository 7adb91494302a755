"""Work that goes on after Slack has its ack: a command's or a click's task, started by the
listener, which returns at once so the HTTP 200 leaves without waiting for it.

The tasks are held here (the event loop keeps only weak references to tasks) so that none is
collected mid-flight, and so that shutdown can let them finish for a moment, then cancel the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def aclose(self, grace: float = 5.0) -> None:
        """Let work in flight finish for up to `grace` seconds; cancel what is left."""
        tasks = list(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("shutdown cancelled %d command(s) still running", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)
