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
    astakos.memberships   each join or leave request the owner may decide (Astakos offers
                          them `accept`), with its Accept / Reject card (user token);
                          key `astakos:<instance>:membership:<membership id>`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from bot import charts, errors
from bot.approvals import Approval
from bot.blocks import astakos as cards
from bot.blocks import digest as blocks
from bot.charts import Chart
from bot.digests.base import AlertItem, AlertSource, Block, DigestContext, Section
from bot.filters import INSTANCE, PROJECT
from bot.platforms.astakos import DESCRIPTOR
from bot.platforms.astakos import approvals as shared
from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.figures import commission_figures
from bot.platforms.astakos.models import Project, Quota, amount
from bot.platforms.astakos.platform import SERVICE, AstakosPlatform
from bot.platforms.base import Credential

log = logging.getLogger(__name__)

PLATFORM = DESCRIPTOR.key
TITLE = DESCRIPTOR.title
SERVICE_TOKEN = "service token"
WAITING = "waiting for approval"  # a pending item's state line
OVER = 0.8  # quotas at or over this fraction of the reachable limit are shown


def _client(ctx: DigestContext) -> AstakosClient:
    return ctx.services.platforms.get(AstakosPlatform).client(ctx.credential.instance)


def _is_service(credential: Credential) -> bool:
    return credential.kind == SERVICE_TOKEN


async def _as(ctx: DigestContext, needs: str) -> DigestContext:
    """The context with the owner's token of the kind `needs` ("user" or "service") on this
    instance: the one given, or the other role linked beside it. Neither: say so without
    calling Astakos."""
    credential = ctx.credential
    if _is_service(credential) == (needs == "service"):
        return ctx
    beside = await _beside(ctx)
    if beside is not None:
        return beside
    has = "service" if _is_service(credential) else "user"
    raise errors.Forbidden(
        f"this needs a {needs} token; a {has} token is linked",
        platform=PLATFORM,
        instance=credential.instance,
    )


async def _beside(ctx: DigestContext) -> DigestContext | None:
    """The context with the owner's other token on the same instance, if they hold both."""
    credential = ctx.credential
    role = "" if credential.role else SERVICE
    try:
        other = await ctx.services.accounts.credential(
            credential.user_id, PLATFORM, credential.instance, role
        )
    except errors.NotLinked:
        return None
    return replace(ctx, credential=other)


async def project_names(ctx: DigestContext) -> list[str] | None:
    """The projects a user token can see, by name and id (what `project=` is checked
    against); None for a service token, which cannot list projects."""
    if _is_service(ctx.credential):
        return None
    found = await _client(ctx).projects(token=ctx.credential.secret)
    return [p.name for p in found] + [p.id for p in found]


def _projects_ok(ctx: DigestContext, projects: list[Project]) -> list[Project]:
    return [p for p in projects if ctx.filters.project_ok(p.id, p.name)]


# -- what is waiting -------------------------------------------------------------------------


async def pending_commissions(ctx: DigestContext) -> list[Approval]:
    client, credential = _client(ctx), ctx.credential
    details = [
        c
        for c in await client.pending_commission_details(token=credential.secret)
        if ctx.filters.project_ok(
            *(
                part.partition(":")[2]
                for p in c.provisions
                for part in (p.holder, p.source or "")
                if part.startswith("project:")
            )
        )
    ]
    uuids = [
        part.partition(":")[2]
        for c in details
        for p in c.provisions
        for part in (p.holder, p.source or "")
    ]
    names = await shared.names(client, credential, uuids)
    figures = await commission_figures(client, credential, details, names)
    return [
        await shared.register_commission(
            ctx.services, credential.instance, c, names, figures[c.serial]
        )
        for c in details
    ]


async def pending_applications(ctx: DigestContext, projects: list[Project]) -> list[Approval]:
    client, credential = _client(ctx), ctx.credential
    waiting = [
        p for p in _projects_ok(ctx, projects) if p.pending_application and not p.system_project
    ]
    names = await shared.names(
        client,
        credential,
        [p.pending_application.applicant or "" for p in waiting if p.pending_application],
    )
    return [
        await shared.register_application(
            ctx.services, credential.instance, p, p.pending_application, names
        )
        for p in waiting
        if p.pending_application is not None
    ]


async def service_over(ctx: DigestContext) -> list[str]:
    """The service's quotas (projects' and members') at or over 80 %, nearest first."""
    client, credential = _client(ctx), ctx.credential
    members, projects = await asyncio.gather(
        client.service_quotas(token=credential.secret),
        client.service_project_quotas(token=credential.secret),
    )
    over = cards.nearest_first(
        [
            q
            for q in members + projects
            if q.usage and cards.closeness(q) >= OVER and ctx.filters.project_ok(q.project)
        ]
    )
    names = await shared.names(client, credential, [q.holder or "" for q in over])
    return [
        cards.quota_line(
            q,
            (f"{names.get(q.holder, cards.short_id(q.holder))} in " if q.holder else "project ")
            + cards.short_id(q.project),
        )
        for q in over
    ]


async def pending_memberships(ctx: DigestContext, projects: list[Project]) -> list[Approval]:
    """Join and leave requests waiting for the owner: those Astakos lets them accept."""
    client, credential = _client(ctx), ctx.credential
    found = await client.memberships(token=credential.secret)
    project_names = {p.id: p.name for p in projects}
    waiting = [
        m
        for m in found
        if m.state in shared.PENDING_MEMBERSHIP
        and "accept" in m.allowed_actions
        and ctx.filters.project_ok(m.project, project_names.get(m.project))
    ]
    names = await shared.names(client, credential, [m.user for m in waiting])
    return [
        await shared.register_membership(
            ctx.services,
            credential.instance,
            m,
            m.project,
            project_names.get(m.project, cards.short_id(m.project)),
            names.get(m.user, m.user),
        )
        for m in sorted(waiting, key=lambda m: m.id)
    ]


async def section(ctx: DigestContext) -> Section:
    """The owner's token's part; when they hold both a user and a service token on the
    instance, both parts, user first, as one section."""
    first = await _section(ctx)
    beside = await _beside(ctx)
    if beside is None:
        return first
    second = await _section(beside)
    return Section(
        platform=PLATFORM,
        title=first.title,
        blocks=first.blocks + second.blocks,
        empty=first.empty and second.empty,
        approvals=first.approvals + second.approvals,
        charts=first.charts + second.charts,
    )


async def _section(ctx: DigestContext) -> Section:
    credential = ctx.credential
    title = f"{TITLE} ({credential.instance})"
    if _is_service(credential):
        # One after the other: the commissions already fan out a call per serial, and the
        # quota calls on top of that burst can push a busy Astakos past the timeout.
        waiting = await pending_commissions(ctx)
        over = await service_over(ctx)
        service = credential.details.get("service") or credential.account
        drawn = blocks.astakos_commissions(service, [cards.card(a) for a in waiting], over)
        return Section(
            platform=PLATFORM,
            title=title,
            blocks=drawn,
            empty=not waiting and not over,
            approvals=blocks.shown_approvals(drawn, [a.id for a in waiting]),
        )
    client, token = _client(ctx), credential.secret
    every_quota, projects = await asyncio.gather(
        client.quotas(token=token), client.projects(token=token)
    )
    project_names = {p.id: ("personal (system)" if p.system_project else p.name) for p in projects}
    kept = {p.id for p in _projects_ok(ctx, projects)}
    quotas = [q for q in every_quota if q.project in kept or not ctx.filters.projects]
    near_limit = sorted(
        (q for q in quotas if q.usage and cards.closeness(q) >= OVER),
        key=lambda q: (-cards.closeness(q), q.project, q.resource),
    )
    lines = [
        cards.quota_line(q, project_names.get(q.project, cards.short_id(q.project)))
        for q in near_limit
    ]
    waiting, joining = await asyncio.gather(
        pending_applications(ctx, projects), pending_memberships(ctx, projects)
    )
    drawn = blocks.astakos_user(
        lines, [cards.card(a) for a in waiting], [cards.card(a) for a in joining]
    )
    return Section(
        platform=PLATFORM,
        title=title,
        blocks=drawn,
        empty=not near_limit and not waiting and not joining,
        approvals=blocks.shown_approvals(drawn, [a.id for a in waiting + joining]),
        charts=[usage_chart(credential.instance, quotas, project_names)],
    )


def usage_chart(instance: str, quotas: list[Quota], project_names: dict[str, str]) -> Chart:
    """Every quota with a limit, fullest first: one bar per resource (and project, when the
    owner has several), its share of the limit it can really reach."""
    shown = sorted(
        (q for q in quotas if cards.effective_limit(q) > 0 or q.usage),
        key=lambda q: (-cards.closeness(q), q.project, q.resource),
    )[: charts.MAX_BARS]
    several = len({q.project for q in shown}) > 1
    rows = tuple(
        (
            cards.pretty(q.resource)
            + (f" · {project_names.get(q.project, cards.short_id(q.project))}" if several else ""),
            q.usage,
            cards.effective_limit(q),
            amount(q.resource, q.usage),
            amount(q.resource, cards.effective_limit(q)),
        )
        for q in shown
    )
    return Chart(charts.USAGE, f"Astakos quota usage ({instance})", rows)


async def home_charts(ctx: DigestContext) -> list[Chart]:
    """The App Home tab's picture for a user token: every quota against its limit (a
    service token has no quotas of its own to show)."""
    if _is_service(ctx.credential):
        return []
    client, token = _client(ctx), ctx.credential.secret
    quotas, projects = await asyncio.gather(
        client.quotas(token=token), client.projects(token=token)
    )
    names = {p.id: ("personal (system)" if p.system_project else p.name) for p in projects}
    chart = usage_chart(ctx.credential.instance, quotas, names)
    return [chart] if chart.rows else []


async def waiting(ctx: DigestContext) -> list[tuple[str, list[Block]]]:
    """What waits on this account, as (approval id, card) for the App Home tab: pending
    commissions for a service token, pending project applications for a user token."""
    if _is_service(ctx.credential):
        found = await pending_commissions(ctx)
    else:
        found = await pending_applications(
            ctx, await _client(ctx).projects(token=ctx.credential.secret)
        )
    return [(a.id, cards.card(a)) for a in found]


# -- alert sources ---------------------------------------------------------------------------


def _item(a: Approval, what: str) -> AlertItem:
    card = cards.card(a)
    return AlertItem(
        key=a.id,
        text=f"New {what} on Astakos ({a.instance}): {a.summary}",
        blocks=card,
        approvals=[a.id],
        subject=a.id,
        kind=a.kind,
        state=WAITING,
        # No longer pending, and not through this bot's buttons (bot.alert_threads tells
        # those apart): accepted, rejected or withdrawn on Astakos itself.
        gone="resolved elsewhere",
    )


async def new_commissions(ctx: DigestContext) -> list[AlertItem]:
    ctx = await _as(ctx, "service")
    return [_item(a, "pending commission") for a in await pending_commissions(ctx)]


async def new_applications(ctx: DigestContext) -> list[AlertItem]:
    ctx = await _as(ctx, "user")
    projects = await _client(ctx).projects(token=ctx.credential.secret)
    return [_item(a, "project application") for a in await pending_applications(ctx, projects)]


async def new_memberships(ctx: DigestContext) -> list[AlertItem]:
    ctx = await _as(ctx, "user")
    projects = await _client(ctx).projects(token=ctx.credential.secret)
    return [_item(a, "membership request") for a in await pending_memberships(ctx, projects)]


ALERTS: dict[str, AlertSource] = {
    "astakos.commissions": new_commissions,
    "astakos.applications": new_applications,
    "astakos.memberships": new_memberships,
}
FILTERS = (PROJECT, INSTANCE)
ALERT_FILTERS = {
    "astakos.commissions": FILTERS,
    "astakos.applications": FILTERS,
    "astakos.memberships": FILTERS,
}
