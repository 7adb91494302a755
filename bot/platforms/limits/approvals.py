"""Which approval a pending limit is: one place, so `/limits pending` and a digest register the
same approval and a click on either card updates both. (What a click does: `kinds.py`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.approvals import Approval
from bot.blocks import limits as blocks
from bot.platforms.limits.models import PendingLimit
from bot.platforms.limits.platform import LimitsPlatform

if TYPE_CHECKING:
    from bot.services import Services

PLATFORM = "limits"
KIND = "limit"
# A limit rejected and submitted again reuses its task key: each settled round gets a new
# approval (`L-4:approve#2`); past this many the latest is reused.
MAX_ROUNDS = 20


async def register(services: Services, instance: str, p: PendingLimit, key: str) -> Approval:
    """The approval of this limit's open task; a new round if the last one was settled."""
    record = None
    ui = services.platforms.get(LimitsPlatform).ui_url(instance)
    for round_ in range(1, MAX_ROUNDS + 1):
        target = f"{p.limit_id}:{key}" + (f"#{round_}" if round_ > 1 else "")
        record = await services.approvals.register(
            platform=PLATFORM,
            instance=instance,
            kind=KIND,
            target=target,
            summary=blocks.card_summary(p),
            payload=blocks.card_payload(p, key, ui),
        )
        if not record.settled:
            break
    assert record is not None
    # Listed again: the card shows the limit as it is now (a draft's value may have changed).
    return await services.approvals.refresh(record, blocks.card_payload(p, key, ui))
