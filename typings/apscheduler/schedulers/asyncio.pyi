from asyncio import AbstractEventLoop
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

from apscheduler.triggers.base import BaseTrigger

class Job:
    id: str
    name: str

class AsyncIOScheduler:
    running: bool
    def __init__(
        self,
        *,
        event_loop: AbstractEventLoop | None = None,
        timezone: tzinfo | str | None = None,
        job_defaults: dict[str, Any] | None = None,
    ) -> None: ...
    def start(self, paused: bool = False) -> None: ...
    def shutdown(self, wait: bool = True) -> None: ...
    def add_job(
        self,
        func: Callable[..., Any],
        trigger: BaseTrigger | str | None = None,
        args: Sequence[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        id: str | None = None,
        name: str | None = None,
    ) -> Job: ...
    def get_job(self, job_id: str) -> Job | None: ...
    def get_jobs(self) -> list[Job]: ...
    def remove_job(self, job_id: str) -> None: ...
