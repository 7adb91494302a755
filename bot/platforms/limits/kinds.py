"""The Atoti Limits approval kind: a limit's open workflow task, Approved or Rejected (with an
optional comment, asked for first) with the clicker's own Limits account.

One approval stands for one task of a limit (`<limit>:<taskKey>`): in a six-eyes workflow the
first approval settles the first card and the second step is a new approval with its own card.
The click, the claim, the modal and the copies are `bot.approval_flow`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import approval_kinds, errors
from bot.approval_kinds import (
    ELSEWHERE,
    TOOK_EFFECT,
    WAITING,
    ApprovalKind,
    Current,
    Figures,
    Place,
    Verb,
)
from bot.approvals import Approval
from bot.blocks import common as b
from bot.blocks import limits as blocks
from bot.platforms.base import Credential
from bot.platforms.limits import views
from bot.platforms.limits.approvals import KIND, PLATFORM

if TYPE_CHECKING:
    from bot.services import Services

# settings.approvers key restricting who may Approve or Reject (both are the same decision).
PERMISSION = "limits.approve"


def render(approval: Approval, _place: Place) -> list[b.Block]:
    return blocks.card(approval)


async def _perform(
    services: Services, credential: Credential, approval: Approval, verb: Verb, comment: str
) -> str:
    limits = views.client(services, credential.instance)
    limit_id = str(approval.payload.get("limit_id", ""))
    key = str(approval.payload.get("task_key", "")) or None
    if verb.action == "approve":
        outcome = await limits.approve(credential, limit_id=limit_id, task_key=key)
    else:
        outcome = await limits.reject(
            credential, limit_id=limit_id, task_key=key, comment=comment or None
        )
    text = blocks.outcome_text(outcome, verb.action)
    return f"{text} ({comment})" if comment else text


async def _preview(
    services: Services, credential: Credential, approval: Approval
) -> Figures | None:
    """The limit's value before → after, read now with the clicker's account (None: nothing
    waits on a decision any more; the claim says what happened)."""
    limits = views.client(services, credential.instance)
    change = await limits.change(credential, limit_id=str(approval.payload.get("limit_id", "")))
    if not change.pending:
        return None
    return blocks.limit_figures(change.status, change.value, change.proposed)


async def _current(services: Services, credential: Credential, approval: Approval) -> Current:
    """The limit's task still open: nothing happened. Else its workflow history says who
    took the task and how (for a claim a dead process left, bot/recovery.py)."""
    limits = views.client(services, approval.instance)
    limit_id = str(approval.payload.get("limit_id", ""))
    key = str(approval.payload.get("task_key", ""))
    try:
        view = await limits.limit(credential, limit_id=limit_id)
    except errors.NotFound:
        view = None
    if view is not None and any(a.task_key == key for a in view.actions):
        return Current(WAITING)
    history = await limits.history(credential, limit_id=limit_id)
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


def _deadline(payload: dict[str, Any]) -> datetime | None:
    """A limit stops applying after its end date: approving it later changes nothing."""
    try:
        day = datetime.strptime(str(payload.get("end_date") or ""), "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=UTC) + timedelta(days=1)


async def _requester(services: Services, credential: Credential, approval: Approval) -> str:
    """Who asked for this round: the user of the limit's latest workflow start."""
    limits = views.client(services, approval.instance)
    history = await limits.history(credential, limit_id=str(approval.payload.get("limit_id", "")))
    started = [h for h in history if h.activity == "startEvent"]
    return (started[-1].user or "") if started else ""


LIMIT = ApprovalKind(
    key=KIND,
    platform=PLATFORM,
    label="limit",
    verbs=blocks.VERBS,
    permission=PERMISSION,
    perform=_perform,
    render=render,
    check=_current,
    describe=blocks.describe,
    redraw=views.redraw,
    reason_note="It runs with your own Atoti Limits account.",
    tally=r"^(\*?)(\d+)(\*? limit\(s\) waiting)",
    preview=_preview,
    deadline=_deadline,
    requester=_requester,
)
KINDS = (LIMIT,)
approval_kinds.register(*KINDS)
