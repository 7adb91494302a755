"""Background watches: poll something until it ends, then tell the person in a DM, once.

Used by `/dss future <id> watch`, `/dss run`, `/squonk watch` and the like. A watch is a row
(bot/store/watches.py) naming a *kind* and its parameters, so the process that leads the
scheduler (bot/leader.py) can resume it after a restart or a failover: each kind registers,
with `@watch_kind("dss.future")`, how to build its poll from the stored parameters (the person's
credential is read afresh). A poll returns None while the thing runs, or the message to send
when it has ended.

Exactly one "ended" message: the message is recorded in the row first (watching → ending),
the row moves to posting (committed) just before chat.postMessage, whose message carries
metadata naming the watch, then to done. A process killed in between leaves a posting row:
the next leader waits until the interrupted request cannot still land, looks for the
message in the DM's history, and posts it only if absent (the digest ledger's way).

Platform outages are waited out (the next poll may succeed); a refused credential ends the
watch with one DM saying how to re-link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import errors, messages
from bot.store import Store
from bot.store import watches as rows

if TYPE_CHECKING:
    from bot.installation import Installation
    from bot.services import Services

log = logging.getLogger(__name__)

EVENT_TYPE = "switchboard_watch"


@dataclass(frozen=True)
class Done:
    text: str
    blocks: list[dict[str, Any]] | None = None


Poll = Callable[[], Awaitable[Done | None]]
# Builds the poll of a stored watch: (services, user id, stored parameters) -> poll.
PollMaker = Callable[["Services", str, dict[str, Any]], Awaitable[Poll]]
KINDS: dict[str, PollMaker] = {}


def watch_kind(name: str) -> Callable[[PollMaker], PollMaker]:
    """Register how a kind of watch is polled: `@watch_kind("dss.future")`."""

    def register(maker: PollMaker) -> PollMaker:
        KINDS[name] = maker
        return maker

    return register


class Watches:
    def __init__(
        self,
        *,
        store: Store,
        slack: AsyncWebClient,
        interval: float,
        timeout: float,
        now: Callable[[], datetime],
        settle: float,
        installation: Installation | None = None,
    ) -> None:
        self.store = store
        self.installation = installation
        self.interval = interval
        self.timeout = timeout
        self.now = now
        self.settle = settle
        # Its own client with no retry handler: a retry after a lost answer could post twice.
        self.slack = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        self.slack.retry_handlers = []
        self.services: Services | None = None
        self.leading = False
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def attach(self, services: Services) -> None:
        self.services = services

    async def start(
        self, key: str, *, user_id: str, kind: str, params: dict[str, Any], label: str
    ) -> bool:
        """Record a watch (run here if this process leads, else by the leader within
        seconds); False when this person already watches the same thing."""
        if kind not in KINDS:
            raise ValueError(f"unknown watch kind {kind!r}")
        now = self.now()
        watch_id = f"{user_id}:{key}"
        row = {
            "id": watch_id,
            "user_id": user_id,
            "kind": kind,
            "params": params,
            "label": label,
            "started_at": now.isoformat(),
            "deadline": (now + timedelta(seconds=self.timeout)).isoformat(),
        }
        if not await self.store.run(rows.start, row):
            return False
        if self.leading:
            self._spawn(watch_id)
        return True

    def active(self) -> int:
        return sum(1 for t in self._tasks.values() if not t.done())

    # -- leadership --------------------------------------------------------------------------
    async def lead(self) -> None:
        """This process now leads: resume every stored watch."""
        self.leading = True
        await self.sweep()

    async def sweep(self) -> None:
        """Run every live watch not running here (started on another replica, or left by a
        process that stopped). The leader calls this every few seconds."""
        if not self.leading:
            return
        for row in await self.store.run(rows.live):
            if row["id"] not in self._tasks:
                self._spawn(row["id"])

    async def stand_down(self) -> None:
        """Leadership lost (or shutting down): stop polling here; the rows stay."""
        self.leading = False
        await self.aclose()

    def _spawn(self, watch_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(watch_id))
        self._tasks[watch_id] = task
        task.add_done_callback(
            lambda t: self._tasks.pop(watch_id, None) if self._tasks.get(watch_id) is t else None
        )

    # -- one watch ---------------------------------------------------------------------------
    async def _run(self, watch_id: str) -> None:
        try:
            row = await self.store.run(rows.get, watch_id)
            if row is None or row["state"] == rows.DONE:
                return
            if row["state"] == rows.WATCHING:
                done = await self._watch(row)
                await self.store.run(
                    rows.ended,
                    watch_id,
                    {"text": done.text, "blocks": done.blocks},
                    self.now().isoformat(),
                )
                row = await self.store.run(rows.get, watch_id)
                if row is None:
                    return
            await self._deliver(row)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watch %s failed", watch_id)

    async def _watch(self, row: dict[str, Any]) -> Done:
        """Poll until the thing ends, the credential is refused, or the deadline passes."""
        label = row["label"]
        deadline = datetime.fromisoformat(row["deadline"])
        assert self.services is not None, "watches are not attached to services"
        try:
            poll = await KINDS[row["kind"]](self.services, row["user_id"], row["params"])
        except errors.BotError as error:
            return Done(f"I stopped watching {label}: {messages.for_error(error)}")
        while self.now() < deadline:
            try:
                done = await poll()
            except errors.Unavailable:
                done = None  # an outage: try again at the next interval
            except errors.BotError as error:
                return Done(f"I stopped watching {label}: {messages.for_error(error)}")
            if done is not None:
                return done
            await asyncio.sleep(self.interval)
        return Done(
            f"I stopped watching {label}: it was still running after {self.timeout / 3600:g} h."
        )

    async def _deliver(self, row: dict[str, Any]) -> None:
        """Post the recorded message once (see the module docstring)."""
        message = row["message"] or {}
        if self.installation is not None and not await self.installation.can_post():
            log.info(
                "a watch's message was not sent: posting to Slack is paused (%s)",
                self.installation.paused,
            )
            await self.store.run(rows.done, row["id"])
            return
        if row["state"] == rows.ENDING:
            channel = await self._dm_channel(row["user_id"])
            started = self.now().isoformat()
            if not await self.store.run(rows.begin_posting, row["id"], channel, started):
                return
        else:  # posting: a previous attempt may have landed
            channel, started = row["channel"], row["posting_at"]
            began = datetime.fromisoformat(started)
            wait = (began + timedelta(seconds=self.settle) - self.now()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            if await self._find_posted(channel, row, began):
                await self.store.run(rows.done, row["id"])
                return
        try:
            await self.slack.chat_postMessage(
                channel=channel,
                text=message.get("text") or "",
                blocks=message.get("blocks"),
                metadata={"event_type": EVENT_TYPE, "event_payload": _payload(row)},
                unfurl_links=False,
            )
        except SlackApiError as error:
            if error.response.status_code == 429:
                return  # left posting: the next sweep looks, then posts
            log.warning(
                "the ended message of watch %s was refused: %s",
                row["id"],
                error.response.get("error"),
            )
        await self.store.run(rows.done, row["id"])

    async def _dm_channel(self, user_id: str) -> str:
        response = await self.slack.conversations_open(users=user_id)
        return str(response["channel"]["id"])

    async def _find_posted(self, channel: str, row: dict[str, Any], since: datetime) -> bool:
        cursor = None
        for _ in range(20):
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": f"{since.timestamp() - 5:.6f}",
                "limit": 200,
                "include_all_metadata": True,
            }
            if cursor:
                args["cursor"] = cursor
            response = await self.slack.conversations_history(**args)
            for found in response.get("messages") or []:
                meta = found.get("metadata") or {}
                if meta.get("event_type") == EVENT_TYPE and meta.get("event_payload") == _payload(
                    row
                ):
                    return True
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return False
        return False

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    # The round (its start time) tells this message from an earlier watch of the same thing.
    return {"watch": row["id"], "started": row["started_at"]}
