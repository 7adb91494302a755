"""Squonk2 Data Manager in digests and alerts, with the owner's Keycloak sign-in.

Section: the job instances still running (newest first) and those that failed since the
previous digest (the last 24 h on a first run).

Alert source:
    squonk.instances  instances pending or running, and those in a final phase (COMPLETED,
                      SUCCEEDED, FAILED) that stopped in the window (the previous poll or the
                      last 24 h, whichever reaches further back); subject and key
                      `squonk:<site>:instance:<instance id>`, state its phase in words
                      (pending, running, finished, failed). Each instance is one thread: its
                      parent when first seen, a reply as it starts and ends (a failure
                      broadcast), "deleted" when Squonk2 no longer lists it. An instance that
                      ended before the window stays listed while its thread is open, so that
                      leaving the window is not taken for a deletion.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot import charts
from bot.blocks import digest as blocks
from bot.charts import Chart
from bot.digests.base import AlertItem, AlertSource, DigestContext, Section
from bot.filters import INSTANCE, NAME, OWNER, PROJECT
from bot.platforms.squonk import DESCRIPTOR
from bot.platforms.squonk.client import SquonkClient
from bot.platforms.squonk.models import Instance
from bot.platforms.squonk.platform import SquonkPlatform
from bot.store import alert_threads

# Squonk2 phases in the chart's outcome words.
OUTCOMES = {
    "COMPLETED": "success",
    "SUCCEEDED": "success",
    "FAILED": "failed",
    "CANCELLED": "aborted",
    "DELETED": "aborted",
}
PLATFORM = DESCRIPTOR.key
TITLE = DESCRIPTOR.title
LOOKBACK = timedelta(days=1)
LOOKBACK_TEXT = "in the last 24 h"


def _client(ctx: DigestContext) -> SquonkClient:
    return ctx.services.platforms.get(SquonkPlatform).client(ctx.credential.instance)


async def project_names(ctx: DigestContext) -> list[str]:
    """The project names (and ids) the owner can see (what `project=` is checked against)."""
    found = await _client(ctx).projects(ctx.credential)
    return [p.name for p in found] + [p.project_id for p in found]


async def _instances(ctx: DigestContext) -> list[Instance]:
    """The owner's visible instances, narrowed by the subscription's filters: Squonk2 lists
    one project's instances itself (`project_id`), owner and name are matched here."""
    client, credential, filters = _client(ctx), ctx.credential, ctx.filters
    if filters.projects:
        groups = await asyncio.gather(
            *(client.instances(credential, project=p) for p in filters.projects)
        )
        items = list({i.id: i for group in groups for i in group}.values())
    else:
        items = await client.instances(credential)
    return [
        i
        for i in items
        if filters.owner_ok(i.owner, credential.account) and filters.name_ok(i.name, i.job_name)
    ]


def stopped_at(instance: Instance) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(instance.stopped) if instance.stopped else None
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp and stamp.tzinfo is None else stamp


def _ended_after(instance: Instance, since: datetime) -> bool:
    """Done, and stopped at or after `since` (an instance with no stop time counts)."""
    stamp = stopped_at(instance)
    return instance.done and (stamp is None or stamp >= since)


async def section(ctx: DigestContext) -> Section:
    client, credential = _client(ctx), ctx.credential
    items, projects = await asyncio.gather(_instances(ctx), client.projects(credential))
    since = ctx.since or ctx.now - LOOKBACK
    running = sorted((i for i in items if not i.done), key=lambda i: i.launched, reverse=True)
    failed = sorted(
        (i for i in items if i.phase == "FAILED" and _ended_after(i, since)),
        key=lambda i: i.stopped or "",
        reverse=True,
    )
    names = {p.project_id: p.name for p in projects}
    return Section(
        platform=PLATFORM,
        title=f"{TITLE} ({credential.instance})",
        blocks=blocks.squonk(running, failed, names, ctx.since, LOOKBACK_TEXT),
        empty=not running and not failed,
        charts=[chart] if (chart := runs_chart(credential.instance, items)).rows else [],
    )


def _started_at(instance: Instance) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(instance.started) if instance.started else None
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp and stamp.tzinfo is None else stamp


def runs_chart(name: str, items: list[Instance]) -> Chart:
    """The last instances that ended, oldest first: how long each ran, how it ended."""
    ended = [(i, _started_at(i), stopped_at(i)) for i in items if i.done]
    timed = sorted(((i, a, z) for i, a, z in ended if a and z), key=lambda t: t[2])
    rows = tuple(
        (i.name, max((z - a).total_seconds(), 0.0), OUTCOMES.get(i.phase, i.phase.lower()))
        for i, a, z in timed[-charts.MAX_BARS :]
    )
    return Chart(charts.RUNS, f"Squonk2 instance runs ({name})", rows, unit="instance")


async def home_charts(ctx: DigestContext) -> list[Chart]:
    """The App Home tab's picture: the last instances that ended, how long and how."""
    chart = runs_chart(ctx.credential.instance, await _instances(ctx))
    return [chart] if chart.rows else []


def instance_state(instance: Instance) -> str:
    """The instance's phase as its thread's state line says it."""
    if not instance.done:
        return instance.phase.lower() or "pending"
    outcome = OUTCOMES.get(instance.phase, instance.phase.lower())
    return "finished" if outcome == "success" else outcome


async def ended_instances(ctx: DigestContext) -> list[AlertItem]:
    site = ctx.credential.instance
    floor = ctx.now - LOOKBACK
    window = min(ctx.since, floor) if ctx.since else floor
    followed = (
        await ctx.services.store.run(alert_threads.open_subjects, ctx.subscription)
        if ctx.subscription is not None
        else set()
    )
    out = []
    for i in await _instances(ctx):
        key = f"{PLATFORM}:{site}:instance:{i.id}"
        if i.done and not _ended_after(i, window) and key not in followed:
            continue
        text, blks = blocks.squonk_alert(site, i)
        state = instance_state(i)
        out.append(
            AlertItem(
                key=key,
                text=text,
                blocks=blks,
                subject=key,
                kind="instance",
                state=state,
                failed=state == "failed",
                gone="deleted",
            )
        )
    return out


ALERTS: dict[str, AlertSource] = {"squonk.instances": ended_instances}
FILTERS = (PROJECT, OWNER, INSTANCE, NAME)
ALERT_FILTERS = {"squonk.instances": FILTERS}
