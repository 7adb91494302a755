"""/limits: Atoti Limits with the caller's own username and password.

Every subcommand takes an optional `@instance` anywhere in its arguments; without it, the
caller's first linked Limits instance is used.

Approve / Reject go through the shared approval flow (`bot.approvals.act`). One approval row
stands for one workflow *task* of a limit (`<limit>:<taskKey>`): in a six-eyes workflow the
first approval settles the first card and the second step is a new approval with its own card.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import approvals, errors, suggest
from bot.blocks import common as b
from bot.blocks import limits as blocks
from bot.commands import CommandFamily, Invocation, guarded, make_listener
from bot.config import Settings
from bot.interactions import Click, on_click
from bot.platforms.base import Credential
from bot.platforms.limits import approvals as limit_approvals
from bot.platforms.limits.client import LimitsClient
from bot.platforms.limits.models import PendingLimit
from bot.services import Services
from handlers.common import take_instance

log = logging.getLogger(__name__)

family = CommandFamily("limits", "Atoti Limits")

PLATFORM = "limits"
# settings.approvers key restricting who may Approve or Reject (both are the same decision).
PERMISSION = "limits.approve"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NOT_IN_CHANNEL = (
    "I can't post in this channel. Invite me (`/invite @Switchboard`), or run "
    "`/limits pending` without `share`."
)


async def _session(
    services: Services, user_id: str, instance: str | None
) -> tuple[Credential, LimitsClient]:
    credential = await services.accounts.credential(user_id, PLATFORM, instance)
    platform = services.platforms[PLATFORM]
    return credential, platform.client(credential.instance)  # type: ignore[attr-defined]


async def _open(inv: Invocation) -> tuple[Credential, LimitsClient]:
    return await _session(inv.services, inv.user_id, take_instance(inv))


def _ui(services: Services, instance: str) -> str | None:
    """The Atoti UI serving the Limits screens (the `ui_url` setting; never derived: that UI
    belongs to the connected Atoti session, not to the Limits server)."""
    return services.platforms["limits"].ui_url(instance)


@family.command("status", "status", "server up since (startup ping) and connected Atoti servers")
async def status(inv: Invocation) -> None:
    credential, client = await _open(inv)
    state = await client.status(credential)
    connected = sum(1 for s in state.servers if s.connected)
    await inv.reply(
        text=f"Atoti Limits {credential.instance}: up, {connected} connected server(s)",
        blocks=blocks.status(credential.instance, state),
    )


def parse_breaches(words: list[str]) -> tuple[str | None, int]:
    """`[YYYY-MM-DD] [page N]` -> (date or None, page)."""
    day: str | None = None
    page = 1
    index = 0
    while index < len(words):
        word = words[index].lower()
        if word == "page" and index + 1 < len(words) and words[index + 1].isdigit():
            page = int(words[index + 1])
            index += 2
            if page < 1:
                raise errors.UserError(f"Pages start at 1. {blocks.BREACHES_USAGE}")
            continue
        if day is None and DATE.fullmatch(word):
            try:
                date.fromisoformat(word)
            except ValueError:
                raise errors.UserError(f"`{word}` is not a date. {blocks.BREACHES_USAGE}") from None
            day = word
            index += 1
            continue
        raise errors.UserError(
            f"I don't understand `{b.escape(words[index])[:40]}`. {blocks.BREACHES_USAGE}",
            markup=True,
        )
    return day, page


@family.command(
    "breaches",
    "breaches [YYYY-MM-DD] [page N]",
    "Breach and Warning incidents of an as-of date (default: the latest)",
)
async def breaches(inv: Invocation) -> None:
    instance = take_instance(inv)
    day, page = parse_breaches(inv.args)
    credential, client = await _session(inv.services, inv.user_id, instance)
    found = await client.breaches(credential, as_of=day)
    if found.as_of is None:
        await inv.reply(text=blocks.no_incidents(credential.instance))
        return
    pages = max(1, -(-len(found.incidents) // blocks.BREACHES_PAGE))
    if page > pages:
        raise errors.UserError(
            f"There are {len(found.incidents)} incident(s) on {found.as_of}, "
            f"so {pages} page(s). Try `/limits breaches {found.as_of}`."
        )
    await inv.reply(
        text=f"{found.breach_count} breach(es) and {found.warning_count} warning(s)"
        f" on {credential.instance}, as of {found.as_of}",
        blocks=blocks.breaches(
            credential.instance, found, page=page, ui=_ui(inv.services, credential.instance)
        ),
    )


@family.command("limit", "limit <id>", "a limit, its structure and its latest evaluation")
async def limit(inv: Invocation) -> None:
    instance = take_instance(inv)
    limit_id = inv.arg(0)
    if not limit_id:
        raise errors.UserError(
            "Give the limit id: `/limits limit L-17` "
            "(ids are in `/limits breaches` and `/limits pending`)."
        )
    credential, client = await _session(inv.services, inv.user_id, instance)
    try:
        view = await client.limit(credential, limit_id=limit_id)
    except errors.NotFound:
        known = await _known_limit_ids(client, credential)
        same = suggest.same_name(limit_id, known)
        if same is None:
            raise errors.UserError(
                f"Atoti Limits ({credential.instance}) has no limit {suggest.code(limit_id)}."
                f"{suggest.did_you_mean(limit_id, known)} Ids are in `/limits breaches` and "
                "`/limits pending`."
            ) from None
        view = await client.limit(credential, limit_id=same)
    await inv.reply(
        text=f"Limit {b.escape(view.limit_id)} on {credential.instance}: {b.escape(view.status)}",
        blocks=blocks.limit_view(credential.instance, view, _ui(inv.services, credential.instance)),
    )


async def _known_limit_ids(client: LimitsClient, credential: Credential) -> list[str]:
    """Limit ids a person has seen: the latest breaches and the pending ones (there is no
    list of every limit); a failure leaves them out."""
    found: list[str] = []
    for fetch in (lambda: client.breaches(credential), lambda: client.pending(credential)):
        try:
            result = await fetch()
        except errors.PlatformError:
            continue
        items = result.incidents if hasattr(result, "incidents") else result
        found += [item.limit_id for item in items]
    return list(dict.fromkeys(found))


# -- pending and its approval cards ----------------------------------------------------------


async def _pending_cards(
    services: Services,
    instance: str,
    items: list[PendingLimit],
    *,
    for_channel: bool,
    skip: str = "",
) -> tuple[list[list[b.Block]], list[str]]:
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


async def _pending_reply(
    services: Services, user_id: str, instance: str | None, acted: approvals.Approval | None = None
) -> tuple[str, list[b.Block]]:
    credential, client = await _session(services, user_id, instance)
    acted_card = blocks.card(acted) if acted else None
    skip = ""
    if acted is not None:
        skip = f"{acted.payload.get('limit_id')}:{acted.payload.get('task_key')}"
    try:
        items = await client.pending(credential)
    except errors.PlatformError as error:
        if acted_card is None:
            raise
        note = b.context(f"I could not reload the list: {b.escape(error.detail)}")
        return acted.summary if acted else "", [*acted_card, note]
    cards, _ = await _pending_cards(
        services, credential.instance, items, for_channel=False, skip=skip
    )
    text = f"{len(items)} limit(s) waiting for approval on {credential.instance}"
    return text, blocks.pending(credential.instance, cards, acted=acted_card)


@family.command(
    "pending", "pending [share]", "limits waiting for approval, with Approve / Reject buttons"
)
async def pending(inv: Invocation) -> None:
    instance = take_instance(inv)
    if not inv.share:
        text, blks = await _pending_reply(inv.services, inv.user_id, instance)
        await inv.reply(text=text, blocks=blks)
        return
    # Shared: posted with chat.postMessage, so every copy of a card can be updated later.
    services = inv.services
    credential, client = await _session(services, inv.user_id, instance)
    items = await client.pending(credential)
    cards, ids = await _pending_cards(services, credential.instance, items, for_channel=True)
    blks = blocks.pending(credential.instance, cards, shared_by=inv.user_id)
    text = f"{len(items)} limit(s) waiting for approval on {credential.instance}"
    try:
        posted = await services.slack.chat_postMessage(
            channel=inv.channel_id, text=text, blocks=blks
        )
    except SlackApiError as error:
        if error.response.get("error") in ("not_in_channel", "channel_not_found"):
            raise errors.UserError(NOT_IN_CHANNEL) from None
        raise
    shown = {str(block.get("block_id", "")) for block in blks}
    for approval in ids:
        if any(block_id.startswith(approvals.card_prefix(approval)) for block_id in shown):
            await services.approvals.record_copy(approval, posted["channel"], posted["ts"], blks)
    if inv.working_shown:
        await inv.respond(delete_original=True)


# -- buttons and the reject modal --------------------------------------------------------------


async def _decide(click: Click, approval: str, action: str, comment: str | None = None) -> None:
    services = click.services
    record = await services.approvals.get(approval)
    client: LimitsClient = services.platforms[PLATFORM].client(  # type: ignore[attr-defined]
        record.instance
    )
    limit_id = str(record.payload.get("limit_id", ""))
    key = str(record.payload.get("task_key", "")) or None

    async def perform(credential: Credential) -> str:
        if action == "approve":
            outcome = await client.approve(credential, limit_id=limit_id, task_key=key)
        else:
            outcome = await client.reject(
                credential, limit_id=limit_id, task_key=key, comment=comment or None
            )
        text = blocks.outcome_text(outcome, action)
        return f"{text} ({comment})" if comment else text

    async def refresh() -> tuple[str, list[b.Block]]:
        acted = await services.approvals.get(approval)
        return await _pending_reply(services, click.user_id, acted.instance, acted=acted)

    await approvals.act(
        click,
        approval=approval,
        action=action,
        verb=blocks.ACTION_WORDS[action][1],
        permission=PERMISSION,
        perform=perform,
        render=blocks.card,
        refresh=refresh,
    )


async def approve_clicked(click: Click) -> None:
    target = click.parse(blocks.DecisionRef)
    await _decide(click, target.approval, "approve")


def _already(record: approvals.Approval) -> str:
    if record.state == approvals.ACTING:
        return approvals.WORKING.format(actor=record.actor)
    past = blocks.ACTION_WORDS.get(record.action, ("", record.action + "ed"))[1]
    result = f" ({record.result})" if record.result else ""
    return approvals.ALREADY.format(
        verb=past, actor=record.actor, when=approvals.when_text(record.acted_at), result=result
    )


async def reject_clicked(click: Click) -> None:
    """Open the comment modal; the submission does the rejection (`on_reject_submit`)."""
    target = click.parse(blocks.DecisionRef)
    services = click.services
    record = await services.approvals.get(target.approval)
    if record.state not in (approvals.PENDING, approvals.FAILED):
        await click.respond(
            text=_already(record), response_type="ephemeral", replace_original=False
        )
        return
    # Say so now rather than after the person typed a comment.
    await services.accounts.credential(click.user_id, record.platform, record.instance)
    if not await services.approvals.allowed(
        services.slack, PERMISSION, click.user_id, services.settings.approvers
    ):
        raise errors.NotAllowed(approvals.NOT_ALLOWED.format(verb="reject"))
    container = click.body.get("container") or {}
    metadata = blocks.RejectMetadata(
        approval=record.id,
        response_url=str(click.body.get("response_url") or ""),
        channel_id=str(container.get("channel_id") or ""),
        message_ts=str(container.get("message_ts") or ""),
    )
    await click.client.views_open(
        trigger_id=click.trigger_id, view=blocks.reject_modal(record, metadata)
    )


def _comment(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    value = values.get(blocks.COMMENT_BLOCK, {}).get(blocks.COMMENT_ACTION, {}).get("value")
    return (value or "").strip()


async def on_reject_submit(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    await ack()  # closes the modal; the card shows the outcome
    view = body.get("view") or {}
    try:
        metadata = blocks.RejectMetadata.model_validate_json(view.get("private_metadata") or "")
    except ValidationError:
        log.warning("reject submission with unusable private_metadata")
        return
    if not metadata.response_url:
        log.warning("reject submission without a response_url; nothing to update")
        return
    respond = context["services"].responder.to(metadata.response_url)
    # The click that opened the modal, as act() needs it: identity from this payload.
    click = Click(
        services=context["services"],
        user_id=body["user"]["id"],
        action_id=blocks.REJECT,
        value="",
        respond=respond,
        client=client,
        body={"container": {"channel_id": metadata.channel_id, "message_ts": metadata.message_ts}},
    )
    await guarded(
        respond, _decide(click, metadata.approval, "reject", _comment(view)), replace=False
    )


def register(app: AsyncApp, settings: Settings) -> None:
    app.command(settings.commands.limits)(make_listener(family, settings.commands.limits))
    app.action(blocks.APPROVE)(on_click(approve_clicked))
    app.action(blocks.REJECT)(on_click(reject_clicked))
    app.view(blocks.REJECT_MODAL)(on_reject_submit)
