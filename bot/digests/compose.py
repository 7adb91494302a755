"""One digest run: every platform section fetched concurrently with the owner's credentials,
then one message.

Sections come in platform order (DSS, Strategy One, Squonk2, Astakos, Limits; instances in
name order). A platform that fails shows a one-line reason in its place and the rest still
goes out. A refused credential (Unauthorized) also sends the owner one DM asking to re-link,
once per link (the `seen` table, keyed by the link's linked_at, so a re-link resets it).
Platform calls run under a semaphore per platform instance, shared by every run of the
process, so a fan-out of many digests at the same minute keeps a bounded number of calls in
flight toward each instance.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot import errors, messages
from bot.approvals import CARD_BLOCK, card_prefix
from bot.blocks import common as b
from bot.charts import Chart
from bot.digests import registry
from bot.digests.base import Block, DigestContext, Section, SectionSource
from bot.filters import NONE, Filters
from bot.store import seen

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

RELINK_DM = (
    ":warning: {title} ({instance}) refused your linked credential, so your digests "
    "and alerts cannot show it. Run `/ops link {platform} {instance}` to link it again."
)
NO_SECTION = "no digest section is available for this platform yet"


@dataclass(frozen=True)
class Target:
    platform: str
    instance: str | None  # None: the owner's first linked instance


@dataclass
class Digest:
    text: str
    blocks: list[Block]
    sections: list[Section]
    approvals: list[str] = field(default_factory=list)

    @property
    def charts(self) -> list[Chart]:
        return [c for s in self.sections if not s.error for c in s.charts]

    @property
    def empty(self) -> bool:
        return all(s.empty and not s.error for s in self.sections)


class Gates:
    """One semaphore per platform instance, created on first use."""

    def __init__(self, per_instance: int) -> None:
        self.per_instance = max(1, per_instance)
        self._gates: dict[tuple[str, str], asyncio.Semaphore] = {}

    def __call__(self, platform: str, instance: str) -> asyncio.Semaphore:
        key = (platform, instance)
        if key not in self._gates:
            self._gates[key] = asyncio.Semaphore(self.per_instance)
        return self._gates[key]


def parse_targets(text: str) -> list[Target]:
    """The stored `platforms` column: "all" or "dss,astakos@okeanos"."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            key, _, instance = part.partition("@")
            out.append(Target(key, instance or None))
    return out


async def resolve_targets(
    services: Services, owner: str, text: str, filters: Filters = NONE
) -> list[Target]:
    """ "all": every linked account of the owner on a configured platform; else as given.
    Platform order, then instance name. An `instance=` filter keeps that instance's
    accounts only (a target with no instance named is pinned to it)."""
    if text.strip() == "all":
        accounts = await services.accounts.for_user(owner)
        # One target per instance, though a person may hold two roles there (an Astakos
        # user and service token): the section draws both.
        targets = list(
            dict.fromkeys(
                Target(a.platform, a.instance) for a in accounts if a.platform in services.platforms
            )
        )
    else:
        targets = parse_targets(text)
    if filters.instance:
        wanted = filters.instance.casefold()
        targets = [
            Target(t.platform, t.instance or filters.instance)
            for t in targets
            if t.instance is None or t.instance.casefold() == wanted
        ]
    order = {d.key: i for i, d in enumerate(services.settings.descriptors)}
    return sorted(targets, key=lambda t: (order.get(t.platform, 99), t.instance or ""))


async def compose(
    services: Services,
    *,
    owner: str,
    targets: list[Target],
    now: datetime,
    since: datetime | None,
    gates: Gates,
    heading: str,
    sources: Mapping[str, SectionSource] | None = None,
    filters: Filters = NONE,
) -> Digest:
    if sources is None:
        sources = registry.sections(services.settings.descriptors)
    sections = await asyncio.gather(
        *(_section(services, owner, t, now, since, gates, sources, filters) for t in targets)
    )
    return render(list(sections), heading=heading, now=now)


async def _section(
    services: Services,
    owner: str,
    target: Target,
    now: datetime,
    since: datetime | None,
    gates: Gates,
    sources: Mapping[str, SectionSource],
    filters: Filters = NONE,
) -> Section:
    title = services.platforms.title(target.platform)
    named = f"{title} ({target.instance})" if target.instance else title
    try:
        credential = await services.accounts.credential(owner, target.platform, target.instance)
    except errors.NotLinked as error:
        return Section(target.platform, named, [], empty=False, error=messages.for_error(error))
    named = f"{title} ({credential.instance})"
    source = sources.get(target.platform)
    if source is None or target.platform not in services.platforms:
        return Section(target.platform, named, [], empty=False, error=NO_SECTION)
    ctx = DigestContext(
        services=services, credential=credential, now=now, since=since, filters=filters
    )
    try:
        async with gates(target.platform, credential.instance):
            return await source(ctx)
    except errors.Unauthorized as error:
        await relink_dm(services, owner, target.platform, credential.instance)
        return Section(target.platform, named, [], empty=False, error=messages.for_error(error))
    except errors.BotError as error:
        return Section(target.platform, named, [], empty=False, error=messages.for_error(error))
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("digest section %s failed (ref %s)", target.platform, ref)
        return Section(
            target.platform,
            named,
            [],
            empty=False,
            error=f"something went wrong on our side (ref `{ref}`)",
        )


async def relink_dm(services: Services, owner: str, platform: str, instance: str) -> bool:
    """One DM per link asking to re-link; True if it was sent now."""
    accounts = await services.accounts.for_user(owner)
    linked = next(
        (a.linked_at for a in accounts if a.platform == platform and a.instance == instance), ""
    )
    key = f"relink:{owner}:{platform}:{instance}:{linked}"
    if not await services.store.run(seen.first_time, key, services.now().isoformat()):
        return False
    text = RELINK_DM.format(
        title=services.platforms.title(platform), instance=instance, platform=platform
    )
    try:
        await services.slack.chat_postMessage(channel=owner, text=text)
    except Exception:  # the digest still goes out; the DM is best effort
        log.warning("could not send the re-link DM to %s", owner)
    return True


def _card_of(block: Block) -> str | None:
    block_id = str(block.get("block_id", ""))
    return block_id.rsplit("|", 1)[0] if block_id.startswith(CARD_BLOCK) else None


def _whole_cards(kept: list[Block], full: list[Block]) -> list[Block]:
    """Drop the blocks of any approval card cut in two (its text without its buttons)."""
    partial = {
        card
        for card in map(_card_of, kept)
        if card is not None
        and sum(1 for x in kept if _card_of(x) == card)
        < sum(1 for x in full if _card_of(x) == card)
    }
    return [x for x in kept if _card_of(x) not in partial]


def render(sections: list[Section], *, heading: str, now: datetime) -> Digest:
    """The message: a header, then each section (title, blocks or its one-line reason),
    within Slack's 50 blocks: a section too long for its share is cut with a note."""
    head: list[Block] = [b.header(b.clip(heading, 150))]
    tail: list[Block] = [b.context(f"As of {now.strftime('%Y-%m-%d %H:%M %Z')}")]
    room = b.MAX_MESSAGE_BLOCKS - len(head) - len(tail)
    drawn: list[list[Block]] = []
    for s in sections:
        if s.error:
            drawn.append(
                [b.divider(), b.section(f"*{b.escape(s.title)}*\n:warning: {b.clip(s.error, 500)}")]
            )
        else:
            drawn.append(
                [b.divider(), b.section(f"*{b.escape(s.title)}*")]
                + (s.blocks or [b.context("Nothing to report.")])
            )
    # Share the room: each section gets what it needs, the long ones split what is left.
    budgets = _budgets([len(d) for d in drawn], room)
    body: list[Block] = []
    for d, budget in zip(drawn, budgets, strict=True):
        if len(d) <= budget:
            body.extend(d)
        else:
            kept = _whole_cards(d[: budget - 1], d)
            body.extend(kept)
            body.append(
                b.context(
                    f"{len(d) - len(kept)} more block(s) of this section not "
                    "shown; the platform's own command lists everything."
                )
            )
    blocks = head + body + tail
    present = {str(x.get("block_id", "")) for x in blocks}
    approvals = [
        a
        for s in sections
        for a in s.approvals
        if any(p.startswith(card_prefix(a)) for p in present)
    ]
    parts = [
        f"{s.title}: {'unavailable' if s.error else ('nothing new' if s.empty else 'see digest')}"
        for s in sections
    ]
    text = heading + (" · " + "; ".join(parts) if parts else "")
    return Digest(
        text=b.clip(text, 3000),
        blocks=blocks,
        sections=sections,
        approvals=list(dict.fromkeys(approvals)),
    )


def _budgets(sizes: list[int], room: int) -> list[int]:
    if sum(sizes) <= room or not sizes:
        return sizes
    budgets = [0] * len(sizes)
    left = room
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for rank, i in enumerate(order):
        fair = left // (len(sizes) - rank)
        budgets[i] = max(min(sizes[i], fair), min(3, sizes[i]))
        left -= budgets[i]
    return budgets
