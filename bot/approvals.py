"""Approvals, the same for every platform (Astakos commissions, applications and
memberships; Limits workflow tasks): the approval rows (registered, claimed atomically
pending → acting, finished done / failed / gone, released), the operators' restriction of who
may act, and every recorded copy of a card drawn again in place after a change. The click
flow that drives them is `bot.approval_flow`; what each kind does, `bot.approval_kinds`.

Cards are built by the platform's blocks module; every block of one card carries the block id
prefix `card_prefix(approval_id)`, so the card can be swapped inside a larger message (a list,
a digest) without touching the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import approval_kinds, errors
from bot.blocks import common as b
from bot.home import publish_home
from bot.interactions import Click
from bot.store import Store
from bot.store import approvals as rows

if TYPE_CHECKING:
    from bot.config import ApprovalRule
    from bot.services import Services

log = logging.getLogger(__name__)

PENDING, ACTING, DONE, FAILED, GONE = (rows.PENDING, rows.ACTING, rows.DONE, rows.FAILED, rows.GONE)
EXPIRED = rows.EXPIRED
# How long a usergroup's members are trusted before asking Slack again.
GROUP_CACHE_SECONDS = 300.0
# How long one copy's chat.update is retried through 429s and Slack outages.
COPY_UPDATE_SECONDS = 120.0


@dataclass(frozen=True)
class Vote:
    """One approver's approving click towards a quorum."""

    user: str
    at: str


@dataclass(frozen=True)
class Approval:
    id: str
    platform: str
    instance: str
    kind: str
    target: str
    state: str
    summary: str
    payload: dict[str, Any]
    actor: str
    action: str
    acted_at: str
    result: str
    # When it stops taking clicks ('' never), how many approvers it needs, and the
    # approving votes so far.
    expires_at: str = ""
    required: int = 1
    votes: tuple[Vote, ...] = ()

    @property
    def settled(self) -> bool:
        # Not EXPIRED: an expired approval stays what the item shows (no new round, no
        # fresh expiry when it is listed again); its card says expired.
        return self.state in (DONE, GONE)

    def expired(self, now: datetime) -> bool:
        """Past its expiry (whether or not the sweep has marked it yet)."""
        return self.state == EXPIRED or (bool(self.expires_at) and self.expires_at <= stamp(now))


def stamp(when: datetime) -> str:
    """A time as the approval rows store it: ISO 8601 in UTC to the second, so that text
    order is time order in SQL."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _approval(row: dict[str, Any]) -> Approval:
    return Approval(
        id=row["id"],
        platform=row["platform"],
        instance=row["instance"],
        kind=row["kind"],
        target=row["target"],
        state=row["state"],
        summary=row["summary"] or "",
        payload=json.loads(row["payload"] or "{}"),
        actor=row["actor"] or "",
        action=row["action"] or "",
        acted_at=row["acted_at"] or "",
        result=row["result"] or "",
        expires_at=row.get("expires_at") or "",
        required=int(row.get("required") or 1),
        votes=tuple(Vote(v["user_id"], v["at"]) for v in row.get("votes") or ()),
    )


def approval_id(platform: str, instance: str, kind: str, target: str) -> str:
    """Stable: the same commission posted twice (a list, a digest) is one approval."""
    return f"{platform}:{instance}:{kind}:{target}"


CARD_BLOCK = "appr|"  # every block id of an approval card starts with this


def card_prefix(approval: str) -> str:
    return f"{CARD_BLOCK}{approval}|"


class Approvals:
    def __init__(
        self,
        *,
        store: Store,
        now: Callable[[], datetime],
        rules: dict[str, ApprovalRule] | None = None,
    ) -> None:
        self.store = store
        self._now = now
        # The operators' `[approvers."<action>"]` tables (bot.config.ApprovalRule).
        self.rules = rules or {}
        self._groups: dict[str, tuple[float, set[str]]] = {}
        # Claims this process holds right now: never taken for abandoned (bot.recovery).
        self.inflight: set[str] = set()

    async def register(
        self,
        *,
        platform: str,
        instance: str,
        kind: str,
        target: str,
        summary: str,
        payload: dict[str, Any] | None = None,
    ) -> Approval:
        """The approval of an item the platform shows waiting; the first time, with when it
        expires and how many approvers it needs (kept as they were then: a change of the
        TOML applies to approvals first shown after it)."""
        now = self._now()
        expires_at, required = "", 1
        known = approval_kinds.find(platform, kind)
        if known is not None:
            expires_at = stamp(e) if (e := self.expiry(known, payload or {}, now)) else ""
            required = self.required(known)
        row = {
            "id": approval_id(platform, instance, kind, target),
            "platform": platform,
            "instance": instance,
            "kind": kind,
            "target": target,
            "state": PENDING,
            "summary": summary[:500],
            "payload": json.dumps(payload or {}),
            "created_at": now.isoformat(timespec="seconds"),
            "expires_at": expires_at,
            "required": required,
        }
        return _approval(await self.store.run(rows.ensure, row))

    async def refresh(self, record: Approval, payload: dict[str, Any]) -> Approval:
        """The approval with its card data as the platform says now, while still waiting
        (what a list drawn again shows: figures that changed since the first drawing)."""
        if record.payload == payload or record.state not in (PENDING, FAILED):
            return record
        return _approval(await self.store.run(rows.set_payload, record.id, json.dumps(payload)))

    def _rule(self, kind: approval_kinds.ApprovalKind) -> ApprovalRule | None:
        return self.rules.get(kind.permission)

    def expiry(
        self, kind: approval_kinds.ApprovalKind, payload: dict[str, Any], now: datetime
    ) -> datetime | None:
        """The earlier of the kind's (or the TOML's) time to live and the platform's own
        deadline; None: it never expires."""
        rule = self._rule(kind)
        after = rule.expires_after if rule and rule.expires_after is not None else None
        seconds = kind.expires_after if after is None else after
        ends = [now + timedelta(seconds=seconds)] if seconds > 0 else []
        deadline = kind.deadline(payload) if kind.deadline else None
        if deadline is not None:
            ends.append(deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC))
        return min(ends) if ends else None

    def required(self, kind: approval_kinds.ApprovalKind) -> int:
        rule = self._rule(kind)
        return rule.required if rule else kind.required

    def maker_checker(self, kind: approval_kinds.ApprovalKind) -> bool:
        rule = self._rule(kind)
        if rule and rule.maker_checker is not None:
            return rule.maker_checker
        return kind.maker_checker

    async def get(self, approval: str) -> Approval:
        try:
            return _approval(await self.store.run(rows.get, approval))
        except KeyError:
            raise errors.UserError(
                "I have no record of that approval. Run the command again for fresh buttons."
            ) from None

    async def claim(
        self, approval: str, user_id: str, action: str, *, quorum: bool = False
    ) -> tuple[bool, Approval]:
        """Take the approval to act on it (never once expired; with `quorum`, only once it
        holds the votes it requires): exactly one caller gets True."""
        claimed, row = await self.store.run(
            rows.claim, approval, user_id, action, stamp(self._now()), quorum=quorum
        )
        if claimed:
            self.inflight.add(approval)
        return claimed, _approval(row)

    async def vote(self, approval: str, user_id: str, action: str) -> tuple[bool, Approval]:
        """Count `user_id`'s approval towards the quorum: True when this call counted it."""
        counted, row = await self.store.run(
            rows.vote, approval, user_id, action, stamp(self._now())
        )
        return counted, _approval(row)

    async def unvote(self, approval: str, user_id: str) -> None:
        await self.store.run(rows.unvote, approval, user_id)

    async def due(self) -> list[Approval]:
        """Open approvals past their expiry."""
        return [_approval(r) for r in await self.store.run(rows.due, stamp(self._now()))]

    async def expire(self, approval: str) -> bool:
        """Mark it expired if its time has come: True for exactly one caller."""
        return bool(await self.store.run(rows.expire, approval, stamp(self._now())))

    async def finish(self, approval: str, state: str, result: str) -> Approval:
        try:
            return _approval(await self.store.run(rows.finish, approval, state, result[:500]))
        finally:
            self.inflight.discard(approval)

    async def release(self, approval: str, user_id: str) -> Approval:
        try:
            return _approval(await self.store.run(rows.release, approval, user_id))
        finally:
            self.inflight.discard(approval)

    async def record_copy(
        self, approval: str, channel: str, ts: str, blocks: list[dict[str, Any]]
    ) -> None:
        await self.store.run(
            rows.add_copy, approval, channel, ts, blocks, self._now().isoformat(timespec="seconds")
        )

    async def allowed(
        self, slack: AsyncWebClient, permission: str, user_id: str, approvers: dict[str, list[str]]
    ) -> bool:
        """No restriction for this action: the platform decides. Else the user, or a member
        of one of the listed user groups (S...), may act."""
        allowed = approvers.get(permission)
        if not allowed:
            return True
        if user_id in allowed:
            return True
        for group in (g for g in allowed if g.startswith("S")):
            if user_id in await self._members(slack, group):
                return True
        return False

    async def _members(self, slack: AsyncWebClient, group: str) -> set[str]:
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            response = await slack.usergroups_users_list(usergroup=group)
            members = set(response.get("users") or [])
        except SlackApiError as error:
            log.warning("usergroups.users.list %s failed: %s", group, error.response.get("error"))
            members = set()
        self._groups[group] = (time.monotonic(), members)
        return members


# -- the cards' copies ------------------------------------------------------------------------

Render = Callable[[Approval], list[b.Block]]
# Draws the clicker's ephemeral list again; None: it cannot be, the clicked message is patched.
Refresh = Callable[[], Awaitable[tuple[str, list[b.Block]] | None]]


def when_text(acted_at: str) -> str:
    """When someone acted, with its date: "18:05 on Nov 29, 2026" in the reader's zone."""
    try:
        when = datetime.fromisoformat(acted_at)
    except ValueError:
        return acted_at
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    fallback = when.astimezone(UTC).strftime("%H:%M UTC on %Y-%m-%d")
    return f"<!date^{int(when.timestamp())}^{{time}} on {{date_short}}|{fallback}>"


async def update_copies(
    services: Services,
    click: Click,
    record: Approval,
    render: Render,
    refresh: Refresh | None,
    *,
    recorded: bool = True,
) -> None:
    """Re-render the card everywhere: every recorded channel copy by chat.update (unless
    `recorded` is False: another process did), and the message clicked (ephemeral lists are
    re-drawn by `refresh`, or patched)."""
    card = render(record)
    summary = f"{record.summary}: {record.state}"
    updated = await update_recorded_copies(services, record, render) if recorded else set()
    container = click.body.get("container", {})
    if (container.get("channel_id"), container.get("message_ts")) in updated:
        return
    if (click.body.get("view") or {}).get("type") == "home":
        # Clicked on the App Home tab: draw it again (the card, and what still waits).
        await publish_home(services, click.client, click.user_id)
        return
    # The clicked message is not a recorded copy: an ephemeral list (Slack does not send its
    # blocks, so it is re-drawn) or a message posted before copies were recorded.
    message = click.body.get("message")
    drawn = await refresh() if refresh is not None else None
    if drawn is not None:
        text, blocks = drawn
    elif message and message.get("blocks"):
        text, blocks = summary, swap_card(message["blocks"], record.id, card)
    else:
        text, blocks = summary, card
    await click.respond(text=text, blocks=blocks, replace_original=True)


async def update_recorded_copies(
    services: Services, record: Approval, render: Render
) -> set[tuple[str, str]]:
    """chat.update every recorded channel copy of the card; returns those updated."""
    card = render(record)
    summary = f"{record.summary}: {record.state}"
    updated: set[tuple[str, str]] = set()
    for copy in await services.store.run(rows.copies, record.id):
        blocks = swap_card(copy["blocks"], record.id, card)
        if await _update_copy(
            services.slack, copy["channel"], copy["ts"], summary, blocks, record.id
        ):
            await services.store.run(rows.save_blocks, copy["channel"], copy["ts"], blocks)
            updated.add((copy["channel"], copy["ts"]))
    return updated


async def _update_copy(
    slack: AsyncWebClient,
    channel: str,
    ts: str,
    text: str,
    blocks: list[dict[str, Any]],
    approval: str,
) -> bool:
    """chat.update one copy, waiting out 429s (Retry-After) and Slack's 5xx and lost answers
    (backing off) for up to COPY_UPDATE_SECONDS: an update is idempotent, so trying again
    never shows anything twice. A refusal (message deleted, no access) is final."""
    deadline = time.monotonic() + COPY_UPDATE_SECONDS
    delay = 0.5
    while True:
        try:
            await slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            return True
        except SlackApiError as error:
            status = error.response.status_code
            if status != 429 and status < 500:
                log.warning(
                    "could not update a copy of %s: %s", approval, error.response.get("error")
                )
                return False
            wait = (
                float(error.response.headers.get("retry-after") or delay)
                if status == 429
                else delay
            )
            why = f"HTTP {status}"
        except (TimeoutError, OSError, aiohttp.ClientError) as error:
            wait, why = delay, type(error).__name__
        if time.monotonic() + wait > deadline:
            log.warning(
                "gave up updating a copy of %s after %g s (%s)", approval, COPY_UPDATE_SECONDS, why
            )
            return False
        await asyncio.sleep(wait)
        delay = min(delay * 2, 8.0)


def swap_card(
    blocks: list[dict[str, Any]], approval: str, card: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Replace the blocks of one card (by block id prefix) with `card`, in place, then bring
    the message's counts in line with the cards still open (see `retally`)."""
    prefix = card_prefix(approval)
    out: list[dict[str, Any]] = []
    placed = False
    for block in blocks:
        if str(block.get("block_id", "")).startswith(prefix):
            if not placed:
                out.extend(card)
                placed = True
            continue
        out.append(block)
    return retally(blocks, out) if placed else blocks


def open_cards(blocks: list[dict[str, Any]]) -> list[str]:
    """Approval ids whose card in `blocks` still has buttons, in order."""
    out: list[str] = []
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if (
            block_id.startswith(CARD_BLOCK)
            and block.get("type") == "actions"
            and block.get("elements")
        ):
            approval = block_id[len(CARD_BLOCK) :].rsplit("|", 1)[0]
            if approval not in out:
                out.append(approval)
    return out


def retally(before: list[dict[str, Any]], blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The message's counts after a card changed: each kind's "n … waiting" line (its
    `tally`) goes down by the cards of that kind that closed (a digest may count more than it
    shows, so the count is adjusted, not recounted), then each kind's own controls follow the
    cards still open (its `recount`: Astakos' "Resolve all (n)")."""
    was, open_ids = open_cards(before), open_cards(blocks)
    kinds = approval_kinds.registered()

    def closed(kind: approval_kinds.ApprovalKind) -> int:
        def of_kind(ids: list[str]) -> int:
            # An approval id is platform:instance:kind:target (`approval_id`).
            return sum(1 for a in ids if a.split(":")[:3:2] == [kind.platform, kind.key])

        return of_kind(was) - of_kind(open_ids)

    tallies = [(re.compile(k.tally), closed(k)) for k in kinds if k.tally]
    out: list[dict[str, Any]] = []
    for block in blocks:
        texts = (
            block.get("elements")
            if block.get("type") == "context"
            else [block.get("text")]
            if block.get("type") == "section"
            else []
        )
        for element in texts or []:
            if not isinstance(element, dict) or not isinstance(element.get("text"), str):
                continue
            for pattern, gone in tallies:
                element["text"] = pattern.sub(_less(gone), element["text"], count=1)
        out.append(block)
    for recount in dict.fromkeys(k.recount for k in kinds if k.recount is not None):
        out = recount(out, open_ids)
    return out


def _less(gone: int) -> Callable[[re.Match[str]], str]:
    """A count line's number, less the cards that closed (never below 0)."""

    def replace(m: re.Match[str]) -> str:
        return f"{m.group(1)}{max(0, int(m.group(2)) - gone)}{m.group(3)}"

    return replace


def with_status(approval: Approval, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A card's blocks with what every kind's card says the same way (a builder calls this
    before `tag_card`): while it is open, when it expires and, needing several approvers, who
    approved so far ("1 of 2: @alice, 10:42"), as lines under the card's first text (no
    block more: digests and lists count them); once expired, its buttons give way to a line
    saying so."""
    lines: list[str] = []
    if approval.required > 1 and (approval.votes or approval.state in (PENDING, FAILED)):
        voters = "; ".join(f"<@{v.user}>, {when_text(v.at)}" for v in approval.votes)
        so_far = voters or "none yet"
        lines.append(
            f":busts_in_silhouette: *{len(approval.votes)} of {approval.required}* "
            f"approvers: {so_far}"
        )
    if approval.expires_at and approval.state in (PENDING, FAILED):
        lines.append(f":alarm_clock: Expires at {when_text(approval.expires_at)}")
    out = [dict(blk) for blk in blocks]
    if approval.state == EXPIRED:
        expired = b.context(
            f":hourglass: *Expired* at {when_text(approval.expires_at)}: nothing was done. "
            "Decide on the platform itself if it still waits."
        )
        out = [blk for blk in out if blk.get("type") != "actions"]
        out.append(expired)
    if not lines:
        return out
    text = "\n".join(lines)
    for blk in out:
        if blk.get("type") == "section" and isinstance(blk.get("text"), dict):
            blk["text"] = {**blk["text"], "text": f"{blk['text']['text']}\n{text}"[:3000]}
            return out
    return [*out, b.context(text)]


def tag_card(approval: str, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every block of a card its approval block id (a builder calls this last)."""
    prefix = card_prefix(approval)
    return [{**block, "block_id": f"{prefix}{i}"} for i, block in enumerate(blocks)]
