"""Resolve all: every commission a list shows that is still open, claimed and accepted in one
Astakos call, each finished per Astakos' answer, audited, and every copy of its card updated.
The checks, the claim and the texts are the one approval flow's (`bot.approval_flow`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot import approval_flow, errors, messages
from bot.approvals import DONE, FAILED, GONE, Approval, approval_id, update_copies, when_text
from bot.blocks import astakos as blocks
from bot.blocks import common as b
from bot.interactions import Click
from bot.platforms.astakos import views
from bot.platforms.astakos.approvals import PLATFORM, client
from bot.platforms.astakos.kinds import COMMISSION
from bot.platforms.base import Credential
from bot.store import approvals as approval_rows

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


async def clicked(click: Click) -> None:
    target = click.parse(blocks.ResolveRef)
    services = click.services
    accept = COMMISSION.verbs[0]
    ids = [approval_id(PLATFORM, target.instance, "commission", str(s)) for s in target.serials]
    known = await views.stored(services, ids)
    if not known:
        await _tell(click, blocks.RESOLVE_NOTHING)
        return
    credential = await approval_flow.precheck(services, click.user_id, COMMISSION, accept, known[0])
    if (required := services.approvals.required(COMMISSION)) > 1:
        # One call would accept them all on one person's word.
        await _tell(click, blocks.RESOLVE_QUORUM.format(required=required))
        return
    claimed: list[Approval] = []
    skipped: list[Approval] = []
    for record in known:
        won, record = await services.approvals.claim(record.id, click.user_id, accept.action)
        (claimed if won else skipped).append(record)
    if not claimed:
        lines = [f"{a.target}: {_why_not(services, a)}" for a in skipped]
        await _tell(click, "\n".join([blocks.RESOLVE_NOTHING, *lines]))
        return
    finished = await _resolve(services, credential, claimed)
    for record in finished:
        await approval_flow.audit(
            services,
            click.user_id,
            record,
            accept.action,
            approval_flow.OUTCOMES.get(record.state, record.state),
            f"resolve all: {record.result}",
        )
    await _update(click, target, finished, skipped)


def _why_not(services: Services, record: Approval) -> str:
    """Why a commission was not claimed: it expired, or someone else has it."""
    if record.expired(services.now()):
        return f"expired at {when_text(record.expires_at)}, nothing was done"
    return approval_flow.already(COMMISSION, record)


async def _tell(click: Click, text: str) -> None:
    await click.respond(text=text, response_type="ephemeral", replace_original=False)


async def _resolve(
    services: Services, credential: Credential, claimed: list[Approval]
) -> list[Approval]:
    serials = [int(a.target) for a in claimed]

    async def finish_all(state: str, result: str) -> list[Approval]:
        return [await services.approvals.finish(a.id, state, result) for a in claimed]

    try:
        resolution = await client(services, credential.instance).resolve_commissions(
            token=credential.secret, accept=serials
        )
    except (errors.Unauthorized, errors.Forbidden) as error:
        await finish_all(FAILED, blocks.INTERRUPTED)
        raise errors.NotAllowed(_refused(error, credential), markup=True) from None
    except errors.PlatformError as error:
        state = FAILED if isinstance(error, errors.Unavailable) else GONE
        return await finish_all(state, f"{type(error).__name__}: {error.detail}")
    except BaseException:
        await finish_all(FAILED, blocks.INTERRUPTED)
        raise
    failed = {f.serial: f for f in resolution.failed}
    out = []
    for a in claimed:
        serial = int(a.target)
        if serial in resolution.accepted:
            out.append(await services.approvals.finish(a.id, DONE, "accepted (resolve all)"))
        elif serial in failed:
            f = failed[serial]
            state = FAILED if f.status >= 500 else GONE
            out.append(await services.approvals.finish(a.id, state, f"{f.fault}: {f.message}"))
        else:
            out.append(await services.approvals.finish(a.id, FAILED, "not in Astakos' answer"))
    return out


def _refused(error: errors.PlatformError, credential: Credential) -> str:
    if isinstance(error, errors.Forbidden) and error.detail.startswith("this needs a"):
        return blocks.wrong_token(
            blocks.KINDS["commission"].buttons, "service", credential.instance, credential.account
        )
    return messages.for_error(error)


async def _quiet(**_: Any) -> None:
    """A respond that says nothing (the summary below is the one answer)."""


async def _update(
    click: Click, target: blocks.ResolveRef, finished: list[Approval], skipped: list[Approval]
) -> None:
    services = click.services
    summary = blocks.resolve_summary(finished)
    if skipped:
        summary += " Already handled: " + ", ".join(a.target for a in skipped) + "."
    quiet = Click(
        services=services,
        user_id=click.user_id,
        action_id=click.action_id,
        value=click.value,
        respond=_quiet,  # type: ignore[arg-type]  # a stand-in with respond's keyword call
        client=click.client,
        body=click.body,
    )

    def render(a: Approval) -> list[b.Block]:
        return blocks.card(a, view=target.view)

    for record in finished:  # every recorded copy, by chat.update
        await update_copies(services, quiet, record, render, None)
    container = click.body.get("container") or {}
    channel, ts = str(container.get("channel_id") or ""), str(container.get("message_ts") or "")
    copy = await _recorded_copy(services, finished[0].id, channel, ts)
    if copy is not None:
        # A channel copy: its cards are updated; take the spent Resolve all button away.
        blks = [x for x in copy if x.get("block_id") != blocks.RESOLVE_BLOCK]
        try:
            await services.slack.chat_update(channel=channel, ts=ts, text=summary, blocks=blks)
            await services.store.run(approval_rows.save_blocks, channel, ts, blks)
        except SlackApiError as error:
            log.warning("could not update %s/%s: %s", channel, ts, error.response.get("error"))
        await _tell(click, summary)
        return
    drawn = await views.again(
        services,
        click.user_id,
        target.instance,
        target.view,
        "",
        [a.id for a in finished + skipped],
        note=summary,
    )
    if drawn is not None:
        await click.respond(text=drawn[0], blocks=drawn[1], replace_original=True)
    else:
        await _tell(click, summary)


async def _recorded_copy(
    services: Services, approval: str, channel: str, ts: str
) -> list[b.Block] | None:
    for copy in await services.store.run(approval_rows.copies, approval):
        if copy["channel"] == channel and copy["ts"] == ts:
            return list(copy["blocks"])
    return None
