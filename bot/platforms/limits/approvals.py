"""Which approval a pending limit is: one place, so `/limits pending` and a digest register the
same approval and a click on either card updates both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import errors
from bot.approvals import ELSEWHERE, TOOK_EFFECT, WAITING, Approval, Current, Kind, register_kind
from bot.blocks import limits as blocks
from bot.platforms.base import Credential
from bot.platforms.limits.client import LimitsClient
from bot.platforms.limits.models import PendingLimit

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
    for round_ in range(1, MAX_ROUNDS + 1):
        target = f"{p.limit_id}:{key}" + (f"#{round_}" if round_ > 1 else "")
        record = await services.approvals.register(
            platform=PLATFORM,
            instance=instance,
            kind=KIND,
            target=target,
            summary=blocks.card_summary(p),
            payload=blocks.card_payload(p, key),
        )
        if not record.settled:
            break
    assert record is not None
    return record


async def current(services: Services, credential: Credential, approval: Approval) -> Current:
    """The limit's task still open: nothing happened. Else its workflow history says who
    took the task and how (for a claim a dead process left, bot/recovery.py)."""
    client: LimitsClient = services.platforms[PLATFORM].client(  # type: ignore[attr-defined]
        approval.instance
    )
    limit_id = str(approval.payload.get("limit_id", ""))
    key = str(approval.payload.get("task_key", ""))
    try:
        view = await client.limit(credential, limit_id=limit_id)
    except errors.NotFound:
        view = None
    if view is not None and any(a.task_key == key for a in view.actions):
        return Current(WAITING)
    history = await client.history(credential, limit_id=limit_id)
    taken = [h for h in history if (h.task or "") == key]
    if not taken:
        if view is None:
            return Current(ELSEWHERE, "the limit no longer exists")
        return Current(ELSEWHERE, f"no longer waiting (status {view.status})")
    last = taken[-1]
    detail = f"{(last.action or '').lower()} by {last.user or 'someone'} on Atoti Limits"
    if (last.action or "").casefold() == approval.action.casefold():
        return Current(TOOK_EFFECT, f"confirmed after a restart: {detail}")
    return Current(ELSEWHERE, detail)


register_kind(Kind(platform=PLATFORM, kind=KIND, check=current, render=blocks.card))
