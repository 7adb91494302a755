"""`/ops approvals`: everything waiting on the caller across platforms, with buttons. The
cards are Home's "Waiting on you" (`bot.home.waiting_cards`), each of its buttons marked as
sitting in this list (`VIEW`), so that a click draws the caller's list again (Slack sends no
blocks of an ephemeral message), with the card acted on first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import approval_kinds
from bot.blocks import approvals as blocks
from bot.blocks import common as b
from bot.home import waiting_cards

if TYPE_CHECKING:
    from bot.approval_kinds import Place
    from bot.approvals import Approval
    from bot.services import Services

VIEW = "approvals"  # a card's `view` when it sits in /ops approvals


async def approvals_list(
    services: Services, user_id: str, platform: str = "", acted: list[b.Block] | None = None
) -> tuple[str, list[b.Block]]:
    """The caller's list (of one platform's, when `platform` is a key): text and blocks."""
    accounts = await services.accounts.for_user(user_id)
    if platform:
        accounts = [a for a in accounts if a.platform == platform]
    found = await waiting_cards(services, user_id, accounts)
    if found is None:
        return blocks.waiting_list(None, [], acted)
    items, notes = found
    cards = [blocks.in_view(card, VIEW, platform) for card in items]
    return blocks.waiting_list(cards, notes, acted)


async def redraw(
    services: Services, user_id: str, approval: Approval, place: Place
) -> tuple[str, list[b.Block]] | None:
    """The clicker's /ops approvals drawn again after a click on one of its cards."""
    kind = approval_kinds.find(approval.platform, approval.kind)
    acted = None
    if kind is not None:
        acted = blocks.in_view(kind.render(approval, place), VIEW, place.arg)
    return await approvals_list(services, user_id, place.arg, acted)
