"""Alerts that converse: one parent message per subject, later facts in its thread.

An alert source returns, each poll, the items worth telling now (bot/digests/base.py). The
first item about a subject (`subject`, else `key`) is posted as a parent message, its state
line showing `state`; the parent's channel and ts are stored (bot/store/alert_threads.py), so
a restarted bot finds it. Later:

- the subject's `state` changed: the item is posted as a reply in the parent's thread
  (`thread_ts`), broadcast to the channel too when it is a failure (`failed`), and the parent's
  state line is updated in place (chat.update);
- the subject is no longer returned and its last item said what that means (`gone`, e.g.
  "cleared"): a reply says so, the parent shows it, and the thread is closed;
- nothing changed: nothing is posted.

A fact snoozed or muted when it happens (bot.alert_mutes) is not told, then or later. The parent
carries the Snooze and Mute buttons (bot.blocks.alert_controls); replies do not.

Every message goes through the delivery ledger (bot/digests/delivery.py) exactly once: the
parent under `item:<key>` as before, reply n under `item:<subject>#<n>:<state>`. The thread row
is written with the ledger's `delivered`; if a crash falls between the two, the next poll finds
the ledger delivered and records the thread's step without posting again. The parent's update
is idempotent and retried on the next poll until it lands (`shown` behind `state`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import alert_mutes
from bot.blocks import threads as blocks
from bot.blocks.alert_controls import with_controls
from bot.digests.base import AlertItem, Block
from bot.digests.delivery import Outgoing, Poster
from bot.store import alert_threads as threads
from bot.store import approvals as approval_rows
from bot.store import deliveries as ledger
from bot.store.engine import Db

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

# A thread whose parent carries approvals that were settled here: the card says by whom and
# how, so the platform no longer listing it is no news: no reply, the state line says this.
SETTLED_HERE = "settled here"


@dataclass(frozen=True)
class Fact:
    """One reply to tell in a thread."""

    state: str
    text: str
    blocks: list[Block]
    failed: bool = False
    gone: str | None = None  # what the subject's absence will mean after this fact
    open: bool = True  # False: the subject is gone, its thread closed
    approvals: tuple[str, ...] = ()


class Conversation:
    """One poll of one alert subscription: what to post, reply and update."""

    def __init__(self, services: Services, poster: Poster, row: dict[str, Any]) -> None:
        self.services = services
        self.poster = poster
        self.row = row
        self.sub_id: int = row["id"]
        self.destination: str = row["channel"] or row["owner"]
        self.now = services.now()

    def _at(self) -> str:
        return self.services.now().isoformat(timespec="seconds")

    async def tell(self, items: list[AlertItem]) -> int:
        """Post what is new in `items`; returns how many messages were posted."""
        store = self.services.store
        posted = 0
        present: set[str] = set()
        for item in items:
            subject = item.subject or item.key
            if subject in present:
                continue
            present.add(subject)
            thread = await store.run(threads.get, self.sub_id, subject)
            try:
                news = thread is None or bool(item.state and item.state != thread["state"])
                # Snoozed or muted (bot.alert_mutes): this fact stays untold.
                if news and await alert_mutes.silenced(self.services, self.row, item, self.now):
                    continue
                if thread is None:
                    posted += await self._parent(item, subject)
                elif news:
                    fact = Fact(
                        state=item.state,
                        text=item.text,
                        blocks=item.blocks,
                        failed=item.failed,
                        gone=item.gone,
                        approvals=tuple(item.approvals),
                    )
                    posted += await self._reply(thread, fact)
                elif item.gone != thread["gone"] or not thread["open"]:
                    await store.run(threads.still, self.sub_id, subject, item.gone)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alert %s item %s failed", self.sub_id, item.key)
        for thread in await store.run(threads.following, self.sub_id):
            if thread["subject"] in present:
                continue
            try:
                if thread["approvals"] and await self._settled_here(thread["approvals"]):
                    await store.run(
                        threads.closed, self.sub_id, thread["subject"], SETTLED_HERE, self._at()
                    )
                    continue
                fact = self._gone(thread)
                absent = AlertItem(
                    key=thread["subject"],
                    text=fact.text,
                    blocks=fact.blocks,
                    subject=thread["subject"],
                    kind=thread["kind"] or "",
                    state=fact.state,
                )
                if await alert_mutes.silenced(self.services, self.row, absent, self.now):
                    continue
                posted += await self._reply(thread, fact)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alert %s subject %s gone failed", self.sub_id, thread["subject"])
        for thread in await store.run(threads.unshown, self.sub_id):
            await self._show(thread)
        return posted

    # -- the parent ------------------------------------------------------------------------
    async def _parent(self, item: AlertItem, subject: str) -> int:
        key = f"item:{item.key}"
        now, at = self.services.now(), self._at()
        stated = blocks.with_state(item.blocks, item.state, now) if item.state else item.blocks
        drawn = with_controls(self.sub_id, dataclasses.replace(item, blocks=stated))
        started = {
            "subscription_id": self.sub_id,
            "subject": subject,
            "text": item.text,
            "blocks": drawn,
            "approvals": item.approvals,
            "state": item.state,
            "gone": item.gone,
            "kind": item.kind,
            "at": at,
        }

        def record(db: Db, channel: str, ts: str) -> None:
            if item.approvals:
                approval_rows.add_copies(db, item.approvals, channel, ts, drawn, at)
            threads.started(db, {**started, "channel": channel, "ts": ts})

        entry = await self.services.store.run(ledger.open_run, self.sub_id, key, "alert")
        if entry["state"] in ledger.FINAL:
            # Posted before threads were kept (or a crash fell between the ledger and the
            # thread): the parent is the ledger's message.
            if entry["state"] == ledger.DELIVERED and entry["ts"] and entry["channel"]:
                await self.services.store.run(
                    threads.started, {**started, "channel": entry["channel"], "ts": entry["ts"]}
                )
            return 0
        try:
            ts = await self.poster.deliver(
                Outgoing(self.sub_id, key, self.destination, item.text, drawn, after=record)
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            await self.poster.mark_failed(self.sub_id, key, "post failed")
            raise
        return 1 if ts is not None else 0

    # -- a reply ---------------------------------------------------------------------------
    async def _reply(self, thread: dict[str, Any], fact: Fact) -> int:
        n = thread["facts"] + 1
        subject = thread["subject"]
        key = f"item:{subject}#{n}:{fact.state}"
        at = self._at()

        def record(db: Db, channel: str, ts: str) -> None:
            if fact.approvals:
                approval_rows.add_copies(db, list(fact.approvals), channel, ts, fact.blocks, at)
            threads.advanced(
                db,
                self.sub_id,
                subject,
                fact=n,
                state=fact.state,
                gone=fact.gone,
                open_=fact.open,
                at=at,
            )

        entry = await self.services.store.run(ledger.open_run, self.sub_id, key, "alert")
        if entry["state"] in ledger.FINAL:
            if entry["state"] == ledger.DELIVERED:
                await self.services.store.run(record, entry["channel"], entry["ts"])
                await self._show({**thread, "state": fact.state})
            return 0
        try:
            ts = await self.poster.deliver(
                Outgoing(
                    self.sub_id,
                    key,
                    thread["channel"],
                    fact.text,
                    fact.blocks,
                    thread_ts=thread["ts"],
                    broadcast=fact.failed,
                    after=record,
                )
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            await self.poster.mark_failed(self.sub_id, key, "post failed")
            raise
        if ts is None:
            return 0
        await self._show({**thread, "state": fact.state})
        return 1

    def _gone(self, thread: dict[str, Any]) -> Fact:
        words = str(thread["gone"])
        text, drawn = blocks.gone_reply(words, thread["text"] or "", self.services.now())
        return Fact(state=words, text=text, blocks=drawn, open=False)

    async def _settled_here(self, approvals: list[str]) -> bool:
        def acted(db: Db) -> bool:
            found = []
            for approval_id in approvals:
                try:
                    found.append(approval_rows.get(db, approval_id))
                except KeyError:
                    continue
            return bool(found) and all(
                r["state"] == approval_rows.DONE and r["actor"] for r in found
            )

        return bool(await self.services.store.run(acted))

    # -- the parent's state line -------------------------------------------------------------
    async def _show(self, thread: dict[str, Any]) -> None:
        """Update the parent's state line in place; recorded when it lands, else retried on
        the next poll. The parent is taken as Slack shows it now (an approval card re-drawn
        by a click, a snooze note), else as the card's copy or the thread last recorded it."""
        channel, ts, state = thread["channel"], thread["ts"], thread["state"]
        drawn = (
            await self.services.store.run(threads.posted_blocks, channel, ts)
            if thread["approvals"]
            else None
        )
        try:
            current = await self.poster.blocks_of(channel, ts)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.info("could not read alert %s parent %s: %s", self.sub_id, ts, error)
            current = None
        base = current or drawn or thread["blocks"]
        updated = blocks.with_state(base, state, self.services.now())
        try:
            await self.poster.update(channel, ts, thread["text"] or state, updated)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning(
                "could not update alert %s parent of %s: %s",
                self.sub_id,
                thread["subject"],
                type(error).__name__,
            )
            return

        def record(db: Db) -> None:
            threads.shown(db, self.sub_id, thread["subject"], state, updated)
            if drawn is not None:
                approval_rows.save_blocks(db, channel, ts, updated)

        await self.services.store.run(record)
