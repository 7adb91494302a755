"""Dataiku DSS in digests and alerts, with the subscription owner's API key.

Section: the owner's running futures (longest first) and the scenario runs that failed since
the previous digest (the last 24 h on a first run).

Alert sources (keys are stable: the same thing always has the same key):
    dss.futures   the owner's futures, running or ended (done, failed, aborted), each ended
                  one read in full for its failure reason or result; subject and key
                  `dss:<instance>:future:<job id>`, state running, finished, failed, aborted.
                  A future is one thread: its parent when first seen, a reply when it ends
                  (a failure broadcast). DSS's `/futures/` may list running tasks only: a
                  followed future it no longer lists is read by its id, so its end is told.
    dss.runs      scenario runs that ended FAILED in the window below; key
                  `dss:<instance>:run:<project>.<scenario>:<run id>`.
An alert's window is the previous poll or the last 24 h, whichever reaches further back (the
scheduler drops keys it already posted, so a missed poll loses nothing).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot import charts, errors
from bot.blocks import digest as blocks
from bot.charts import Chart
from bot.digests.base import AlertItem, AlertSource, DigestContext, Section
from bot.filters import INSTANCE, NAME, PROJECT, Filters
from bot.platforms.dss import DESCRIPTOR
from bot.platforms.dss.client import DSSClient
from bot.platforms.dss.models import Future, Scenario, ScenarioRun
from bot.platforms.dss.platform import DSSPlatform
from bot.store import alert_threads

PLATFORM = DESCRIPTOR.key
TITLE = DESCRIPTOR.title
LOOKBACK = timedelta(days=1)
# A future's status as its thread's state line says it ("done" reads as an ending).
FUTURE_STATES = {"done": "finished"}
LOOKBACK_TEXT = "in the last 24 h"
# A scenario whose latest run started this long before the window cannot have a run that
# ended inside it (unless a run lasts longer): its runs are not fetched.
LONGEST_RUN_MS = 24 * 3600 * 1000
RUNS_PER_SCENARIO = 5
CONCURRENCY = 8
FAILED = "FAILED"


def _client(ctx: DigestContext) -> DSSClient:
    return ctx.services.platforms.get(DSSPlatform).client(ctx.credential.instance)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _future_ok(filters: Filters, f: Future) -> bool:
    project = (f.scenario or ("", ""))[0] or str(f.payload.get("projectKey") or "")
    return filters.project_ok(project) and filters.name_ok(f.label)


def _run_ok(filters: Filters, r: ScenarioRun) -> bool:
    return filters.project_ok(r.project_key) and filters.name_ok(r.scenario_name, r.scenario_id)


async def project_names(ctx: DigestContext) -> list[str]:
    """The project keys the owner can read (what `project=` is checked against)."""
    return [p.key for p in await _client(ctx).list_projects(api_key=ctx.credential.secret)]


async def _running(ctx: DigestContext) -> list[Future]:
    items = await _client(ctx).list_futures(api_key=ctx.credential.secret)
    running = [f for f in items if f.status == "running" and _future_ok(ctx.filters, f)]
    return sorted(running, key=lambda f: f.running_time, reverse=True)


async def failed_runs(ctx: DigestContext, since: datetime) -> list[ScenarioRun]:
    """Runs of every scenario the owner can read that ended FAILED at or after `since`,
    newest first."""
    return _failed(await finished_runs(ctx, since), since)


def _failed(runs: list[ScenarioRun], since: datetime) -> list[ScenarioRun]:
    floor = _ms(since)
    failed = [r for r in runs if r.outcome == FAILED and (r.end or r.start) >= floor]
    return sorted(failed, key=lambda r: r.end or r.start, reverse=True)


async def finished_runs(ctx: DigestContext, since: datetime) -> list[ScenarioRun]:
    """The last finished runs of every scenario the owner can read that ran since about
    `since`. One call per project, then one per scenario run recently."""
    client, key = _client(ctx), ctx.credential.secret
    gate = asyncio.Semaphore(CONCURRENCY)
    floor = _ms(since)

    async def scenarios(project: str) -> list[Scenario]:
        async with gate:
            return await client.list_scenarios(api_key=key, project_key=project)

    async def runs(s: Scenario) -> list[ScenarioRun]:
        async with gate:
            return await client.last_runs(
                api_key=key,
                project_key=s.project_key,
                scenario_id=s.id,
                limit=RUNS_PER_SCENARIO,
                only_finished=True,
            )

    # A project filter is applied before asking: only its projects' scenarios are listed.
    projects = [p for p in await client.list_projects(api_key=key) if ctx.filters.project_ok(p.key)]
    found = await asyncio.gather(*(scenarios(p.key) for p in projects))
    recent = [
        s for group in found for s in group if not s.start or s.start >= floor - LONGEST_RUN_MS
    ]
    fetched = await asyncio.gather(*(runs(s) for s in recent))
    return [r for group in fetched for r in group if _run_ok(ctx.filters, r)]


def runs_chart(instance: str, runs: list[ScenarioRun]) -> Chart:
    """The last finished runs, oldest first: duration and outcome."""
    last = sorted((r for r in runs if r.end and r.start), key=lambda r: r.end)[-charts.MAX_BARS :]
    rows = tuple(
        (
            f"{r.scenario_name or r.scenario_id}",
            (r.end - r.start) / 1000,
            (r.outcome or "running").lower(),
        )
        for r in last
    )
    return Chart(charts.RUNS, f"DSS scenario runs ({instance})", rows, unit="run")


async def section(ctx: DigestContext) -> Section:
    since = ctx.since or ctx.now - LOOKBACK
    running, finished = await asyncio.gather(_running(ctx), finished_runs(ctx, since))
    failed = _failed(finished, since)
    return Section(
        platform=PLATFORM,
        title=f"{TITLE} ({ctx.credential.instance})",
        blocks=blocks.dss(running, failed, ctx.since, LOOKBACK_TEXT),
        empty=not running and not failed,
        charts=[runs_chart(ctx.credential.instance, finished)] if finished else [],
    )


async def home_charts(ctx: DigestContext) -> list[Chart]:
    """The App Home tab's picture: the scenario runs that ended in the last day."""
    finished = await finished_runs(ctx, ctx.now - LOOKBACK)
    return [runs_chart(ctx.credential.instance, finished)] if finished else []


def alert_window(ctx: DigestContext) -> datetime:
    floor = ctx.now - LOOKBACK
    return min(ctx.since, floor) if ctx.since else floor


async def ended_futures(ctx: DigestContext) -> list[AlertItem]:
    instance, client, key = ctx.credential.instance, _client(ctx), ctx.credential.secret
    items = await client.list_futures(api_key=key)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def full(f: Future) -> Future:
        # The list item is a peek: only a full read names the reason or carries the result.
        async with gate:
            try:
                return await client.final_state(api_key=key, job_id=f.job_id)
            except errors.NotFound:
                return f  # purged between the list and the read: tell what the list said

    prefix = f"{PLATFORM}:{instance}:future:"
    followed = (
        await ctx.services.store.run(alert_threads.open_states, ctx.subscription)
        if ctx.subscription is not None
        else {}
    )
    listed = {f.job_id for f in items}
    # Followed futures last told running that DSS no longer lists (it may list running ones
    # only): read by id, once each, to tell how they ended.
    unlisted = [
        s.removeprefix(prefix)
        for s, state in sorted(followed.items())
        if s.startswith(prefix) and state == "running" and s.removeprefix(prefix) not in listed
    ]

    async def read(job_id: str) -> Future | None:
        async with gate:
            try:
                return await client.final_state(api_key=key, job_id=job_id)
            except errors.NotFound:
                return None  # purged: nothing more to tell

    found = await asyncio.gather(
        *(full(f) for f in items if f.status != "running" and _future_ok(ctx.filters, f)),
        *(read(job_id) for job_id in unlisted),
    )
    running = [f for f in items if f.status == "running" and _future_ok(ctx.filters, f)]
    out = []
    for f in [*running, *(f for f in found if f is not None)]:
        text, blks = blocks.future_alert(instance, f)
        state = FUTURE_STATES.get(f.status, f.status)
        out.append(
            AlertItem(
                key=prefix + f.job_id,
                text=text,
                blocks=blks,
                subject=prefix + f.job_id,
                kind="future",
                state=state,
                failed=state == "failed",
            )
        )
    return out


async def failed_scenario_runs(ctx: DigestContext) -> list[AlertItem]:
    instance = ctx.credential.instance
    out = []
    for run in await failed_runs(ctx, alert_window(ctx)):
        text, blks = blocks.run_alert(instance, run)
        key = f"{PLATFORM}:{instance}:run:{run.project_key}.{run.scenario_id}:{run.run_id}"
        out.append(AlertItem(key=key, text=text, blocks=blks, subject=key, kind="run"))
    return out


ALERTS: dict[str, AlertSource] = {
    "dss.futures": ended_futures,
    "dss.runs": failed_scenario_runs,
}
FILTERS = (PROJECT, INSTANCE, NAME)
ALERT_FILTERS = {"dss.futures": FILTERS, "dss.runs": FILTERS}
