"""The Astakos lists that carry approval cards (commissions, one commission, projects, one
project, members), drawn for one person with their own token: by `/astakos` and again after a
click on one of their cards (Slack sends no blocks of an ephemeral message, so the list is
drawn anew, with the cards acted on from it shown first).

Two kinds of token exist: a user token (quotas, projects, members) and a service (component)
token, e.g. Cyclades', for commissions. A list refuses a token of the wrong kind early, with
what to link instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from bot import errors, suggest
from bot.approvals import Approval, approval_id
from bot.blocks import astakos as blocks
from bot.blocks import common as b
from bot.blocks import open_in
from bot.platforms.astakos import approvals as shared
from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.figures import commission_figures
from bot.platforms.astakos.models import Membership, Project
from bot.platforms.base import Credential

if TYPE_CHECKING:
    from bot.approval_kinds import Place
    from bot.services import Services

log = logging.getLogger(__name__)

PLATFORM = shared.PLATFORM
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

View = tuple[str, list[b.Block], list[str]]  # text, blocks, approval ids shown
T = TypeVar("T")


# -- sessions and token kinds --------------------------------------------------------------


async def session(
    services: Services,
    user_id: str,
    instance: str | None,
    kind: str | None = None,
    command: str = "",
) -> tuple[Credential, AstakosClient]:
    """The person's token that can answer (`kind`: "user" or "service"; None: either) and
    the instance's client; with only the other kind linked, the refusal says what to link."""
    credential = await shared.credential_for(services, user_id, instance, kind, command)
    return credential, shared.client(services, credential.instance)


async def checked(work: Awaitable[T], credential: Credential, kind: str, command: str) -> T:
    """The client's own check (after a 401) that the token was of the wrong kind."""
    try:
        return await work
    except errors.Forbidden as error:
        if error.detail.startswith("this needs a"):
            raise errors.NotAllowed(
                blocks.wrong_token(command, kind, credential.instance, credential.account),
                markup=True,
            ) from None
        raise


async def stored(services: Services, approvals: Iterable[str]) -> list[Approval]:
    out = []
    for approval in approvals:
        try:
            out.append(await services.approvals.get(approval))
        except errors.UserError:
            continue
    return out


# -- commissions ---------------------------------------------------------------------------


async def commissions(
    services: Services,
    user_id: str,
    instance: str | None,
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await session(
        services, user_id, instance, "service", "/astakos commissions"
    )
    acted = list(acted)
    details = await checked(
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
    figures = await commission_figures(client, credential, details, names)
    pending = [
        await shared.register_commission(services, credential.instance, c, names, figures[c.serial])
        for c in details
    ]
    pending_ids = {a.id for a in pending}
    # Acted on from this list and resolved since: shown first with who / when / result.
    previous = [a for a in await stored(services, acted) if a.id not in pending_ids]
    shown = previous + pending
    cards = [(a, blocks.card(a, view="commissions")) for a in shown]
    service = credential.details.get("service") or credential.account
    blks, ids = blocks.commissions(credential.instance, service, cards, note)
    return f"{len(pending)} pending commission(s) on {credential.instance}", blks, ids


async def commission(
    services: Services,
    user_id: str,
    instance: str | None,
    serial: str,
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await session(
        services, user_id, instance, "service", "/astakos commission"
    )
    aid = approval_id(PLATFORM, credential.instance, "commission", serial)
    if aid in set(acted):
        record = await services.approvals.get(aid)
    else:
        c = await checked(
            client.commission(token=credential.secret, serial=int(serial)),
            credential,
            "service",
            "/astakos commission",
        )
        uuids = [
            part.partition(":")[2] for p in c.provisions for part in (p.holder, p.source or "")
        ]
        names = await shared.names(client, credential, uuids)
        figures = await commission_figures(client, credential, [c], names)
        record = await shared.register_commission(
            services, credential.instance, c, names, figures[c.serial]
        )
    card = blocks.card(record, view="commission", arg=serial, full=True)
    blks = blocks.commission_detail(credential.instance, record, card)
    if note:
        blks.insert(1, b.context(note))
    return f"Commission {serial} on {credential.instance}: {record.state}", blks, [record.id]


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


async def projects(
    services: Services,
    user_id: str,
    instance: str | None,
    state: str = "",
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await session(services, user_id, instance, "user", "/astakos projects")
    acted = set(acted)
    found = await checked(
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


async def find_project(client: AstakosClient, credential: Credential, word: str) -> Project:
    """A project by id, else by name."""
    token = credential.secret
    if UUID_RE.match(word):
        return await checked(
            client.project(token=token, project_id=word), credential, "user", "/astakos project"
        )
    found = await checked(
        client.projects(token=token, name=word), credential, "user", "/astakos project"
    )
    if not found:
        every = await checked(client.projects(token=token), credential, "user", "/astakos project")
        same = suggest.same_name(word, [p.name for p in every])
        found = [p for p in every if p.name == same]
        if not found:
            raise errors.UserError(
                f"No project named {suggest.code(word)} that you can see on Synnefo Astakos "
                f"({credential.instance}).{suggest.did_you_mean(word, [p.name for p in every])}"
                " `/astakos projects` lists them."
            )
    return found[0]


async def project(
    services: Services,
    user_id: str,
    instance: str | None,
    word: str,
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await session(services, user_id, instance, "user", "/astakos project")
    p = await find_project(client, credential, word)
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


async def members(
    services: Services,
    user_id: str,
    instance: str | None,
    word: str,
    acted: Iterable[str] = (),
    note: str = "",
) -> View:
    credential, client = await session(services, user_id, instance, "user", "/astakos members")
    acted = set(acted)
    p = await find_project(client, credential, word)
    found: list[Membership] = await checked(
        client.memberships(token=credential.secret, project_id=p.id),
        credential,
        "user",
        "/astakos members",
    )
    names = await shared.names(client, credential, [m.user for m in found])
    cards, others, ids = [], [], []
    for m in sorted(found, key=lambda m: (m.state not in shared.PENDING_MEMBERSHIP, m.id)):
        user = names.get(m.user, m.user)
        aid = approval_id(PLATFORM, credential.instance, "membership", str(m.id))
        record = None
        if aid in acted:
            record = await services.approvals.get(aid)
        elif m.state in shared.PENDING_MEMBERSHIP:
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


# -- drawn again after a click ---------------------------------------------------------------


async def _commissions(
    services: Services, user_id: str, instance: str | None, _arg: str, **kw: Any
) -> View:
    return await commissions(services, user_id, instance, **kw)


# A card's `view` (carried by its buttons) -> the list it sits in; its `arg` is the list's.
VIEWS: dict[str, Callable[..., Awaitable[View]]] = {
    "commissions": _commissions,
    "commission": commission,
    "projects": projects,
    "project": project,
    "members": members,
}


async def again(
    services: Services,
    user_id: str,
    instance: str,
    view: str,
    arg: str,
    acted: list[str],
    note: str = "",
) -> tuple[str, list[b.Block]] | None:
    """The list `view` drawn again for `user_id`, the approvals `acted` on shown even when
    no longer pending; None when there is no such list or it cannot be drawn now."""
    fn = VIEWS.get(view)
    if fn is None:
        return None
    try:
        text, blks, _ = await fn(services, user_id, instance, arg, acted=acted, note=note)
    except errors.BotError as error:
        log.info("could not re-draw %s: %s", view, type(error).__name__)
        return None
    return text, blks


async def redraw(
    services: Services, user_id: str, approval: Approval, place: Place
) -> tuple[str, list[b.Block]] | None:
    """The clicker's list the card sits in (the approval kinds' `redraw`)."""
    return await again(services, user_id, approval.instance, place.view, place.arg, [approval.id])
