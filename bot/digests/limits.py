"""Atoti Limits in digests and alerts, with the owner's Limits account.

Section: the breaches and warnings of the latest as-of date evaluated since the previous
digest (all of them on a first run), and the limits waiting for approval with the Approve /
Reject cards of `/limits pending` (same approvals: a click anywhere updates every copy).

Alert sources (stable keys):
    limits.breaches  each Breach incident of the latest as-of date;
                     key `limits:<instance>:incident:<incident id>`.
    limits.pending   each limit waiting for a workflow decision, with its card; the key is
                     the approval id `limits:<instance>:limit:<limit id>:<task key>[#round]`,
                     so the next step of a six-eyes workflow is news again.
    limits.status    the server became unreachable (repeated hourly while down, key
                     `limits:<instance>:unreachable:<YYYY-MM-DDTHH>`), answers again, restarted
                     (its startup value changed: key `...:restarted:<startup ms>`), or an Atoti
                     server or cube dropped off its connected list or came back.

`limits.status` compares each poll with the previous one of the same subscription, kept in
the database (`observations`), so the first poll after a bot restart still tells what changed
meanwhile (a new startup value, a server or cube dropped, unreachable -> recovered). With no
previous poll at all (a new subscription), a server restart is told only when the startup
time is later than the subscription's previous run.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import charts, errors
from bot.approvals import Approval
from bot.blocks import common as b
from bot.blocks import digest as blocks
from bot.blocks import limits as cards
from bot.charts import Chart
from bot.digests.base import AlertItem, AlertSource, DigestContext, Section
from bot.filters import INSTANCE, KIND, NAME, Filters
from bot.platforms.limits import DESCRIPTOR
from bot.platforms.limits import approvals as limit_approvals
from bot.platforms.limits.client import LimitsClient
from bot.platforms.limits.models import Incident, LimitsStatus, PendingLimit
from bot.platforms.limits.platform import LimitsPlatform
from bot.store import observations

PLATFORM = DESCRIPTOR.key
TITLE = DESCRIPTOR.title
BREACH, WARNING = "Breach", "Warning"
WAITING = "waiting for approval"  # a pending limit's state line
CHART_DAYS = 14  # the breaches-and-warnings chart: two weeks of as-of dates


def _client(ctx: DigestContext) -> LimitsClient:
    return ctx.services.platforms.get(LimitsPlatform).client(ctx.credential.instance)


def _kinds(filters: Filters, default: tuple[str, ...] = (BREACH, WARNING)) -> tuple[str, ...]:
    """The incident types to ask the server for: `kind=` is applied by Limits itself."""
    return tuple(k for k in default if filters.kind_ok(k))


def _incident_ok(filters: Filters, i: Incident) -> bool:
    return filters.name_ok(i.structure, i.location, i.limit_id, i.measure)


def _pending_ok(filters: Filters, p: PendingLimit) -> bool:
    return filters.name_ok(p.structure, p.scope, p.limit_id, p.measure)


def evaluated(incident: Incident) -> datetime | None:
    """When the incident was evaluated (Limits sends local ISO times; read as UTC)."""
    try:
        stamp = datetime.fromisoformat(incident.evaluated_at or "")
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _new(incident: Incident, since: datetime | None) -> bool:
    """Evaluated at or after `since`; one without a readable time counts as new."""
    stamp = evaluated(incident)
    return since is None or stamp is None or stamp >= since


async def pending_cards(
    ctx: DigestContext, items: list[PendingLimit]
) -> list[tuple[Approval | None, list[b.Block]]]:
    """Each pending limit's card and its approval (None: the server offers no task)."""
    out: list[tuple[Approval | None, list[b.Block]]] = []
    for p in items:
        key = cards.task_key(p)
        if not key:
            out.append((None, cards.untracked_card(p)))
            continue
        record = await limit_approvals.register(ctx.services, ctx.credential.instance, p, key)
        # Anyone who reads the digest may click: the platform decides with their account.
        out.append((record, cards.card(record, can_act=True)))
    return out


async def section(ctx: DigestContext) -> Section:
    client, credential = _client(ctx), ctx.credential
    filters = ctx.filters
    kinds = _kinds(filters)
    found, waiting, daily = await asyncio.gather(
        client.breaches(credential, kinds=kinds),
        client.pending(credential),
        client.daily_counts(credential, last=ctx.now.astimezone(UTC).date(), days=CHART_DAYS),
    )
    new = [i for i in found.incidents if _new(i, ctx.since) and _incident_ok(filters, i)]
    # Pending limits are no kind of incident: `kind=` leaves them out.
    waiting = [] if filters.kind else [p for p in waiting if _pending_ok(filters, p)]
    drawn_cards = await pending_cards(ctx, waiting)
    drawn = blocks.limits(found.as_of, new, [c for _, c in drawn_cards], ctx.since)
    ids = [a.id for a, _ in drawn_cards if a is not None]
    return Section(
        platform=PLATFORM,
        title=f"{TITLE} ({credential.instance})",
        blocks=drawn,
        empty=not new and not waiting,
        approvals=blocks.shown_approvals(drawn, ids),
        charts=[daily_chart(credential.instance, daily)],
    )


def daily_chart(instance: str, daily: list[tuple[str, int, int]]) -> Chart:
    """Breaches and warnings per as-of date over the last CHART_DAYS days."""
    title = f"Atoti Limits breaches and warnings, last {CHART_DAYS} days ({instance})"
    return Chart(charts.DAILY, title, tuple(daily))


async def home_charts(ctx: DigestContext) -> list[Chart]:
    """The App Home tab's picture: breaches and warnings per day, two weeks."""
    daily = await _client(ctx).daily_counts(
        ctx.credential, last=ctx.now.astimezone(UTC).date(), days=CHART_DAYS
    )
    return [daily_chart(ctx.credential.instance, daily)]


async def waiting(ctx: DigestContext) -> list[tuple[str, list[b.Block]]]:
    """Limits waiting for approval, as (approval id, card) for the App Home tab."""
    drawn = await pending_cards(ctx, await _client(ctx).pending(ctx.credential))
    return [(a.id, card) for a, card in drawn if a is not None]


async def new_breaches(ctx: DigestContext) -> list[AlertItem]:
    instance = ctx.credential.instance
    # Breaches only, unless the subscription asks for `kind=warning` (Limits filters).
    kinds = (ctx.filters.kind.capitalize(),) if ctx.filters.kind else (BREACH,)
    found = await _client(ctx).breaches(ctx.credential, kinds=kinds)
    out = []
    for incident in found.incidents:
        if incident.kind not in kinds or not _incident_ok(ctx.filters, incident):
            continue
        text, blks = blocks.breach_alert(instance, incident)
        status = incident.status.replace("_", " ").lower() or "open"
        out.append(
            AlertItem(
                key=f"{PLATFORM}:{instance}:incident:{incident.incident_id}",
                text=text,
                blocks=blks,
                # The breach is its limit at its location: each as-of date's evaluation makes
                # a new incident of a breach that persists, which is no news; its absence
                # from the latest evaluation is (cleared).
                subject=f"{PLATFORM}:{instance}:breach:{incident.limit_id}@{incident.location}"
                if incident.limit_id
                else f"{PLATFORM}:{instance}:incident:{incident.incident_id}",
                kind="breach",
                # Its kind and workflow status, told as they move.
                state=f"{incident.kind.lower()}, {status}",
                gone="cleared",
            )
        )
    return out


async def new_pending(ctx: DigestContext) -> list[AlertItem]:
    waiting = [p for p in await _client(ctx).pending(ctx.credential) if _pending_ok(ctx.filters, p)]
    return [
        AlertItem(
            key=a.id,
            text=f"Waiting for approval on Atoti Limits ({a.instance}): {a.summary}",
            blocks=card,
            approvals=[a.id],
            subject=a.id,
            kind="limit",
            state=WAITING,
            gone="settled",  # approved or rejected on Atoti Limits: no longer waiting
        )
        for a, card in await pending_cards(ctx, waiting)
        if a is not None
    ]


def _connected(status: LimitsStatus) -> dict[str, set[str]]:
    return {s.name: set(s.cubes) for s in status.servers if s.connected}


@dataclass(frozen=True)
class Observation:
    """What the previous `limits.status` poll of one subscription saw."""

    reachable: bool
    started_ms: int | None  # the startup ping's value (it changes when Limits restarts)
    connected: dict[str, set[str]]  # connected Atoti server -> its cubes


async def _recall(ctx: DigestContext, slot: str) -> Observation | None:
    text = await ctx.services.store.run(observations.get, slot)
    if not text:
        return None
    seen = json.loads(text)
    return Observation(
        reachable=bool(seen["reachable"]),
        started_ms=seen["started_ms"],
        connected={server: set(cubes) for server, cubes in seen["connected"].items()},
    )


async def _remember(ctx: DigestContext, slot: str, seen: Observation) -> None:
    text = json.dumps(
        {
            "reachable": seen.reachable,
            "started_ms": seen.started_ms,
            "connected": {server: sorted(cubes) for server, cubes in seen.connected.items()},
        },
        sort_keys=True,
    )
    await ctx.services.store.run(observations.put, slot, text, ctx.now.isoformat())


async def status_changes(ctx: DigestContext) -> list[AlertItem]:
    instance = ctx.credential.instance
    slot = f"limits.status:{ctx.subscription}:{ctx.credential.user_id}:{instance}"
    before = await _recall(ctx, slot)
    stamp = ctx.now.astimezone(UTC)
    try:
        status = await _client(ctx).status(ctx.credential)
    except errors.Unavailable as error:
        await _remember(
            ctx,
            slot,
            Observation(
                reachable=False,
                started_ms=before.started_ms if before else None,
                connected=before.connected if before else {},
            ),
        )
        text, blks = blocks.limits_down(instance, error.detail)
        return [
            AlertItem(
                key=f"{PLATFORM}:{instance}:unreachable:{stamp:%Y-%m-%dT%H}",
                text=text,
                blocks=blks,
                subject=f"{PLATFORM}:{instance}:unreachable:{stamp:%Y-%m-%dT%H}",
                kind="status",
            )
        ]
    started_ms = int(status.started_at.timestamp() * 1000)
    connected = _connected(status)
    await _remember(
        ctx, slot, Observation(reachable=True, started_ms=started_ms, connected=connected)
    )
    out: list[tuple[str, tuple[str, list[b.Block]]]] = []
    if before is not None and not before.reachable:
        out.append(
            (f"recovered:{stamp:%Y-%m-%dT%H:%M}", blocks.limits_back(instance, status.started_at))
        )
    restarted = (
        started_ms != before.started_ms
        if before is not None and before.started_ms
        else ctx.since is not None and status.started_at > ctx.since
    )
    if restarted:
        out.append(
            (f"restarted:{started_ms}", blocks.limits_restarted(instance, status.started_at))
        )
    if before is not None and before.reachable:
        for server in sorted(set(before.connected) | set(connected)):
            gone = server in before.connected and server not in connected
            back = server in connected and server not in before.connected
            if gone or back:
                out.append(
                    (
                        f"{'dropped' if gone else 'connected'}:{server}:{started_ms}:"
                        f"{stamp:%Y-%m-%dT%H:%M}",
                        blocks.limits_server_change(instance, server, None, gone),
                    )
                )
                continue
            for cube in sorted(before.connected.get(server, set()) ^ connected.get(server, set())):
                gone = cube not in connected.get(server, set())
                out.append(
                    (
                        f"{'dropped' if gone else 'connected'}:{server}/{cube}:"
                        f"{stamp:%Y-%m-%dT%H:%M}",
                        blocks.limits_server_change(instance, server, cube, gone),
                    )
                )
    return [
        AlertItem(
            key=f"{PLATFORM}:{instance}:{key}",
            text=text,
            blocks=blks,
            subject=f"{PLATFORM}:{instance}:{key}",
            kind="status",
        )
        for key, (text, blks) in out
    ]


ALERTS: dict[str, AlertSource] = {
    "limits.breaches": new_breaches,
    "limits.pending": new_pending,
    "limits.status": status_changes,
}
FILTERS = (INSTANCE, KIND, NAME)
ALERT_FILTERS = {
    "limits.breaches": FILTERS,
    "limits.pending": (INSTANCE, NAME),
    "limits.status": (INSTANCE,),
}
