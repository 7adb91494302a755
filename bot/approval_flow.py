"""One approval flow for every kind of every platform (`bot.approval_kinds`): a click on a card
acts at once or asks a reason first, a reason modal's submission acts, and a list with cards is
shared in a channel with every copy recorded. The texts people read about an approval are here,
once.

A click goes: the approval row → its kind and verb (an unknown one: the button is out of date)
→ the clicker's own linked credential (none: told how to link) → the operators' restriction
for the kind, if any → the kind's token check → claim the row atomically (pending → acting) →
the kind's platform call → done / failed / gone, an audit row → every copy of the card drawn
again (`bot.approvals.update_copies`). A refusal before the claim changes nothing and is
audited. When the platform refuses the clicker's own rights (403, or a stale credential's 401)
the claim is handed back: only the clicker is told, and the card stays open for someone who
has them. A second click, a Slack retry or a click on another copy finds the row claimed and
is told who acted and when: exactly one platform call is made.

Past its expiry an approval takes no click: the claim (and a vote) refuses it in the same
statement, the clicker is told, and every copy is drawn expired (the scheduler leader's sweep,
`bot.approval_expiry`, does the same for approvals nobody clicks). A kind (or the TOML) may
require N approvers: an approving click then records a vote (once per person), every copy
shows who approved so far, and the click whose vote completes the quorum claims the row and
makes the one platform call with its own credential. A rejection by any approver claims the
row at once. With maker-checker, the person the platform names as the requester cannot
approve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot import approval_kinds, errors, waiting
from bot.approval_kinds import ApprovalKind, ApprovalRef, Place, Verb
from bot.approvals import (
    ACTING,
    DONE,
    EXPIRED,
    FAILED,
    GONE,
    PENDING,
    Approval,
    card_prefix,
    update_copies,
    update_recorded_copies,
    when_text,
)
from bot.blocks import approvals as blocks
from bot.blocks import common as b
from bot.interactions import STALE_BUTTON, Click, ref

if TYPE_CHECKING:
    from bot.commands import Invocation
    from bot.platforms.base import Credential
    from bot.services import Services

# Action ids and the modal of kinds that need no ids of their own (a platform's older kinds
# keep theirs: cards posted in channels carry them).
ACT = "approval_act"
ASK_REASON = "approval_ask_reason"

ALREADY = "Already {verb} by <@{actor}> at {when}{result}."
WORKING = "Someone (<@{actor}>) is acting on this right now."
NOT_ALLOWED = (
    "Your operators restrict who may {verb} here, and you are not on the list. "
    "Ask one of them, or your workspace admin."
)
CANT_POST = (
    "I can't post in this channel ({error}). Invite me with `/invite @Switchboard` and try "
    "again, or leave out `share`."
)
POSTED = "Posted {what} in <#{channel}>; clicks on any copy update every copy."
EXPIRED_TEXT = (
    "This {label} expired at {when}: nothing was done, and this card no longer acts. "
    "If it still needs a decision, make it on the platform itself."
)
OWN_REQUEST = (
    "You asked for this {label}, so someone else has to {verb} it: your operators require "
    "a second pair of eyes here."
)
VOTED = (
    "Your approval is recorded: {n} of {required}. It goes through when {left} more "
    "approver(s) {verb} it."
)
ALREADY_VOTED = (
    "You already approved this ({n} of {required}): it needs {left} more approver(s), and "
    "the same person counts once."
)
ASKED_BY_UNKNOWN = (
    "I could not ask the platform who asked for this {label}, and your operators forbid "
    "approving one's own request: try again in a moment."
)
OUTCOMES = {DONE: "ok", GONE: "gone", FAILED: "failed"}  # an approval's state, as audited


def kind_of(record: Approval, action: str | None, action_id: str = "") -> tuple[ApprovalKind, Verb]:
    """The approval's kind and the verb a button (or a modal) asks for."""
    kind = approval_kinds.find(record.platform, record.kind)
    verb = None
    if kind is not None:
        verb = kind.verb(action) if action else kind.verb_for(action_id)
    if kind is None or verb is None:
        raise errors.UserError(STALE_BUTTON)
    return kind, verb


def already(kind: ApprovalKind, record: Approval) -> str:
    """What a click on an approval someone else holds or settled is told."""
    if record.state == ACTING:
        return WORKING.format(actor=record.actor)
    result = f" ({record.result})" if record.result else ""
    return ALREADY.format(
        verb=kind.past(record.action),
        actor=record.actor,
        when=when_text(record.acted_at),
        result=result,
    )


async def audit(
    services: Services, user_id: str, record: Approval, action: str, result: str, detail: str
) -> None:
    await services.audit.record(
        user_id=user_id,
        action=f"{record.platform}.{action}",
        platform=record.platform,
        instance=record.instance,
        target=record.target,
        result=result,
        detail=detail,
    )


async def precheck(
    services: Services, user_id: str, kind: ApprovalKind, verb: Verb, record: Approval
) -> Credential:
    """The clicker's credential, once they may act: linked, not restricted by the operators,
    and holding the kind of credential the platform call needs. A refusal is audited."""
    try:
        credential = await services.accounts.able(
            user_id, record.platform, record.instance, kind.token_check
        )
        if not await services.approvals.allowed(
            services.slack, kind.permission, user_id, services.settings.approvers
        ):
            raise errors.NotAllowed(NOT_ALLOWED.format(verb=verb.action))
        refusal = kind.token_check(credential)
        if refusal:
            raise errors.NotAllowed(refusal, markup=True)
    except errors.BotError as error:
        await audit(services, user_id, record, verb.action, "refused", type(error).__name__)
        raise
    return credential


async def clicked(click: Click) -> None:
    """A card's button: act at once, or ask for a reason first."""
    target = click.parse(ApprovalRef)
    record = await click.services.approvals.get(target.approval)
    kind, verb = kind_of(record, target.action, click.action_id)
    place = Place(target.view or "", target.arg or "")
    if verb.reason:
        await ask_reason(click, kind, verb, record, place)
    elif await as_confirmed(click, kind, verb, record, place, target.seen):
        await act(click, kind, verb, record, place)


async def as_confirmed(
    click: Click, kind: ApprovalKind, verb: Verb, record: Approval, place: Place, seen: str | None
) -> bool:
    """Whether an approving decision may run on what the person confirmed: the kind shows no
    figures, the item is no longer waiting (the claim says so), the platform cannot say just
    now (nothing better can be shown), or its figures are the ones the confirm dialog showed
    (`seen`). Otherwise nothing runs: the person is shown the figures as they are now, with
    the button again, its confirm dialog showing them (`approval_kinds.Figures`)."""
    services = click.services
    if (
        kind.preview is None
        or verb != kind.verbs[0]
        or record.state not in (PENDING, FAILED)
        or record.expired(services.now())  # nothing runs: the decision says it expired
    ):
        return True
    # Who may not act is refused first, as for the decision itself: no platform call.
    credential = await precheck(services, click.user_id, kind, verb, record)
    try:
        figures = await kind.preview(services, credential, record)
    except errors.PlatformError:
        return True  # the platform cannot say now: the decision goes on as confirmed
    if figures is None or figures.key == seen:
        return True
    target = ApprovalRef(
        approval=record.id,
        action=verb.action,
        view=place.view or None,
        arg=place.arg or None,
        seen=figures.key,
    )
    text, blks = blocks.figures_changed(
        record.id, kind.label, verb, figures, ref(target), shown=seen is not None
    )
    await click.respond(text=text, blocks=blks, response_type="ephemeral", replace_original=False)
    return False


async def act(
    click: Click,
    kind: ApprovalKind,
    verb: Verb,
    record: Approval,
    place: Place,
    reason: str = "",
) -> None:
    """Run one decision (see the module docstring)."""
    services: Services = click.services
    credential = await precheck(services, click.user_id, kind, verb, record)
    if record.expired(services.now()):
        await late(click, kind, record, place)
        return
    quorum = verb.action == kind.approving.action and record.required > 1
    if verb.action == kind.approving.action and record.state in (PENDING, FAILED):
        await maker_checker(services, click.user_id, kind, verb, record, credential)
    if quorum:
        counted, record = await services.approvals.vote(record.id, click.user_id, verb.action)
        if not await _quorum_reached(click, kind, record, place, counted=counted):
            return
    claimed, record = await services.approvals.claim(
        record.id, click.user_id, verb.action, quorum=quorum
    )
    if not claimed:
        if record.expired(services.now()):
            await late(click, kind, record, place)
            return
        await click.respond(
            text=already(kind, record), response_type="ephemeral", replace_original=False
        )
        return
    try:
        result = await kind.perform(services, credential, record, verb, reason)
        record = await services.approvals.finish(record.id, DONE, result or verb.past)
    except (errors.Forbidden, errors.Unauthorized) as error:
        # The clicker's own rights (or stale credential) were refused: only they are told
        # (guarded replies), and the card stays open for someone who has them.
        await services.approvals.release(record.id, click.user_id)
        if quorum:  # a vote the platform would not honour does not count
            await services.approvals.unvote(record.id, click.user_id)
        await audit(
            services,
            click.user_id,
            record,
            verb.action,
            "refused",
            f"{type(error).__name__}: {error.detail}",
        )
        raise
    except (errors.Conflict, errors.NotFound) as error:
        # Resolved elsewhere (Astakos answers 404 for a commission no longer pending).
        record = await services.approvals.finish(record.id, GONE, error.detail)
    except errors.PlatformError as error:
        # An outage, or a refusal of this action (413 over a limit ...): the item is still
        # waiting on the platform, so the card stays actionable and shows the last attempt.
        record = await services.approvals.finish(
            record.id, FAILED, f"{type(error).__name__}: {error.detail}"
        )
    except BaseException:
        await services.approvals.finish(record.id, FAILED, "interrupted")
        raise
    await audit(
        services,
        click.user_id,
        record,
        verb.action,
        OUTCOMES.get(record.state, record.state),
        record.result,
    )
    await update_copies(
        services,
        click,
        record,
        lambda a: kind.render(a, place),
        _redraw(services, click.user_id, kind, record.id, place),
    )


async def maker_checker(
    services: Services,
    user_id: str,
    kind: ApprovalKind,
    verb: Verb,
    record: Approval,
    credential: Credential,
) -> None:
    """Refuse (audited) the person the platform names as the requester, when the operators
    (or the kind) forbid approving one's own item."""
    if kind.requester is None or not services.approvals.maker_checker(kind):
        return
    try:
        requester = await kind.requester(services, credential, record)
    except errors.PlatformError as error:
        await audit(services, user_id, record, verb.action, "refused", type(error).__name__)
        raise errors.UserError(ASKED_BY_UNKNOWN.format(label=kind.label)) from None
    names = {n.casefold() for n in kind.identities(credential)}
    if requester and requester.casefold() in names:
        await audit(services, user_id, record, verb.action, "refused", "own request")
        raise errors.NotAllowed(OWN_REQUEST.format(label=kind.label, verb=verb.action))


async def _quorum_reached(
    click: Click, kind: ApprovalKind, record: Approval, place: Place, *, counted: bool
) -> bool:
    """After an approving vote: True when this click is to try the claim (the quorum stands
    with its clicker's vote in it: just completed, or standing after a failed attempt or a
    freed claim; or the vote was refused, so the claim says why). Otherwise the clicker is
    told how many approvals it has, and a newly counted vote is shown on every copy."""
    services: Services = click.services
    n, required = len(record.votes), record.required
    mine = any(v.user == click.user_id for v in record.votes)
    if record.state not in (PENDING, FAILED) or not (counted or mine) or n >= required:
        return True
    left = required - n
    if not counted:
        await click.respond(
            text=ALREADY_VOTED.format(n=n, required=required, left=left),
            response_type="ephemeral",
            replace_original=False,
        )
        return False
    await audit(
        services, click.user_id, record, kind.approving.action, "voted", f"{n} of {required}"
    )
    await update_copies(
        services,
        click,
        record,
        lambda a: kind.render(a, place),
        _redraw(services, click.user_id, kind, record.id, place),
    )
    await click.respond(
        text=VOTED.format(n=n, required=required, left=left, verb=kind.approving.action),
        response_type="ephemeral",
        replace_original=False,
    )
    return False


async def late(click: Click, kind: ApprovalKind, record: Approval, place: Place) -> None:
    """A click on an approval past its expiry: nothing is done and the clicker is told. The
    first to notice (this click or the sweep) marks it expired and draws every copy so."""
    services: Services = click.services
    won = record.state != EXPIRED and await services.approvals.expire(record.id)
    record = await services.approvals.get(record.id)
    if record.state == EXPIRED:
        await update_copies(
            services,
            click,
            record,
            lambda a: kind.render(a, place),
            _redraw(services, click.user_id, kind, record.id, place),
            recorded=won,
        )
    await click.respond(
        text=EXPIRED_TEXT.format(label=kind.label, when=when_text(record.expires_at)),
        response_type="ephemeral",
        replace_original=False,
    )


def _redraw(
    services: Services, user_id: str, kind: ApprovalKind, approval: str, place: Place
) -> Callable[[], Awaitable[tuple[str, list[b.Block]] | None]] | None:
    """The clicker's ephemeral list drawn again (Slack sends no blocks of an ephemeral
    message, so it cannot be patched), when the kind can draw it."""
    redraw = kind.redraw
    if place.view == waiting.VIEW:  # the card sat in /ops approvals: that list, drawn again
        redraw = waiting.redraw
    if redraw is None:
        return None

    async def again() -> tuple[str, list[b.Block]] | None:
        latest = await services.approvals.get(approval)
        return await redraw(services, user_id, latest, place)

    return again


async def ask_reason(
    click: Click, kind: ApprovalKind, verb: Verb, record: Approval, place: Place
) -> None:
    """The same checks as the decision itself (said now, not after the person typed), then
    the reason modal; its submission (`submit`) acts."""
    await precheck(click.services, click.user_id, kind, verb, record)
    if record.expired(click.services.now()):
        await late(click, kind, record, place)
        return
    if record.state not in (PENDING, FAILED):
        await click.respond(
            text=already(kind, record), response_type="ephemeral", replace_original=False
        )
        return
    container = click.body.get("container") or {}
    meta = blocks.ReasonMeta(
        approval=record.id,
        action=verb.action,
        view=place.view,
        arg=place.arg,
        response_url=str(click.body.get("response_url") or ""),
        channel=str(container.get("channel_id") or ""),
        ts=str(container.get("message_ts") or ""),
        home=(click.body.get("view") or {}).get("type") == "home",
    )
    await click.client.views_open(
        trigger_id=click.trigger_id,
        view=blocks.reason_modal(
            title=f"{verb.button} {kind.label.split()[-1]}",
            submit=verb.button,
            text=kind.describe(record, verb),
            label=verb.reason,
            note=kind.reason_note,
            max_length=kind.reason_max_length,
            metadata=meta,
        ),
    )


async def submit(
    services: Services,
    client: Any,
    user_id: str,
    meta: blocks.ReasonMeta,
    reason: str,
    respond: Any,
) -> None:
    """A reason modal was submitted by `user_id` (from Slack's payload, never the metadata):
    the decision runs as if its button had been clicked on the card the modal came from."""
    record = await services.approvals.get(meta.approval)
    kind, verb = kind_of(record, meta.action)
    body: dict[str, Any] = {
        "user": {"id": user_id},
        "container": {"type": "message", "channel_id": meta.channel, "message_ts": meta.ts},
    }
    if meta.home:
        body["view"] = {"type": "home"}
    click = Click(
        services=services,
        user_id=user_id,
        action_id=blocks.REASON_CALLBACK,
        value="",
        respond=respond,
        client=client,
        body=body,
    )
    await act(click, kind, verb, record, Place(meta.view, meta.arg), reason.strip())


async def _expired_meanwhile(services: Services, approval: str) -> None:
    """An approval that expired between drawing a card and recording its copy (the sweep
    found no copy to redraw then): this copy is drawn expired now."""
    record = await services.approvals.get(approval)
    kind = approval_kinds.find(record.platform, record.kind)
    if record.state == EXPIRED and kind is not None:
        await update_recorded_copies(services, record, lambda a: kind.render(a, Place()))


async def share(inv: Invocation, text: str, blks: list[b.Block], ids: list[str], what: str) -> None:
    """Answer a command that shows approval cards: to the caller alone, or (`share`) posted in
    the channel with every card's copy recorded, so a click anywhere updates it."""
    if not inv.share:
        await inv.reply(text=text, blocks=blks)
        return
    services = inv.services
    try:
        posted = await services.slack.chat_postMessage(
            channel=inv.channel_id, text=text, blocks=blks
        )
    except SlackApiError as error:
        raise errors.UserError(
            CANT_POST.format(error=error.response.get("error", "refused"))
        ) from None
    shown = {str(block.get("block_id", "")) for block in blks}
    for approval in ids:
        # Only the cards the message shows (a long list is cut to fit).
        if any(block_id.startswith(card_prefix(approval)) for block_id in shown):
            await services.approvals.record_copy(approval, posted["channel"], posted["ts"], blks)
            await _expired_meanwhile(services, approval)
    await inv.respond(
        text=POSTED.format(what=what, channel=posted["channel"]),
        response_type="ephemeral",
        replace_original=inv.working_shown,
    )
