"""Background watches: poll something until it ends, then tell the person in a DM.

Used by `/dss future <id> watch`, `/dss run`, `/squonk watch` and the like. A poll returns
None while the thing runs, or the message to send when it has ended. Platform outages are
waited out (the next poll may succeed); a refused credential ends the watch with one DM
saying how to re-link. Watches live in memory: a restart forgets them (the scheduler's
alerts are the durable way to be told).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import errors, messages

if TYPE_CHECKING:
    from bot.installation import Installation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    text: str
    blocks: list[dict[str, Any]] | None = None


Poll = Callable[[], Awaitable[Done | None]]


class Watches:
    def __init__(self, *, slack: AsyncWebClient, interval: float, timeout: float,
                 installation: Installation | None = None) -> None:
        self.slack = slack
        self.installation = installation
        self.interval = interval
        self.timeout = timeout
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, key: str, *, user_id: str, poll: Poll, label: str) -> bool:
        """Start watching; False when this person already watches the same thing."""
        key = f"{user_id}:{key}"
        if key in self._tasks and not self._tasks[key].done():
            return False
        task = asyncio.get_running_loop().create_task(self._run(key, user_id, poll, label))
        self._tasks[key] = task
        return True

    def active(self) -> int:
        return sum(1 for t in self._tasks.values() if not t.done())

    async def _run(self, key: str, user_id: str, poll: Poll, label: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            while loop.time() < deadline:
                try:
                    done = await poll()
                except errors.Unavailable:
                    done = None  # an outage: try again at the next interval
                except errors.BotError as error:
                    await self._dm(user_id, f"I stopped watching {label}: "
                                   f"{messages.for_error(error)}")
                    return
                if done is not None:
                    await self._dm(user_id, done.text, done.blocks)
                    return
                await asyncio.sleep(self.interval)
            await self._dm(user_id, f"I stopped watching {label}: it was still running after "
                           f"{self.timeout / 3600:g} h.")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watch %s failed", key)
        finally:
            self._tasks.pop(key, None)

    async def _dm(self, user_id: str, text: str,
                  blocks: list[dict[str, Any]] | None = None) -> None:
        if self.installation is not None and not await self.installation.can_post():
            log.info("a watch's message was not sent: posting to Slack is paused (%s)",
                     self.installation.paused)
            return
        await self.slack.chat_postMessage(channel=user_id, text=text, blocks=blocks)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
