"""The Astakos approval kinds: a commission (Accept / Reject, with a component's service
token), a project application (Approve / Deny) and a membership request (Accept / Reject),
both with the owner's or an admin's user token. Reject and Deny ask for a reason first.

Each kind says how its decision is sent, what Astakos says of an item whose claim a dead
process left (bot/recovery.py), and how its card and the list it sits in are drawn; the
click, the claim, the modal and the copies are `bot.approval_flow`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
from bot.blocks import astakos as cards
from bot.blocks import common as b
from bot.platforms.astakos import views
from bot.platforms.astakos.approvals import PLATFORM, client, names, wrong_token
from bot.platforms.astakos.figures import commission_figures
from bot.platforms.base import Credential

if TYPE_CHECKING:
    from bot.services import Services

# The kind of token each kind's platform call needs ("user" or "service").
TOKENS = {"commission": "service", "application": "user", "membership": "user"}


def render(approval: Approval, place: Place) -> list[b.Block]:
    return cards.card(approval, view=place.view, arg=place.arg, full=place.view == "commission")


def describe(approval: Approval, _verb: Verb) -> str:
    return cards.describe(approval)


async def _perform(
    services: Services, credential: Credential, approval: Approval, verb: Verb, reason: str
) -> str:
    astakos = client(services, credential.instance)
    token = credential.secret
    if approval.kind == "commission":
        serial = int(approval.target)
        if verb.action == "accept":
            await astakos.accept_commission(token=token, serial=serial)
        else:
            await astakos.reject_commission(token=token, serial=serial)
    elif approval.kind == "application":
        project_id, _, app_id = approval.target.rpartition(":")
        await astakos.application_action(
            token=token,
            project_id=project_id,
            app_id=int(app_id),
            action=verb.action,
            reason=reason,
        )
    else:
        await astakos.membership_action(
            token=token, membership_id=int(approval.target), action=verb.action, reason=reason
        )
    return f"{verb.past} · reason: {reason}" if reason else verb.past


async def _commission_figures(
    services: Services, credential: Credential, approval: Approval
) -> Figures | None:
    """What accepting the commission changes, read now with the clicker's service token
    (None: no longer pending; the claim says what happened)."""
    astakos = client(services, credential.instance)
    try:
        c = await astakos.commission(token=credential.secret, serial=int(approval.target))
    except errors.NotFound:
        return None
    uuids = [part.partition(":")[2] for p in c.provisions for part in (p.holder, p.source or "")]
    known = await names(astakos, credential, uuids)
    return (await commission_figures(astakos, credential, [c], known))[c.serial]


# -- current state, for a claim a dead process left (bot/recovery.py) -----------------------


async def _commission_now(
    services: Services, credential: Credential, approval: Approval
) -> Current:
    """Astakos deletes a commission once accepted or rejected: still there, nothing happened;
    gone, it was resolved, by the interrupted click (only the issuing service, whose token the
    claimer used, can resolve it)."""
    try:
        await client(services, approval.instance).commission(
            token=credential.secret, serial=int(approval.target)
        )
    except errors.NotFound:
        return Current(
            TOOK_EFFECT, "confirmed after a restart: Astakos no longer lists it as pending"
        )
    return Current(WAITING)


async def _application_now(
    services: Services, credential: Credential, approval: Approval
) -> Current:
    project_id, _, app_id = approval.target.rpartition(":")
    try:
        project = await client(services, approval.instance).project(
            token=credential.secret, project_id=project_id
        )
    except errors.NotFound:
        return Current(ELSEWHERE, "the project no longer exists")
    app = project.last_application
    if app is None or str(app.id) != app_id:
        return Current(ELSEWHERE, "a newer application replaced it")
    wanted = {"approve": "approved", "deny": "denied"}.get(approval.action)
    if app.state == "pending":
        return Current(WAITING)
    if app.state == wanted:
        return Current(TOOK_EFFECT, f"confirmed after a restart: the application is {app.state}")
    return Current(ELSEWHERE, f"the application is {app.state}")


async def _membership_now(
    services: Services, credential: Credential, approval: Approval
) -> Current:
    try:
        membership = await client(services, approval.instance).membership(
            token=credential.secret, membership_id=int(approval.target)
        )
    except errors.NotFound:
        return Current(ELSEWHERE, "the membership no longer exists")
    if membership.state in ("requested", "leave_requested"):
        return Current(WAITING)
    took = (approval.action == "accept" and membership.state in ("accepted", "removed")) or (
        approval.action == "reject" and membership.state == "rejected"
    )
    if took:
        return Current(
            TOOK_EFFECT, f"confirmed after a restart: the membership is {membership.state}"
        )
    return Current(ELSEWHERE, f"the membership is {membership.state}")


# The payload field naming who asked, per kind (in words: the name Astakos gives, or the
# uuid when it gives none), for maker-checker.
ASKED_BY = {"commission": "requester", "application": "applicant", "membership": "user"}


async def _requester(_services: Services, _credential: Credential, approval: Approval) -> str:
    return str(approval.payload.get(ASKED_BY.get(approval.kind, ""), "") or "")


def _project_end(payload: dict[str, Any]) -> datetime | None:
    """An application for a project that ends before anyone decides is moot."""
    try:
        end = datetime.fromisoformat(str(payload.get("end_date") or ""))
    except ValueError:
        return None
    return end if end.tzinfo else end.replace(tzinfo=UTC)


def _kind(
    key: str, check: approval_kinds.Check, reason_note: str, tally: str, **more: Any
) -> ApprovalKind:
    words = cards.KINDS[key]

    def token_check(credential: Credential) -> str | None:
        return wrong_token(credential, TOKENS[key], words.buttons)

    return ApprovalKind(
        key=key,
        platform=PLATFORM,
        label=words.label,
        verbs=words.verbs,
        permission=f"{PLATFORM}.{key}",
        perform=_perform,
        render=render,
        check=check,
        describe=describe,
        token_check=token_check,
        redraw=views.redraw,
        reason_note=reason_note,
        reason_max_length=300,
        tally=tally,
        requester=_requester,
        **more,
    )


TO_ASTAKOS = "The reason goes in the audit trail and to Astakos."
COMMISSION = _kind(
    "commission",
    _commission_now,
    "The reason goes in the audit trail (Astakos keeps no reason for commissions).",
    r"^(\*?)(\d+)(\*? commission\(s\) waiting)",
    recount=cards.retally_resolve_all,  # "Resolve all (n)" covers the commissions still open
    preview=_commission_figures,  # Accept's dialog: each holding's usage before → after
)
APPLICATION = _kind(
    "application",
    _application_now,
    TO_ASTAKOS,
    r"^(\*?)(\d+)(\*? project application\(s\) waiting)",
    deadline=_project_end,
)
MEMBERSHIP = _kind(
    "membership", _membership_now, TO_ASTAKOS, r"^(\*?)(\d+)(\*? request\(s\) waiting)"
)
KINDS = (COMMISSION, APPLICATION, MEMBERSHIP)
approval_kinds.register(*KINDS)
