"""`/limits pending`, drawn for one person with their own account: by the command, and again
after a click on one of its cards (Slack sends no blocks of an ephemeral message, so the list
is drawn anew, with the card acted on shown first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import errors
from bot.approvals import Approval
from bot.blocks import common as b
from bot.blocks import limits as blocks
from bot.platforms.base import Credential
from bot.platforms.limits import approvals as limit_approvals
from bot.platforms.limits.client import LimitsClient
from bot.platforms.limits.models import PendingLimit
from bot.platforms.limits.platform import LimitsPlatform

if TYPE_CHECKING:
    from bot.approval_kinds import Place
    from bot.services import Services

PLATFORM = limit_approvals.PLATFORM


def client(services: Services, instance: str) -> LimitsClient:
    return services.platforms.get(LimitsPlatform).client(instance)


async def session(
    services: Services, user_id: str, instance: str | None
) -> tuple[Credential, LimitsClient]:
    credential = await services.accounts.credential(user_id, PLATFORM, instance)
    return credential, client(services, credential.instance)


async def pending_cards(
    services: Services,
    instance: str,
    items: list[PendingLimit],
    *,
    for_channel: bool,
    skip: str = "",
) -> tuple[list[list[b.Block]], list[str]]:
    """A card per pending limit (its approval registered) and the approval ids shown;
    `skip` leaves out one (`<limit>:<task>`), drawn separately."""
    cards: list[list[b.Block]] = []
    ids: list[str] = []
    for p in items:
        key = blocks.task_key(p)
        if not key:
            cards.append(blocks.untracked_card(p))
            continue
        if skip == f"{p.limit_id}:{key}":
            continue  # the card just acted on is drawn separately
        record = await limit_approvals.register(services, instance, p, key)
        cards.append(blocks.card(record, can_act=for_channel or p.can_act))
        ids.append(record.id)
    return cards, ids


async def pending(
    services: Services, user_id: str, instance: str | None, acted: Approval | None = None
) -> tuple[str, list[b.Block]]:
    """The limits waiting for approval, as the caller sees them; `acted`, the card just
    acted on, first."""
    credential, limits = await session(services, user_id, instance)
    acted_card = blocks.card(acted) if acted else None
    skip = ""
    if acted is not None:
        skip = f"{acted.payload.get('limit_id')}:{acted.payload.get('task_key')}"
    try:
        items = await limits.pending(credential)
    except errors.PlatformError as error:
        if acted_card is None:
            raise
        note = b.context(f"I could not reload the list: {b.escape(error.detail)}")
        return acted.summary if acted else "", [*acted_card, note]
    cards, _ = await pending_cards(
        services, credential.instance, items, for_channel=False, skip=skip
    )
    text = f"{len(items)} limit(s) waiting for approval on {credential.instance}"
    return text, blocks.pending(credential.instance, cards, acted=acted_card)


async def redraw(
    services: Services, user_id: str, approval: Approval, _place: Place
) -> tuple[str, list[b.Block]] | None:
    """The clicker's `/limits pending` (the approval kind's `redraw`)."""
    return await pending(services, user_id, approval.instance, acted=approval)
