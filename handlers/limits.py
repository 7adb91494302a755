"""/limits: Atoti Limits with the caller's own username and password.

Every subcommand takes an optional `@instance` anywhere in its arguments; without it, the
caller's first linked Limits instance is used.

`pending` shows approval cards (Approve / Reject, the kind declared in
bot/platforms/limits/kinds.py); their clicks go through the one approval flow
(handlers/approvals.py).
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import approval_flow, errors, suggest
from bot.arguments import Date, Number, Word
from bot.blocks import common as b
from bot.blocks import limits as blocks
from bot.commands import CommandFamily, Invocation
from bot.config import Settings
from bot.platforms.base import Credential
from bot.platforms.limits import DESCRIPTOR, views
from bot.platforms.limits import kinds as _kinds  # noqa: F401  (registers the approval kind)
from bot.platforms.limits.client import LimitsClient
from bot.services import Services
from handlers.common import take_instance

family = CommandFamily(DESCRIPTOR.key, DESCRIPTOR.title)

_session = views.session


async def _open(inv: Invocation) -> tuple[Credential, LimitsClient]:
    return await _session(inv.services, inv.user_id, take_instance(inv))


def _ui(services: Services, instance: str) -> str | None:
    """The Atoti UI serving the Limits screens (the `ui_url` setting; never derived: that UI
    belongs to the connected Atoti session, not to the Limits server)."""
    return services.platforms["limits"].ui_url(instance)


@family.command("status", "server up since (startup ping) and connected Atoti servers", args=[])
async def status(inv: Invocation) -> None:
    credential, client = await _open(inv)
    state = await client.status(credential)
    connected = sum(1 for s in state.servers if s.connected)
    await inv.reply(
        text=f"Atoti Limits {credential.instance}: up, {connected} connected server(s)",
        blocks=blocks.status(credential.instance, state),
    )


@family.command(
    "breaches",
    "Breach and Warning incidents of an as-of date (default: the latest)",
    args=[
        Date("date", optional=True),
        Number("page", optional=True, minimum=1, label="N", after="page"),
    ],
)
async def breaches(inv: Invocation) -> None:
    instance = take_instance(inv)
    as_of = inv.a.date("date")
    day = as_of.isoformat() if as_of else None
    page = inv.a.number("page") or 1
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


@family.command("limit", "a limit, its structure and its latest evaluation", args=[Word("id")])
async def limit(inv: Invocation) -> None:
    instance = take_instance(inv)
    limit_id = inv.a.text("id")
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


@family.command("pending", "limits waiting for approval, with Approve / Reject buttons", args=[])
async def pending(inv: Invocation) -> None:
    instance = take_instance(inv)
    if not inv.share:
        text, blks = await views.pending(inv.services, inv.user_id, instance)
        await inv.reply(text=text, blocks=blks)
        return
    # Shared: posted with chat.postMessage, so every copy of a card can be updated later.
    services = inv.services
    credential, client = await _session(services, inv.user_id, instance)
    items = await client.pending(credential)
    cards, ids = await views.pending_cards(services, credential.instance, items, for_channel=True)
    blks = blocks.pending(credential.instance, cards, shared_by=inv.user_id)
    text = f"{len(items)} limit(s) waiting for approval on {credential.instance}"
    await approval_flow.share(inv, text, blks, ids, "the limits waiting for approval")


def register(app: AsyncApp, settings: Settings) -> None:
    """Nothing beyond the slash command: its cards' buttons are the approval flow's."""
