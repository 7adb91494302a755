"""Posting digests and alerts exactly once per run, under Slack's rate limits.

Exactly once. Every run has a ledger row (bot/store/deliveries.py) keyed by (subscription,
run time) — or (subscription, "item:<key>") for an alert item — that moves
pending → posting → delivered(ts):

1. The row is created pending (insert-or-ignore: a second runner of the same run finds it),
   and a digest's row is claimed (composing, with the claiming process) before its sections
   are composed: an old and a new leader never both call the platforms for one run.
2. Just before chat.postMessage the row moves to posting, committed, in one conditional
   UPDATE (only one runner wins: for a digest, only the process holding the claim). The
   channel id is resolved first (a DM is opened) and stored with it.
3. The message carries Slack message metadata: event_type "switchboard_digest", payload
   {subscription, run}. On success the row becomes delivered with the ts.

A process killed between 2 and 3 leaves a posting row. At start-up (and after a lost HTTP
answer) the poster waits until the interrupted request cannot still land (`settle` seconds
after posting began, longer than the Web API client's timeout), then reads the channel's
history from that moment (conversations.history, include_all_metadata) for a message with
that metadata: found → delivered with its ts; not found → posted now. A pending row was never
posted and is simply posted. So a run is never posted twice, and never lost. A reply in an
alert's thread (`thread_ts`, bot/alert_threads.py) is looked for in that thread
(conversations.replies), where Slack keeps it.

Rate limits. Posts are paced per channel (`channel_interval`, ~1 message a second as Slack
allows) and share a workspace budget (`per_minute`, a sliding window). A digest's pictures,
uploaded after its text, are paced on a budget of their own (`uploads_per_minute`). A 429 is
waited out for its Retry-After and retried, as often as Slack asks: nothing is dropped. The
poster uses its own Web API client without the SDK's retry handlers, so no retry happens
behind its back (a connection retry after a lost answer could post twice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store import Store
from bot.store import deliveries as ledger
from bot.store.engine import Db

log = logging.getLogger(__name__)

EVENT_TYPE = "switchboard_digest"


@dataclass(frozen=True)
class Outgoing:
    subscription_id: int
    run: str  # the ledger key: an ISO run time, or "item:<key>"
    destination: str  # a channel id, or the owner's user id (their DM)
    text: str
    blocks: list[dict[str, Any]]
    # A reply in this thread (the parent's ts) rather than a message of its own; `broadcast`
    # shows the reply in the channel as well (reply_broadcast).
    thread_ts: str = ""
    broadcast: bool = False
    # What else the delivery records, fn(db, channel, ts), in the same store call that marks
    # the run delivered (approval copies, the subscription's last run): one hop per digest.
    after: Callable[[Db, str, str], None] | None = field(default=None, compare=False)


# Slack counts a post in its one-minute window when the post arrives, a moment after this
# process let it go. Keeping each post in our window this much longer than a minute means the
# post a minute later is not refused at the window's edge: at 1,000 digests, 170 posts got a
# 429 there (and a second's wait each) before.
WINDOW_EDGE = 1.0


class Pacer:
    """Per-channel spacing and a workspace-wide sliding-minute budget.

    While the budget is spent, waiters queue on one lock and only the first sleeps until a
    slot frees: each freed slot wakes one waiter, in order, not all of them (a thousand
    digests waiting for the window used to wake a thousand times per slot). A wait for one
    channel's spacing is done outside the lock, so other channels go meanwhile."""

    def __init__(
        self,
        *,
        channel_interval: float,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.channel_interval = channel_interval
        self.per_minute = max(1, per_minute)
        self.clock = clock
        self.sleep = sleep  # with `clock`: a test's own time
        self._next: dict[str, float] = {}
        self._window: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def wait(self, channel: str) -> None:
        span = 60.0 + WINDOW_EDGE
        while True:
            async with self._lock:
                while True:
                    now = self.clock()
                    while self._window and now - self._window[0] >= span:
                        self._window.popleft()
                    if len(self._window) < self.per_minute:
                        break
                    await self.sleep(self._window[0] + span - now)
                wait = self._next.get(channel, 0.0) - now
                if wait <= 0:
                    self._next[channel] = now + self.channel_interval
                    self._window.append(now)
                    return
            await self.sleep(wait)

    def hold(self, channel: str, seconds: float) -> None:
        """Slack said wait (429): nobody posts to this channel before then."""
        self._next[channel] = max(self._next.get(channel, 0.0), self.clock() + seconds)


class Poster:
    def __init__(
        self,
        *,
        store: Store,
        token: str | None,
        base_url: str,
        now: Callable[[], datetime],
        channel_interval: float,
        per_minute: int,
        settle: float,
        uploads_per_minute: int = 100,
        timeout: float = 30.0,
        owner: str = "",
    ) -> None:
        self.store = store
        self.owner = owner  # this process, as it claims digest runs (bot.store.deliveries)
        self.now = now
        self.settle = settle
        self.client = AsyncWebClient(token=token, base_url=base_url, timeout=int(timeout))
        self.client.retry_handlers = []  # 429s and lost answers are handled here
        self.pacer = Pacer(channel_interval=channel_interval, per_minute=per_minute)
        # A digest's pictures (bot.digests.pictures) go through Slack's file methods, which
        # have rate limits of their own: a budget of their own here, so no digest's text
        # waits behind another digest's pictures.
        self.uploads = Pacer(channel_interval=channel_interval, per_minute=uploads_per_minute)
        self._dms: dict[str, str] = {}
        self._inflight: set[tuple[int, str]] = set()

    async def channel_id(self, destination: str) -> str:
        """A DM for a user id (U…/W…), else the channel id itself."""
        if destination[:1] not in ("U", "W"):
            return destination
        if destination not in self._dms:
            response = await self._call("conversations_open", destination, users=destination)
            self._dms[destination] = response["channel"]["id"]
        return self._dms[destination]

    async def deliver(self, out: Outgoing) -> str | None:
        """Post once (see the module docstring). Returns the ts, or None when another
        runner owns this run or it was already delivered."""
        key = (out.subscription_id, out.run)
        if key in self._inflight:
            return None
        self._inflight.add(key)
        try:
            return await self._deliver(out)
        finally:
            self._inflight.discard(key)

    async def _deliver(self, out: Outgoing) -> str | None:
        row = await self.store.run(ledger.get, out.subscription_id, out.run)
        if row is not None and row["state"] in ledger.FINAL:
            return row["ts"] or None
        if row is not None and row["state"] == ledger.POSTING:
            return await self.recover(row, out)
        channel = await self.channel_id(out.destination)
        started = self.now().isoformat()
        if not await self.store.run(
            ledger.begin_posting, out.subscription_id, out.run, channel, started, self.owner
        ):
            return None
        return await self._post(out, channel, started)

    async def recover(self, row: dict[str, Any], out: Outgoing) -> str | None:
        """A run left in `posting` by a crash (or a lost answer): find it in the channel's
        history once the interrupted request can no longer land; post it if absent."""
        started = datetime.fromisoformat(row["posting_at"])
        channel = row["channel"] or await self.channel_id(out.destination)
        wait = (started + timedelta(seconds=self.settle) - self.now()).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        ts = await self.find_posted(
            channel, out.subscription_id, out.run, started, thread_ts=out.thread_ts
        )
        if ts is not None:
            await self._delivered(out, channel, ts, detail="found in history")
            return ts
        return await self._post(out, channel, row["posting_at"])

    async def _delivered(self, out: Outgoing, channel: str, ts: str, detail: str = "") -> None:
        at = self.now().isoformat()

        def record(db: Db) -> None:
            ledger.finish(
                db, out.subscription_id, out.run, ledger.DELIVERED, ts=ts, at=at, detail=detail
            )
            if out.after is not None:
                out.after(db, channel, ts)

        await self.store.run(record)

    async def find_posted(
        self, channel: str, sub_id: int, run: str, since: datetime, *, thread_ts: str = ""
    ) -> str | None:
        oldest = f"{since.timestamp() - 5:.6f}"
        cursor = None
        # A thread reply is in its thread; the channel's history holds only broadcast ones.
        method = "conversations_replies" if thread_ts else "conversations_history"
        for _ in range(50):
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": oldest,
                "limit": 200,
                "include_all_metadata": True,
            }
            if thread_ts:
                args["ts"] = thread_ts
            if cursor:
                args["cursor"] = cursor
            response = await self._call(method, channel, **args)
            for message in response.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if (
                    meta.get("event_type") == EVENT_TYPE
                    and str(payload.get("subscription")) == str(sub_id)
                    and payload.get("run") == run
                ):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return None
        return None

    async def _post(self, out: Outgoing, channel: str, started: str) -> str:
        metadata = {
            "event_type": EVENT_TYPE,
            "event_payload": {"subscription": out.subscription_id, "run": out.run},
        }
        thread: dict[str, Any] = (
            {"thread_ts": out.thread_ts, "reply_broadcast": out.broadcast} if out.thread_ts else {}
        )
        while True:
            await self.pacer.wait(channel)
            try:
                response = await self._call(
                    "chat_postMessage",
                    channel,
                    channel=channel,
                    text=out.text,
                    blocks=out.blocks,
                    metadata=metadata,
                    unfurl_links=False,
                    **thread,
                )
            except (TimeoutError, OSError) as error:
                # The answer was lost: it may or may not have been posted. Look, then decide.
                log.warning(
                    "chat.postMessage for %s/%s lost its answer (%s)",
                    out.subscription_id,
                    out.run,
                    type(error).__name__,
                )
                row = await self.store.run(ledger.get, out.subscription_id, out.run)
                ts = await self.recover(row, out) if row else None
                if ts is None:
                    raise
                return ts
            ts = str(response["ts"])
            await self._delivered(out, channel, ts)
            return ts

    async def blocks_of(self, channel: str, ts: str) -> list[dict[str, Any]] | None:
        """A message's blocks as Slack shows it now (a thread's parent: the first message
        conversations.replies gives), or None when Slack does not give it."""
        response = await self._call(
            "conversations_replies", channel, channel=channel, ts=ts, limit=1, inclusive=True
        )
        for message in response.get("messages") or []:
            if message.get("ts") == ts:
                found = message.get("blocks")
                return list(found) if found else None
        return None

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """chat.update a message this poster posted, paced like a post (429s waited out).
        Idempotent: the caller records it done afterwards, and does it again if that fails."""
        await self.pacer.wait(channel)
        await self._call("chat_update", channel, channel=channel, ts=ts, text=text, blocks=blocks)

    async def _call(self, method: str, pace_key: str, /, **args: Any) -> Any:
        """One Web API call; 429 → wait Retry-After (the channel is held), then again."""
        while True:
            try:
                return await getattr(self.client, method)(**args)
            except SlackApiError as error:
                if error.response.status_code != 429:
                    raise
                retry_after = float(
                    error.response.headers.get("retry-after")
                    or error.response.headers.get("Retry-After")
                    or 1
                )
                self.pacer.hold(pace_key, retry_after)
                await asyncio.sleep(retry_after)

    async def mark_failed(self, sub_id: int, run: str, detail: str) -> None:
        await self.store.run(
            ledger.finish, sub_id, run, ledger.FAILED, at=self.now().isoformat(), detail=detail
        )
