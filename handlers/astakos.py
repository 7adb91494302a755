"""/astakos: Synnefo Astakos with the caller's own token.

Two kinds of token exist: a user token (quotas, projects, members) and a service (component)
token, e.g. Cyclades', for commissions. A command answers a token of the wrong kind with what
to link instead. Every subcommand takes an optional `@instance`; without it the caller's first
linked Astakos instance is used. Lists with approval cards take `share` to post them in the
channel (every copy is updated in place after a click).

Approval buttons go through the shared flow in `bot.approvals.act`: the clicker's own
credential, the operators' restriction, an atomic claim, one platform call, an audit row, every
copy re-drawn. Reject / Deny ask for an optional reason in a modal first.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import errors, messages, suggest
from bot.approvals import (
    ACTING,
    ALREADY,
    DONE,
    FAILED,
    GONE,
    NOT_ALLOWED,
    PENDING,
    WORKING,
    Approval,
    act,
    approval_id,
    update_copies,
    when_text,
)
from bot.blocks import astakos as blocks
from bot.blocks import common as b
from bot.blocks import open_in
from bot.commands import CommandFamily, Invocation, guarded, make_listener
from bot.config import Settings
from bot.interactions import Click, on_click
from bot.platforms.astakos import approvals as shared
from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.models import Membership, Project
from bot.platforms.base import Credential
from bot.services import Services
from bot.store import approvals as approval_rows
from handlers.common import take_instance

log = logging.getLogger(__name__)

family = CommandFamily("astakos", "Synnefo Astakos")

PLATFORM = "astakos"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
PENDING_MEMBERSHIP = shared.PENDING_MEMBERSHIP

View = tuple[str, list[b.Block], list[str]]  # text, blocks, approval ids shown


# -- sessions and token kinds --------------------------------------------------------------


async def _session(
    services: Services, user_id: str, instance: str | None
) -> tuple[Credential, AstakosClient]:
    credential = await services.accounts.credential(user_id, PLATFORM, instance)
    return credential, _client(services, credential.instance)


def _client(services: Services, instance: str) -> AstakosClient:
    return services.platforms[PLATFORM].client(instance)  # type: ignore[attr-defined]


def _needs(credential: Credential, needs: str, command: str) -> None:
    """Refuse early (no platform call) when the linked token is of the other kind."""
    if credential.kind and credential.kind != f"{needs} token":
        raise errors.NotAllowed(
            blocks.wrong_token(command, needs, credential.instance, credential.account), markup=True
        )


async def _checked(work: Awaitable[Any], credential: Credential, needs: str, command: str) -> Any:
    """The client's own check (after a 401) that the token was of the wrong kind."""
    try:
        return await work
    except errors.Forbidden as error:
        if error.detail.startswith("this needs a"):
            raise errors.NotAllowed(
                blocks.wrong_token(command, needs, credential.instance, credential.account),
                markup=True,
            ) from None
        raise


async def _open(
    inv: Invocation, needs: str | None = None, command: str = ""
) -> tuple[Credential, AstakosClient]:
    credential, client = await _session(inv.services, inv.user_id, take_instance(inv))
    if needs:
        _needs(credential, needs, command or inv.command)
    return credential, client


# -- whoami, whois, quotas -----------------------------------------------------------------


@family.command("whoami", "whoami", "who your token belongs to: user, uuid, service endpoints")
async def whoami(inv: Invocation) -> None:
    credential, client = await _open(inv)
    info = await client.authenticate(token=credential.secret)
    who = info.username or info.name
    await inv.reply(
        text=f"Astakos {credential.instance}: {b.escape(who)} ({info.kind} token)",
        blocks=blocks.whoami(credential.instance, info),
    )


@family.command("whois", "whois <uuid|username> ...", "username ↔ uuid from the user catalogs")
async def whois(inv: Invocation) -> None:
    credential, client = await _open(inv)
    asked = inv.words()
    if not asked:
        raise errors.UserError("Give a uuid or a username: `/astakos whois alice@example.org`.")
    uuids = [a for a in asked if UUID_RE.match(a)]
    names = [a for a in asked if not UUID_RE.match(a)]
    found = await client.catalogs(
        token=credential.secret,
        uuids=uuids,
        usernames=names,
        as_service=credential.kind == "service token",
    )
    answers = [
        (a, found.uuid_catalog.get(a) if UUID_RE.match(a) else found.displayname_catalog.get(a))
        for a in asked
    ]
    await inv.reply(
        text=f"whois on {credential.instance}", blocks=blocks.whois(credential.instance, answers)
    )


@family.command(
    "quotas",
    "quotas [project] | all [user=…] [project=…]",
    "limit / usage / pending per resource, closest to the limit first; `all`: "
    "every member's and project's quotas on your service (service token)",
)
async def quotas(inv: Invocation) -> None:
    if inv.arg(0, "").lower() == "all":
        await _service_quotas(inv)
        return
    credential, client = await _open(inv, "user", "/astakos quotas")
    project = inv.arg(0)
    token = credential.secret
    shown = project
    if project and not UUID_RE.match(project):
        found = await _find_project(client, credential, project)
        project, shown = found.id, found.name
    lines, projects = await _checked(
        asyncio.gather(client.quotas(token=token, project=project), client.projects(token=token)),
        credential,
        "user",
        "/astakos quotas",
    )
    names = {p.id: ("personal (system)" if p.system_project else p.name) for p in projects}
    await inv.reply(
        text=f"{len(lines)} quota line(s) on {credential.instance}",
        blocks=blocks.quotas(credential.instance, lines, names, shown),
    )


async def _service_quotas(inv: Invocation) -> None:
    """`/astakos quotas all [user=…] [project=…]`: the service's quotas, members' and
    projects', nearest the limit first."""
    command = "/astakos quotas all"
    credential, client = await _open(inv, "service", command)
    options = inv.options()
    unknown = sorted(set(options) - {"user", "project"})
    if unknown or len(inv.words()) > 1:
        raise errors.UserError(
            "Narrow it with `user=` and `project=`: `/astakos quotas all "
            "user=alice@example.org project=<project uuid>`."
        )
    token = credential.secret
    user = options.get("user")
    if user and not UUID_RE.match(user):
        found = await client.uuids(token=token, usernames=[user], as_service=True)
        if user not in found:
            raise errors.UserError(f"No Astakos user `{b.escape(user)}` on {credential.instance}.")
        user = found[user]
    project = options.get("project")
    members, projects = await _checked(
        asyncio.gather(
            client.service_quotas(token=token, user=user, project=project),
            client.service_project_quotas(token=token, project=project) if not user else _nothing(),
        ),
        credential,
        "service",
        command,
    )
    names = await shared.names(client, credential, [q.holder or "" for q in members])
    service = credential.details.get("service") or credential.account
    scope = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
    await inv.reply(
        text=f"{len(members) + len(projects)} quota line(s) of {service} on {credential.instance}",
        blocks=blocks.service_quotas(credential.instance, service, members, projects, names, scope),
    )


async def _nothing() -> list:
    return []


# -- commissions ---------------------------------------------------------------------------


async def _stored(services: Services, approvals: Iterable[str]) -> list[Approval]:
    out = []
    for approval in approvals:
        try:
            out.append(await services.approvals.get(approval))
        except errors.UserError:
            continue
    return out


async def _commissions_view(
    services: Services,
    user_id: str,
    instance: str | None,
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await _session(services, user_id, instance)
    _needs(credential, "service", "/astakos commissions")
    acted = list(acted)
    details = await _checked(
        client.pending_commission_details(token=credential.secret),
        credential,
        "service",
        "/astakos commissions",
    )
    uuids = [
        part.partition(":")[2]
        for c in details
        for p in c.provisions
        for part in (p.holder, p.source or "")
    ]
    names = await shared.names(client, credential, uuids)
    pending = [
        await shared.register_commission(services, credential.instance, c, names) for c in details
    ]
    pending_ids = {a.id for a in pending}
    # Acted on from this list and resolved since: shown first with who / when / result.
    previous = [a for a in await _stored(services, acted) if a.id not in pending_ids]
    shown = previous + pending
    cards = [(a, blocks.card(a, view="commissions")) for a in shown]
    service = credential.details.get("service") or credential.account
    blks, ids = blocks.commissions(credential.instance, service, cards, note)
    return f"{len(pending)} pending commission(s) on {credential.instance}", blks, ids


@family.command(
    "commissions",
    "commissions [share]",
    "pending commissions with Accept / Reject and Resolve all (service token)",
)
async def commissions(inv: Invocation) -> None:
    instance = take_instance(inv)
    text, blks, ids = await _commissions_view(inv.services, inv.user_id, instance)
    await _answer(inv, text, blks, ids, "the pending commissions")


async def _commission_view(
    services: Services,
    user_id: str,
    instance: str | None,
    serial: str,
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await _session(services, user_id, instance)
    _needs(credential, "service", "/astakos commission")
    aid = approval_id(PLATFORM, credential.instance, "commission", serial)
    if aid in set(acted):
        record = await services.approvals.get(aid)
    else:
        c = await _checked(
            client.commission(token=credential.secret, serial=int(serial)),
            credential,
            "service",
            "/astakos commission",
        )
        uuids = [
            part.partition(":")[2] for p in c.provisions for part in (p.holder, p.source or "")
        ]
        names = await shared.names(client, credential, uuids)
        record = await shared.register_commission(services, credential.instance, c, names)
    card = blocks.card(record, view="commission", arg=serial, full=True)
    blks = blocks.commission_detail(credential.instance, record, card)
    if note:
        blks.insert(1, b.context(note))
    return f"Commission {serial} on {credential.instance}: {record.state}", blks, [record.id]


@family.command(
    "commission",
    "commission <serial> [share]",
    "one commission's provisions (holder, source, resource, quantity)",
)
async def commission(inv: Invocation) -> None:
    instance = take_instance(inv)
    serial = inv.arg(0, "")
    if not serial.isdigit():
        raise errors.UserError(
            "Give the commission's serial number: `/astakos commission 56` "
            "(serials are in `/astakos commissions`)."
        )
    text, blks, ids = await _commission_view(inv.services, inv.user_id, instance, serial)
    await _answer(inv, text, blks, ids, f"commission {serial}")


# -- projects and members ------------------------------------------------------------------


async def _application_card(
    services: Services,
    instance: str,
    p: Project,
    names: dict[str, str],
    acted: set[str],
    view: str,
    arg: str,
) -> list[b.Block] | None:
    """The application card of a project: pending, or acted on from this list."""
    app = p.last_application
    if app is None:
        return None
    aid = approval_id(PLATFORM, instance, "application", f"{p.id}:{app.id}")
    if aid in acted:
        record = await services.approvals.get(aid)
    elif app.state == "pending":
        record = await shared.register_application(services, instance, p, app, names)
    else:
        return None
    return blocks.card(record, view=view, arg=arg)


async def _projects_view(
    services: Services,
    user_id: str,
    instance: str | None,
    state: str = "",
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await _session(services, user_id, instance)
    _needs(credential, "user", "/astakos projects")
    acted = set(acted)
    found = await _checked(
        client.projects(token=credential.secret, state=state or None),
        credential,
        "user",
        "/astakos projects",
    )
    visible = [p for p in found if not p.system_project]
    ui = services.platforms[PLATFORM].ui_url(credential.instance)
    names = await shared.names(
        client,
        credential,
        [
            u
            for p in visible
            for u in (
                p.owner or "",
                (p.last_application.applicant if p.last_application else "") or "",
            )
        ],
    )
    items: list[tuple[int, list[b.Block]]] = []
    ids = []
    for p in visible:
        card = await _application_card(
            services, credential.instance, p, names, acted, "projects", state
        )
        line = b.section(
            blocks.project_line(p, names.get(p.owner or "", p.owner or "")),
            accessory=open_in.button("Astakos", blocks.project_url(ui, p)),
        )
        if card:
            ids.append(card[0]["block_id"].split("|")[1])
        items.append((0 if card else 1, [line] + (card or [])))
    items.sort(key=lambda item: item[0])  # stable: waiting applications first
    blks = blocks.projects(
        credential.instance, state or None, [i for _, i in items], len(found) - len(visible), note
    )
    return f"{len(visible)} project(s) on {credential.instance}", blks, ids


@family.command(
    "projects",
    "projects [state] [share]",
    "projects (uninitialized, active, ...); pending applications with Approve / Deny",
)
async def projects(inv: Invocation) -> None:
    instance = take_instance(inv)
    state = (inv.arg(0) or "").lower()
    text, blks, ids = await _projects_view(inv.services, inv.user_id, instance, state)
    await _answer(inv, text, blks, ids, "the projects")


async def _find_project(client: AstakosClient, credential: Credential, word: str) -> Project:
    """A project by id, else by name."""
    token = credential.secret
    if UUID_RE.match(word):
        return await _checked(
            client.project(token=token, project_id=word), credential, "user", "/astakos project"
        )
    found = await _checked(
        client.projects(token=token, name=word), credential, "user", "/astakos project"
    )
    if not found:
        every = await _checked(client.projects(token=token), credential, "user", "/astakos project")
        same = suggest.same_name(word, [p.name for p in every])
        found = [p for p in every if p.name == same]
        if not found:
            raise errors.UserError(
                f"No project named {suggest.code(word)} that you can see on Synnefo Astakos "
                f"({credential.instance}).{suggest.did_you_mean(word, [p.name for p in every])}"
                " `/astakos projects` lists them."
            )
    return found[0]


async def _project_view(
    services: Services,
    user_id: str,
    instance: str | None,
    word: str,
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await _session(services, user_id, instance)
    _needs(credential, "user", "/astakos project")
    p = await _find_project(client, credential, word)
    app = p.last_application
    names = await shared.names(
        client, credential, [p.owner or "", (app.applicant if app else "") or ""]
    )
    card = await _application_card(
        services, credential.instance, p, names, set(acted), "project", p.id
    )
    owner = names.get(p.owner or "", p.owner or "")
    blks = blocks.project_detail(
        credential.instance,
        p,
        owner,
        card or [],
        note,
        services.platforms[PLATFORM].ui_url(credential.instance),
    )
    ids = [card[0]["block_id"].split("|")[1]] if card else []
    return f"Project {p.name} on {credential.instance}: {p.state}", blks, ids


@family.command(
    "project",
    "project <id|name> [share]",
    "one project: state, resources, a pending application with Approve / Deny",
)
async def project(inv: Invocation) -> None:
    instance = take_instance(inv)
    word = inv.arg(0)
    if not word:
        raise errors.UserError(
            "Give the project's id or name: `/astakos project chem.example.org`."
        )
    text, blks, ids = await _project_view(inv.services, inv.user_id, instance, word)
    await _answer(inv, text, blks, ids, "the project")


async def _members_view(
    services: Services,
    user_id: str,
    instance: str | None,
    word: str,
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await _session(services, user_id, instance)
    _needs(credential, "user", "/astakos members")
    acted = set(acted)
    p = await _find_project(client, credential, word)
    found: list[Membership] = await _checked(
        client.memberships(token=credential.secret, project_id=p.id),
        credential,
        "user",
        "/astakos members",
    )
    names = await shared.names(client, credential, [m.user for m in found])
    cards, others, ids = [], [], []
    for m in sorted(found, key=lambda m: (m.state not in PENDING_MEMBERSHIP, m.id)):
        user = names.get(m.user, m.user)
        aid = approval_id(PLATFORM, credential.instance, "membership", str(m.id))
        record = None
        if aid in acted:
            record = await services.approvals.get(aid)
        elif m.state in PENDING_MEMBERSHIP:
            record = await shared.register_membership(
                services, credential.instance, m, p.id, p.name, user
            )
        if record is not None:
            cards.append(blocks.card(record, view="members", arg=p.id))
            ids.append(record.id)
        else:
            others.append(blocks.member_line(m, user))
    blks = blocks.members(credential.instance, p, cards, others, note)
    return f"{len(found)} membership(s) of {p.name}", blks, ids


@family.command(
    "members", "members <project> [share]", "memberships; pending requests with Accept / Reject"
)
async def members(inv: Invocation) -> None:
    instance = take_instance(inv)
    word = inv.arg(0)
    if not word:
        raise errors.UserError(
            "Give the project's id or name: `/astakos members chem.example.org`."
        )
    text, blks, ids = await _members_view(inv.services, inv.user_id, instance, word)
    await _answer(inv, text, blks, ids, "the members")


# -- replying: ephemeral, or posted in the channel with every copy recorded -----------------


async def _answer(
    inv: Invocation, text: str, blks: list[b.Block], ids: list[str], what: str
) -> None:
    if not inv.share:
        await inv.reply(text=text, blocks=blks)
        return
    try:
        posted = await inv.services.slack.chat_postMessage(
            channel=inv.channel_id, text=text, blocks=blks
        )
    except SlackApiError as error:
        raise errors.UserError(
            blocks.CANT_POST.format(error=error.response.get("error", "refused"))
        ) from None
    for approval in ids:
        await inv.services.approvals.record_copy(approval, posted["channel"], posted["ts"], blks)
    await inv.respond(
        text=blocks.POSTED.format(what=what, channel=posted["channel"]),
        response_type="ephemeral",
        replace_original=inv.working_shown,
    )


VIEWS: dict[str, Callable[..., Awaitable[View]]] = {
    "commissions": lambda s, u, i, arg, **kw: _commissions_view(s, u, i, **kw),
    "commission": _commission_view,
    "projects": _projects_view,
    "project": _project_view,
    "members": _members_view,
}


async def _redraw(
    services: Services,
    user_id: str,
    instance: str,
    view: str,
    arg: str,
    acted: list[str],
    note: str = "",
) -> tuple[str, list[b.Block]] | None:
    fn = VIEWS.get(view)
    if fn is None:
        return None
    try:
        text, blks, _ = await fn(services, user_id, instance, arg, acted=acted, note=note)
    except errors.BotError as error:
        log.info("could not re-draw %s: %s", view, type(error).__name__)
        return None
    return text, blks


# -- approval buttons ----------------------------------------------------------------------


def _kind(record: Approval, action: str) -> blocks.Kind:
    kind = blocks.KINDS.get(record.kind)
    if record.platform != PLATFORM or kind is None or action not in (kind.direct, kind.reasoned):
        raise errors.UserError(
            "That button is out of date. Run the command again to get a fresh one."
        )
    return kind


def _refused(error: errors.PlatformError, credential: Credential, kind: blocks.Kind) -> str:
    if isinstance(error, errors.Forbidden) and error.detail.startswith("this needs a"):
        return blocks.wrong_token(
            f"{kind.direct_button} / {kind.reasoned_button}",
            kind.token,
            credential.instance,
            credential.account,
        )
    return messages.for_error(error)


def _perform(
    services: Services, record: Approval, kind: blocks.Kind, action: str, reason: str
) -> Callable[[Credential], Awaitable[str]]:
    async def perform(credential: Credential) -> str:
        _needs(credential, kind.token, f"{kind.direct_button} / {kind.reasoned_button}")
        client = _client(services, credential.instance)
        token = credential.secret
        if record.kind == "commission":
            serial = int(record.target)
            if action == "accept":
                await client.accept_commission(token=token, serial=serial)
            else:
                await client.reject_commission(token=token, serial=serial)
        elif record.kind == "application":
            project_id, _, app_id = record.target.rpartition(":")
            await client.application_action(
                token=token, project_id=project_id, app_id=int(app_id), action=action, reason=reason
            )
        else:
            await client.membership_action(
                token=token, membership_id=int(record.target), action=action, reason=reason
            )
        verb = kind.direct_verb if action == kind.direct else kind.reasoned_verb
        return f"{verb} · reason: {reason}" if reason else verb

    return perform


async def _run_act(click: Click, card_ref: blocks.CardRef, reason: str = "") -> None:
    services = click.services
    record: Approval | None = None
    try:
        record = await services.approvals.get(card_ref.approval)
        kind = _kind(record, card_ref.action)
        verb = kind.direct_verb if card_ref.action == kind.direct else kind.reasoned_verb

        def render(a: Approval) -> list[b.Block]:
            return blocks.card(
                a, view=card_ref.view, arg=card_ref.arg, full=card_ref.view == "commission"
            )

        # The wrong kind of token is refused before anything is claimed (NotLinked is left
        # to act(), which says how to link).
        try:
            credential = await services.accounts.credential(
                click.user_id, PLATFORM, record.instance
            )
        except errors.NotLinked:
            pass
        else:
            _needs(credential, kind.token, f"{kind.direct_button} / {kind.reasoned_button}")

        async def redraw_list() -> tuple[str, list[b.Block]]:
            # Only for a message that is not a recorded copy: the clicker's ephemeral list.
            latest = await services.approvals.get(card_ref.approval)
            drawn = await _redraw(
                services, click.user_id, latest.instance, card_ref.view, card_ref.arg, [latest.id]
            )
            return drawn or (f"{latest.summary}: {latest.state}", render(latest))

        await act(
            click,
            approval=record.id,
            action=card_ref.action,
            verb=verb,
            permission=kind.permission,
            perform=_perform(services, record, kind, card_ref.action, reason),
            render=render,
            refresh=redraw_list if card_ref.view in VIEWS else None,
        )
    except errors.BotError as error:
        await _audit_refusal(services, click.user_id, card_ref.action, record, error)
        raise


async def _audit_refusal(
    services: Services, user_id: str, action: str, record: Approval | None, error: errors.BotError
) -> None:
    """A click that changed nothing (not linked, not allowed, wrong token) is audited too."""
    if record is None:
        return
    await services.audit.record(
        user_id=user_id,
        action=f"{PLATFORM}.{action}",
        platform=PLATFORM,
        instance=record.instance,
        target=record.target,
        result="refused",
        detail=type(error).__name__,
    )


async def act_clicked(click: Click) -> None:
    await _run_act(click, click.parse(blocks.CardRef))


def _already(record: Approval) -> str:
    if record.state == ACTING:
        return WORKING.format(actor=record.actor)
    kind = blocks.KINDS[record.kind]
    verb = {kind.direct: kind.direct_verb, kind.reasoned: kind.reasoned_verb}.get(
        record.action, record.action
    )
    result = f" ({record.result})" if record.result else ""
    return ALREADY.format(
        verb=verb, actor=record.actor, when=when_text(record.acted_at), result=result
    )


async def ask_reason_clicked(click: Click) -> None:
    """Reject / Deny: the same checks as the action itself, then the reason modal."""
    card_ref = click.parse(blocks.CardRef)
    services = click.services
    record: Approval | None = None
    try:
        record = await services.approvals.get(card_ref.approval)
        kind = _kind(record, card_ref.action)
        credential = await services.accounts.credential(click.user_id, PLATFORM, record.instance)
        if not await services.approvals.allowed(
            services.slack, kind.permission, click.user_id, services.settings.approvers
        ):
            raise errors.NotAllowed(NOT_ALLOWED.format(verb=card_ref.action))
        _needs(credential, kind.token, f"{kind.direct_button} / {kind.reasoned_button}")
    except errors.BotError as error:
        await _audit_refusal(services, click.user_id, card_ref.action, record, error)
        raise
    if record.state not in (PENDING, FAILED):
        await click.respond(
            text=_already(record), response_type="ephemeral", replace_original=False
        )
        return
    container = click.body.get("container") or {}
    meta = blocks.ReasonMeta(
        approval=record.id,
        action=card_ref.action,
        view=card_ref.view,
        arg=card_ref.arg,
        response_url=str(click.body.get("response_url") or ""),
        channel=str(container.get("channel_id") or ""),
        ts=str(container.get("message_ts") or ""),
    )
    await click.client.views_open(
        trigger_id=click.trigger_id,
        view=blocks.reason_modal(record, card_ref.action, blocks.metadata_json(meta)),
    )


async def _quiet(**_: Any) -> None:
    """A respond that says nothing (used where a later, single reply covers it)."""


async def on_reason_submit(ack: Any, body: dict[str, Any], client: Any, context: Any) -> None:
    await ack()  # closes the modal; the work and its answer follow
    services: Services = context["services"]
    user_id = body["user"]["id"]  # the acting person comes from Slack, never the metadata
    view = body.get("view") or {}
    try:
        meta = blocks.ReasonMeta.model_validate_json(view.get("private_metadata") or "")
    except ValidationError:
        log.warning("astakos reason submission with unusable private_metadata from %s", user_id)
        return
    state = (view.get("state") or {}).get("values") or {}
    reason = ((state.get(blocks.REASON_BLOCK) or {}).get(blocks.REASON_INPUT) or {}).get(
        "value"
    ) or ""
    respond: Any = services.responder.to(meta.response_url) if meta.response_url else _quiet
    message_body: dict[str, Any] = {
        "user": body["user"],
        "container": {"type": "message", "channel_id": meta.channel, "message_ts": meta.ts},
    }
    click = Click(
        services=services,
        user_id=user_id,
        action_id=blocks.REASON_CALLBACK,
        value="",
        respond=respond,
        client=client,
        body=message_body,
    )
    card_ref = blocks.CardRef(
        approval=meta.approval, action=meta.action, view=meta.view, arg=meta.arg
    )
    await guarded(respond, _run_act(click, card_ref, reason.strip()), replace=False)


# -- Resolve all ---------------------------------------------------------------------------


async def resolve_all_clicked(click: Click) -> None:
    """Claim every shown commission still open, accept them in one call, finish each per
    Astakos' answer, audit each, and update every copy."""
    target = click.parse(blocks.ResolveRef)
    services = click.services
    kind = blocks.KINDS["commission"]
    first: Approval | None = None
    ids = [approval_id(PLATFORM, target.instance, "commission", str(s)) for s in target.serials]
    try:
        first = (await _stored(services, ids[:1]) or [None])[0]
        credential = await services.accounts.credential(click.user_id, PLATFORM, target.instance)
        if not await services.approvals.allowed(
            services.slack, kind.permission, click.user_id, services.settings.approvers
        ):
            raise errors.NotAllowed(NOT_ALLOWED.format(verb="resolve"))
        _needs(credential, "service", "Resolve all")
    except errors.BotError as error:
        await _audit_refusal(services, click.user_id, "accept", first, error)
        raise
    claimed: list[Approval] = []
    skipped: list[Approval] = []
    for approval in ids:
        try:
            won, record = await services.approvals.claim(approval, click.user_id, "accept")
        except KeyError:
            continue
        (claimed if won else skipped).append(record)
    if not claimed:
        lines = [f"{a.target}: {_already(a)}" for a in skipped]
        await click.respond(
            text="\n".join([blocks.RESOLVE_NOTHING, *lines]),
            response_type="ephemeral",
            replace_original=False,
        )
        return
    finished = await _resolve(services, credential, claimed)
    for record in finished:
        await services.audit.record(
            user_id=click.user_id,
            action=f"{PLATFORM}.accept",
            platform=PLATFORM,
            instance=record.instance,
            target=record.target,
            result={DONE: "ok", GONE: "gone", FAILED: "failed"}.get(record.state, record.state),
            detail=f"resolve all: {record.result}",
        )
    await _update_after_resolve(click, target, finished, skipped)


async def _resolve(
    services: Services, credential: Credential, claimed: list[Approval]
) -> list[Approval]:
    client = _client(services, credential.instance)
    serials = [int(a.target) for a in claimed]

    async def finish_all(state: str, result: str) -> list[Approval]:
        return [await services.approvals.finish(a.id, state, result) for a in claimed]

    try:
        resolution = await client.resolve_commissions(token=credential.secret, accept=serials)
    except (errors.Unauthorized, errors.Forbidden) as error:
        await finish_all(FAILED, blocks.INTERRUPTED)
        raise errors.NotAllowed(
            _refused(error, credential, blocks.KINDS["commission"]), markup=True
        ) from None
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


async def _update_after_resolve(
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
        respond=_quiet,
        client=click.client,
        body=click.body,
    )

    def render(a: Approval) -> list[b.Block]:
        return blocks.card(a, view=target.view)

    for record in finished:  # every recorded copy, by chat.update
        await update_copies(services, quiet, record, render, None)
    container = click.body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    copy = await _recorded_copy(services, finished[0].id, channel, ts)
    if copy is not None:
        # A channel copy: its cards are updated; take the spent Resolve all button away.
        blks = [x for x in copy if x.get("block_id") != blocks.RESOLVE_BLOCK]
        try:
            await services.slack.chat_update(channel=channel, ts=ts, text=summary, blocks=blks)
            await services.store.run(approval_rows.save_blocks, channel, ts, blks)
        except SlackApiError as error:
            log.warning("could not update %s/%s: %s", channel, ts, error.response.get("error"))
        await click.respond(text=summary, response_type="ephemeral", replace_original=False)
        return
    drawn = await _redraw(
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
        await click.respond(text=summary, response_type="ephemeral", replace_original=False)


async def _recorded_copy(
    services: Services, approval: str, channel: str | None, ts: str | None
) -> list[b.Block] | None:
    for copy in await services.store.run(approval_rows.copies, approval):
        if copy["channel"] == channel and copy["ts"] == ts:
            return copy["blocks"]
    return None


def register(app: AsyncApp, settings: Settings) -> None:
    app.command(settings.commands.astakos)(make_listener(family, settings.commands.astakos))
    app.action(blocks.ACT)(on_click(act_clicked))
    app.action(blocks.ASK_REASON)(on_click(ask_reason_clicked))
    app.action(blocks.RESOLVE_ALL)(on_click(resolve_all_clicked))
    app.view(blocks.REASON_CALLBACK)(on_reason_submit)
