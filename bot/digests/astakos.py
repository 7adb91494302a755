"""Synnefo Astakos in digests and alerts, with the owner's linked token.

What a section shows depends on the kind of token the owner linked:
    service token  pending commissions of that service, with Accept / Reject cards;
    user token     quotas over 80 % of what the owner can really reach, and pending project
                   applications with Approve / Deny cards.
Cards are the ones `/astakos` draws (`bot.blocks.astakos.card`), registered as the same
approvals (same platform, instance, kind, target, summary and payload), so a click in a digest
and a click in a command reply act on one approval and update every copy.

Alert sources (the key is the approval id, stable across polls):
    astakos.commissions   each pending commission (service token), with its card;
                          key `astakos:<instance>:commission:<serial>`.
    astakos.applications  each pending project application (user token), with its card;
                          key `astakos:<instance>:application:<project uuid>:<app id>`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bot import errors
from bot.approvals import GONE, PENDING, Approval
from bot.blocks import astakos as cards
from bot.blocks import digest as blocks
from bot.digests.base import AlertItem, AlertSource, DigestContext, Section
from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.models import Commission, Project
from bot.platforms.base import Credential

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

PLATFORM = "astakos"
TITLE = "Synnefo Astakos"
SERVICE_TOKEN = "service token"
OVER = 0.8  # quotas at or over this fraction of the reachable limit are shown


def _client(ctx: DigestContext) -> AstakosClient:
    platform = ctx.services.platforms[PLATFORM]
    return platform.client(ctx.credential.instance)  # type: ignore[attr-defined]


def _is_service(credential: Credential) -> bool:
    return credential.kind == SERVICE_TOKEN


def _needs(credential: Credential, needs: str) -> None:
    """An alert source for the other kind of token: say so without calling Astakos."""
    if _is_service(credential) != (needs == "service"):
        has = "service" if _is_service(credential) else "user"
        raise errors.Forbidden(f"this needs a {needs} token; a {has} token is linked",
                               platform=PLATFORM, instance=credential.instance)


# -- the same registration as handlers/astakos.py -------------------------------------------

async def _names(client: AstakosClient, credential: Credential,
                 uuids: Iterable[str]) -> dict[str, str]:
    """uuid -> username; unknown ones are left out (and shown as uuids)."""
    wanted = sorted({u for u in uuids if u})
    if not wanted:
        return {}
    try:
        return await client.usernames(token=credential.secret, uuids=wanted,
                                      as_service=_is_service(credential))
    except errors.PlatformError as error:
        log.info("astakos user catalog unavailable: %s", type(error).__name__)
        return {}


def _holder(label: str | None, names: dict[str, str]) -> str:
    if not label:
        return ""
    kind, _, uuid = label.partition(":")
    if kind == "user":
        return names.get(uuid, uuid)
    if uuid in names:  # a user's system project has the user's uuid
        return f"personal project of {names[uuid]}"
    return f"project {cards.short_id(uuid)}"


async def _register(services: Services, instance: str, kind: str, target: str, summary: str,
                    payload: dict[str, Any]) -> Approval:
    """Registered as `/astakos` does: one that ended `gone` but is still pending on Astakos
    is opened again, so the other action stays possible."""
    record = await services.approvals.register(platform=PLATFORM, instance=instance, kind=kind,
                                               target=target, summary=summary, payload=payload)
    if record.state == GONE:
        record = await services.approvals.finish(record.id, PENDING, record.result)
    return record


async def _commission(services: Services, instance: str, c: Commission,
                      names: dict[str, str]) -> Approval:
    payload = cards.CommissionPayload(
        serial=c.serial, name=c.name, issued=c.issue_time.isoformat(),
        provisions=[cards.ProvisionLine(holder=_holder(p.holder, names),
                                        source=_holder(p.source, names),
                                        resource=p.resource, quantity=p.quantity)
                    for p in c.provisions])
    return await _register(services, instance, "commission", str(c.serial),
                           f"commission {c.serial} {c.name}".strip(), payload.model_dump())


def _grant_lines(resources: dict[str, Any]) -> list[str]:
    out = []
    for resource, g in sorted(resources.items()):
        if g.project_capacity is None:
            continue
        member = (f" ({cards.amount(resource, g.member_capacity)} per member)"
                  if g.member_capacity is not None else "")
        out.append(f"{cards.pretty(resource)} {cards.amount(resource, g.project_capacity)}"
                   f"{member}")
    return out


async def _application(services: Services, instance: str, p: Project,
                       names: dict[str, str]) -> Approval:
    app = p.pending_application
    assert app is not None
    payload = cards.ApplicationPayload(
        project_id=p.id, project=app.name or p.name, app_id=app.id,
        applicant=names.get(app.applicant or "", app.applicant or ""),
        comments=app.comments, new_project=p.state == "uninitialized",
        end_date=app.end_date.isoformat() if app.end_date else "",
        resources=_grant_lines(app.resources))
    return await _register(services, instance, "application", f"{p.id}:{app.id}",
                           f"application {app.id} for {p.name}", payload.model_dump())


# -- what is waiting -------------------------------------------------------------------------

async def pending_commissions(ctx: DigestContext) -> list[Approval]:
    client, credential = _client(ctx), ctx.credential
    details = await client.pending_commission_details(token=credential.secret)
    uuids = [part.partition(":")[2] for c in details for p in c.provisions
             for part in (p.holder, p.source or "")]
    names = await _names(client, credential, uuids)
    return [await _commission(ctx.services, credential.instance, c, names) for c in details]


async def pending_applications(ctx: DigestContext, projects: list[Project]) -> list[Approval]:
    client, credential = _client(ctx), ctx.credential
    waiting = [p for p in projects if p.pending_application and not p.system_project]
    names = await _names(client, credential, [
        p.pending_application.applicant or "" for p in waiting if p.pending_application])
    return [await _application(ctx.services, credential.instance, p, names) for p in waiting]


async def section(ctx: DigestContext) -> Section:
    credential = ctx.credential
    title = f"{TITLE} ({credential.instance})"
    if _is_service(credential):
        waiting = await pending_commissions(ctx)
        service = credential.details.get("service") or credential.account
        drawn = blocks.astakos_commissions(service, [cards.card(a) for a in waiting])
        return Section(platform=PLATFORM, title=title, blocks=drawn, empty=not waiting,
                       approvals=blocks.shown_approvals(drawn, [a.id for a in waiting]))
    client, token = _client(ctx), credential.secret
    quotas, projects = await asyncio.gather(client.quotas(token=token),
                                            client.projects(token=token))
    project_names = {p.id: ("personal (system)" if p.system_project else p.name)
                     for p in projects}
    over = sorted((q for q in quotas if q.usage and cards.closeness(q) >= OVER),
                  key=lambda q: (-cards.closeness(q), q.project, q.resource))
    lines = [cards.quota_line(q, project_names.get(q.project, cards.short_id(q.project)))
             for q in over]
    waiting = await pending_applications(ctx, projects)
    drawn = blocks.astakos_user(lines, [cards.card(a) for a in waiting])
    return Section(platform=PLATFORM, title=title, blocks=drawn,
                   empty=not over and not waiting,
                   approvals=blocks.shown_approvals(drawn, [a.id for a in waiting]))


# -- alert sources ---------------------------------------------------------------------------

def _item(a: Approval, what: str) -> AlertItem:
    card = cards.card(a)
    return AlertItem(key=a.id, text=f"New {what} on Astakos ({a.instance}): {a.summary}",
                     blocks=card, approvals=[a.id])


async def new_commissions(ctx: DigestContext) -> list[AlertItem]:
    _needs(ctx.credential, "service")
    return [_item(a, "pending commission") for a in await pending_commissions(ctx)]


async def new_applications(ctx: DigestContext) -> list[AlertItem]:
    _needs(ctx.credential, "user")
    projects = await _client(ctx).projects(token=ctx.credential.secret)
    return [_item(a, "project application") for a in await pending_applications(ctx, projects)]


ALERTS: dict[str, AlertSource] = {
    "astakos.commissions": new_commissions,
    "astakos.applications": new_applications,
}
