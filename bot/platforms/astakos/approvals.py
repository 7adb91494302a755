"""Which approval an Astakos commission, application or membership request is, and the card
data it carries: one place, so `/astakos` and a digest register the same approval and a click
on any copy updates every copy. (What each kind does on a click: `kinds.py`.)"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bot import errors
from bot.approval_kinds import FIGURES, Figures
from bot.approvals import Approval
from bot.blocks import astakos as cards
from bot.blocks import open_in
from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.models import Application, Commission, Membership, Project, amount
from bot.platforms.astakos.platform import SERVICE, AstakosPlatform
from bot.platforms.base import Credential

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

PLATFORM = "astakos"
SERVICE_TOKEN = "service token"
ROLES = {"user": "", "service": SERVICE}  # the kind of token a call needs -> its link role


async def names(
    client: AstakosClient, credential: Credential, uuids: Iterable[str]
) -> dict[str, str]:
    """uuid -> username; unknown ones are left out (and shown as uuids)."""
    wanted = sorted({u for u in uuids if u})
    if not wanted:
        return {}
    try:
        return await client.usernames(
            token=credential.secret, uuids=wanted, as_service=credential.kind == SERVICE_TOKEN
        )
    except errors.PlatformError as error:
        log.info("astakos user catalog unavailable: %s", type(error).__name__)
        return {}


def ui(services: Services, instance: str) -> str | None:
    """The instance's Astakos UI (its `ui_url`, or `/ui` beside `/identity/v2.0`)."""
    return services.platforms.get(AstakosPlatform).ui_url(instance)


def commission_project(c: Commission) -> str | None:
    """The project a commission draws from (a member's provision's source, else a project
    holder): what its card opens, Astakos having no page for a commission."""
    labels = [p.source or "" for p in c.provisions] + [p.holder for p in c.provisions]
    return next(
        (uuid for kind, _, uuid in (x.partition(":") for x in labels) if kind == "project"), None
    )


def client(services: Services, instance: str) -> AstakosClient:
    return services.platforms.get(AstakosPlatform).client(instance)


async def credential_for(
    services: Services, user_id: str, instance: str | None, needs: str | None, command: str
) -> Credential:
    """The person's token that can answer `command`: of the kind it needs ("user" or
    "service"; None: either, the user token first), on `instance` or the first linked one
    holding that kind. Only the other kind linked: refused early with the link command that
    adds the missing one (no platform call)."""
    linked = await services.accounts.credentials(user_id, PLATFORM, instance)
    if not linked:
        raise errors.NotLinked(PLATFORM, instance)
    if needs is None:
        return linked[0]
    for credential in linked:
        if credential.role == ROLES[needs]:
            return credential
    first = linked[0]
    raise errors.NotAllowed(
        cards.wrong_token(command, needs, first.instance, first.account), markup=True
    )


def wrong_token(credential: Credential, needs: str, command: str) -> str | None:
    """Why `command` cannot run with this credential when the linked token is of the other
    kind ("user" or "service" needed), or None."""
    if credential.kind and credential.kind != f"{needs} token":
        return cards.wrong_token(command, needs, credential.instance, credential.account)
    return None


def holder(label: str | None, known: dict[str, str]) -> str:
    """A quota holder or source label (`user:<uuid>`, `project:<uuid>`) in words."""
    if not label:
        return ""
    kind, _, uuid = label.partition(":")
    if kind == "user":
        return known.get(uuid, uuid)
    if uuid in known:  # a user's system project has the user's uuid
        return f"personal project of {known[uuid]}"
    return f"project {cards.short_id(uuid)}"


def _page(services: Services, instance: str, path: str, **parts: str | None) -> str:
    """A card's "Open in Astakos" page, or "" (no UI known, or no project to open)."""
    if any(not v for v in parts.values()):
        return ""
    given = {k: str(v) for k, v in parts.items()}
    return open_in.page(ui(services, instance), path, None, **given) or ""


async def register(
    services: Services, instance: str, kind: str, target: str, summary: str, payload: dict[str, Any]
) -> Approval:
    """The approval for something the platform says is still waiting."""
    return await services.approvals.register(
        platform=PLATFORM,
        instance=instance,
        kind=kind,
        target=target,
        summary=summary,
        payload=payload,
    )


async def register_commission(
    services: Services,
    instance: str,
    c: Commission,
    known: dict[str, str],
    figures: Figures | None = None,
) -> Approval:
    """The commission's approval, its card data (with what accepting it changes, `figures`,
    from `bot.platforms.astakos.figures`) as Astakos says now."""
    payload = cards.CommissionPayload(
        serial=c.serial,
        name=c.name,
        issued=c.issue_time.isoformat(),
        provisions=[
            cards.ProvisionLine(
                holder=holder(p.holder, known),
                source=holder(p.source, known),
                resource=p.resource,
                quantity=p.quantity,
            )
            for p in c.provisions
        ],
        open_url=_page(services, instance, open_in.ASTAKOS_PROJECT, project=commission_project(c)),
        requester=next(
            (holder(p.holder, known) for p in c.provisions if p.holder.startswith("user:")), ""
        ),
    )
    data = {**payload.model_dump(), FIGURES: figures.as_payload() if figures else None}
    record = await register(
        services,
        instance,
        "commission",
        str(c.serial),
        f"commission {c.serial} {c.name}".strip(),
        data,
    )
    return await services.approvals.refresh(record, data)


def grant_lines(resources: dict[str, Any]) -> list[str]:
    """What an application asks for, a line per resource."""
    out = []
    for resource, g in sorted(resources.items()):
        if g.project_capacity is None:
            continue
        member = (
            f" ({amount(resource, g.member_capacity)} per member)"
            if g.member_capacity is not None
            else ""
        )
        out.append(f"{cards.pretty(resource)} {amount(resource, g.project_capacity)}{member}")
    return out


async def register_application(
    services: Services, instance: str, p: Project, app: Application, known: dict[str, str]
) -> Approval:
    payload = cards.ApplicationPayload(
        project_id=p.id,
        project=app.name or p.name,
        app_id=app.id,
        applicant=known.get(app.applicant or "", app.applicant or ""),
        comments=app.comments,
        new_project=p.state == "uninitialized",
        end_date=app.end_date.isoformat() if app.end_date else "",
        resources=grant_lines(app.resources),
        open_url=_page(
            services, instance, open_in.ASTAKOS_APPLICATION, project=p.id, app=str(app.id)
        ),
    )
    return await register(
        services,
        instance,
        "application",
        f"{p.id}:{app.id}",
        f"application {app.id} for {p.name}",
        payload.model_dump(),
    )


# A join (or leave) request waiting for the project owner's decision.
PENDING_MEMBERSHIP = ("requested", "leave_requested")


async def register_membership(
    services: Services, instance: str, m: Membership, project_id: str, project_name: str, user: str
) -> Approval:
    since = m.timestamps.get(m.state)
    payload = cards.MembershipPayload(
        membership_id=m.id,
        project_id=project_id,
        project=project_name,
        user=user,
        state=m.state,
        since=since.isoformat() if since else "",
        open_url=_page(services, instance, open_in.ASTAKOS_PENDING_MEMBERS, project=project_id),
    )
    return await register(
        services,
        instance,
        "membership",
        str(m.id),
        f"{user} in {project_name}",
        payload.model_dump(),
    )
