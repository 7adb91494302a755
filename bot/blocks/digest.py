"""Block Kit for the per-platform digest sections and alert items.

A digest carries up to five sections in one message, so each stays within `SECTION_BUDGET`
blocks: lists are a few lines inside one section block, ending with "N more: `/cmd`", and
approval cards (drawn by the platform's own blocks module) are cut to what fits. The section
title is not drawn here: the composer draws `Section.title`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.approvals import card_prefix
from bot.blocks import common as b
from bot.blocks.limits import location_text, number, percent
from bot.blocks.squonk import PHASE_ICON, instance_ended, run_time
from bot.blocks.squonk import when as squonk_when
from bot.blocks.time import duration, from_ms, slack_date
from bot.platforms.dss.models import Future, ScenarioRun
from bot.platforms.limits.models import Incident
from bot.platforms.mstr.models import Project as MstrProject
from bot.platforms.mstr.models import ServerVersions
from bot.platforms.squonk.models import Instance

# Blocks per section: with the divider and title the composer adds to each, five sections take
# 5 × 9 = 45 of the 48 Slack's 50 leave after the digest's header and footer.
SECTION_BUDGET = 7
MAX_LINES = 5  # lines per list before "N more"
MAX_CARDS = 3  # approval cards per section (each 2-3 blocks)
LINE = 280  # characters per list line

FUTURE_ICON = {
    "running": ":arrows_counterclockwise:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "aborted": ":no_entry_sign:",
    "unknown": ":grey_question:",
}
KIND_ICON = {"Breach": ":red_circle:", "Warning": ":large_orange_circle:"}


# -- shared pieces -------------------------------------------------------------------------


def since_text(since: datetime | None, fallback: str) -> str:
    return f"since {slack_date(since)}" if since else fallback


def listing(title: str, lines: list[str], *, more: str, limit: int = MAX_LINES) -> b.Block:
    """One section block: a bold title, up to `limit` lines, then "N more: <more>"."""
    shown = [b.clip(line, LINE) for line in lines[:limit]]
    left = len(lines) - len(shown)
    tail = f"\n_{left} more: {more}_" if left else ""
    return b.section(f"*{title}*\n" + "\n".join(shown) + tail)


def cards(
    items: list[list[b.Block]], *, more: str, room: int, max_cards: int = MAX_CARDS
) -> list[b.Block]:
    """As many whole approval cards as fit in `room` blocks (at most `max_cards`), and
    "N more: <more>" for the rest."""
    out: list[b.Block] = []
    shown = 0
    for card in items[:max_cards]:
        reserve = 1 if shown < len(items) - 1 else 0  # a slot for the "more" note
        if len(out) + len(card) > room - reserve:
            break
        out.extend(card)
        shown += 1
    if shown < len(items):
        out.append(b.context(f"{len(items) - shown} more: {more}"))
    return out


def shown_approvals(blocks: list[b.Block], approvals: Iterable[str]) -> list[str]:
    """The approvals whose cards are in `blocks` (by their block id prefix)."""
    ids = [str(x.get("block_id", "")) for x in blocks]
    return [a for a in approvals if any(i.startswith(card_prefix(a)) for i in ids)]


def nothing(text: str) -> list[b.Block]:
    return [b.context(text)]


# -- Dataiku DSS ---------------------------------------------------------------------------


def future_line(f: Future) -> str:
    icon = FUTURE_ICON.get(f.status, "")
    progress = f" · {b.escape(f.progress_text)}" if f.progress_text else ""
    return (
        f"{icon} *{b.escape(f.label)}* · {duration(f.running_time / 1000)}{progress} · "
        f"`{b.escape(f.job_id)}`"
    )


def run_line(run: ScenarioRun) -> str:
    name = f" ({b.escape(run.scenario_name)})" if run.scenario_name else ""
    return (
        f":x: *{b.escape(run.project_key)}.{b.escape(run.scenario_id)}*{name} · "
        f"{b.words(run.outcome or '?')} at {slack_date(from_ms(run.end or run.start))} · "
        f"run `{b.escape(run.run_id)}`"
    )


def dss(
    running: list[Future], failed: list[ScenarioRun], since: datetime | None, lookback: str
) -> list[b.Block]:
    if not running and not failed:
        return nothing(
            f"No task running, and no scenario run failed {since_text(since, lookback)}."
        )
    out = []
    if running:
        out.append(
            listing(
                f"Running tasks ({len(running)}), longest first",
                [future_line(f) for f in running],
                more="`/dss futures`",
            )
        )
    if failed:
        projects = sorted({r.project_key for r in failed})
        more = f"`/dss scenarios {b.escape(projects[0])}`" + (
            " (and the other projects)" if len(projects) > 1 else ""
        )
        out.append(
            listing(
                f"Failed scenario runs {since_text(since, lookback)} ({len(failed)})",
                [run_line(r) for r in failed],
                more=more,
            )
        )
    return out


def future_alert(instance: str, f: Future) -> tuple[str, list[b.Block]]:
    if f.status == "running":
        progress = f" ({b.escape(f.progress_text)})" if f.progress_text else ""
        text = (
            f"{FUTURE_ICON['running']} DSS task *{b.escape(f.label)}* (`{b.escape(f.job_id)}`, "
            f"{b.escape(instance)}) is running{progress}, started "
            f"{duration(f.running_time / 1000)} ago."
        )
        return text, [b.section(text)]
    icon = FUTURE_ICON.get(f.status, "")
    outcome = f.outcome_text
    kind = "Failed" if f.status == "failed" else "Result"
    detail = f". {kind}: {b.escape(b.clip(outcome, 300))}" if outcome else ""
    text = (
        f"{icon} DSS task *{b.escape(f.label)}* (`{b.escape(f.job_id)}`, "
        f"{b.escape(instance)}) ended: *{f.status}* after "
        f"{duration(f.running_time / 1000)}{detail}."
    )
    return text, [b.section(text)]


def run_alert(instance: str, run: ScenarioRun) -> tuple[str, list[b.Block]]:
    text = f"DSS ({b.escape(instance)}): scenario run failed. " + run_line(run)
    return text, [b.section(text)]


# -- Squonk2 -------------------------------------------------------------------------------


def squonk_line(i: Instance, projects: dict[str, str]) -> str:
    project = projects.get(i.project_id, i.project_id)
    job = f" · {b.escape(i.job_label)}" if i.job_label else ""
    icon = PHASE_ICON.get(i.phase, ":grey_question:")
    if i.done:
        error = f" · {b.escape(i.error_message)}" if i.error_message else ""
        tail = f"stopped {squonk_when(i.stopped)}{error}"
    else:
        tail = f"{b.escape(i.phase)} · run time {run_time(i.run_time)}"
    return f"{icon} *{b.escape(i.name)}* · {b.escape(project)}{job} · {tail}"


def squonk(
    running: list[Instance],
    failed: list[Instance],
    projects: dict[str, str],
    since: datetime | None,
    lookback: str,
) -> list[b.Block]:
    if not running and not failed:
        return nothing(f"No instance running, and none failed {since_text(since, lookback)}.")
    out = []
    if running:
        out.append(
            listing(
                f"Running instances ({len(running)})",
                [squonk_line(i, projects) for i in running],
                more="`/squonk instances`",
            )
        )
    if failed:
        out.append(
            listing(
                f"Failed {since_text(since, lookback)} ({len(failed)})",
                [squonk_line(i, projects) for i in failed],
                more="`/squonk instances`",
            )
        )
    return out


def squonk_alert(site: str, i: Instance) -> tuple[str, list[b.Block]]:
    if i.done:
        text = instance_ended(site, i, None)
    else:
        icon = PHASE_ICON.get(i.phase, ":grey_question:")
        job = f" ({b.escape(i.job_label)})" if i.job_label else ""
        ran = f" for {run_time(i.run_time)}" if i.phase == "RUNNING" and i.run_time else ""
        text = (
            f"{icon} Squonk2 instance *{b.escape(i.name)}*{job} (`{b.escape(i.id)}`, "
            f"{b.escape(site)}) is *{b.words(i.phase)}*{ran}."
        )
    return text, [b.section(text)]


# -- Synnefo Astakos -----------------------------------------------------------------------


def astakos_commissions(
    service: str, card_blocks: list[list[b.Block]], quota_lines: list[str] | None = None
) -> list[b.Block]:
    """A service token's section: its resources over 80 % (projects' and members' quotas),
    then its pending commissions with their cards."""
    quota_lines = quota_lines or []
    if not card_blocks and not quota_lines:
        return nothing(
            f"No commission is pending for *{b.escape(service)}*, and no quota "
            "on its resources is over 80 %."
        )
    head = []
    if quota_lines:
        head.append(
            listing(
                f"Quotas over 80 % on {b.escape(service)}'s resources ({len(quota_lines)})",
                quota_lines,
                more="`/astakos quotas all`",
                limit=4,
            )
        )
    if not card_blocks:
        return [*head, b.context(f"No commission is pending for *{b.escape(service)}*.")]
    head.append(
        b.context(
            f"*{len(card_blocks)}* pending commission(s) issued by "
            f"*{b.escape(service)}*. Accept and Reject run with the clicker's "
            "own linked token."
        )
    )
    return head + cards(card_blocks, more="`/astakos commissions`", room=SECTION_BUDGET - len(head))


def astakos_user(
    quota_lines: list[str],
    card_blocks: list[list[b.Block]],
    join_cards: list[list[b.Block]] | None = None,
) -> list[b.Block]:
    join_cards = join_cards or []
    if not quota_lines and not card_blocks and not join_cards:
        return nothing(
            "No quota over 80 %, and no project application or membership request is waiting."
        )
    out = []
    if quota_lines:
        out.append(
            listing(
                f"Quotas over 80 % ({len(quota_lines)})",
                quota_lines,
                more="`/astakos quotas`",
                limit=4,
            )
        )
    if card_blocks:
        out.append(
            b.context(f"*{len(card_blocks)}* project application(s) waiting for a decision:")
        )
        out += cards(
            card_blocks,
            more="`/astakos projects` (waiting ones first)",
            room=SECTION_BUDGET - len(out) - (1 if join_cards else 0),
            max_cards=2,
        )
    if join_cards:
        # One block is always kept for this line, so the requests are never left unsaid.
        room = SECTION_BUDGET - len(out) - 1
        out.append(
            b.context(
                f"*{len(join_cards)}* membership request(s) waiting for you "
                "as project owner" + (":" if room > 1 else ": `/astakos members <project>`")
            )
        )
        if room > 1:
            out += cards(join_cards, more="`/astakos members <project>`", room=room, max_cards=2)
    return out


# -- Atoti Limits --------------------------------------------------------------------------


def incident_line(i: Incident) -> str:
    icon = KIND_ICON.get(i.kind, "")
    return (
        f"{icon} *{b.escape(i.kind)}* · limit `{b.escape(i.limit_id)}` "
        f"*{b.escape(i.structure)}* · {b.escape(location_text(i.location))} · "
        f"{number(i.measure_value)} of {number(i.limit_value)} "
        f"({percent(i.utilization)}) · `{b.escape(i.incident_id)}`"
    )


def limits(
    as_of: str | None,
    incidents: list[Incident],
    card_blocks: list[list[b.Block]],
    since: datetime | None,
) -> list[b.Block]:
    if not incidents and not card_blocks:
        when = f" {since_text(since, '')}" if since else ""
        return nothing(f"No new breach or warning{when}, and no limit is waiting for approval.")
    out = []
    if incidents:
        breaches = sum(1 for i in incidents if i.kind == "Breach")
        title = (
            f"New breaches and warnings as of {b.escape(as_of or '—')} "
            f"({breaches} breach(es), {len(incidents) - breaches} warning(s))"
        )
        out.append(
            listing(
                title,
                [incident_line(i) for i in incidents],
                more=f"`/limits breaches {b.escape(as_of)}`" if as_of else "`/limits breaches`",
            )
        )
    if card_blocks:
        out.append(b.context(f"*{len(card_blocks)}* limit(s) waiting for approval:"))
        out += cards(card_blocks, more="`/limits pending`", room=SECTION_BUDGET - len(out))
    return out


def breach_alert(instance: str, i: Incident) -> tuple[str, list[b.Block]]:
    text = f"Atoti Limits ({b.escape(instance)}), as of {b.escape(i.as_of)}: " + incident_line(i)
    return text, [b.section(text)]


def limits_down(instance: str, detail: str) -> tuple[str, list[b.Block]]:
    text = f":red_circle: Atoti Limits ({b.escape(instance)}) is unreachable: {b.escape(detail)}"
    return text, [b.section(text)]


def limits_back(instance: str, started: datetime) -> tuple[str, list[b.Block]]:
    text = (
        f":large_green_circle: Atoti Limits ({b.escape(instance)}) answers again "
        f"(up since {slack_date(started)})."
    )
    return text, [b.section(text)]


def limits_restarted(instance: str, started: datetime) -> tuple[str, list[b.Block]]:
    text = (
        f":arrows_counterclockwise: Atoti Limits ({b.escape(instance)}) restarted at "
        f"{slack_date(started)}."
    )
    return text, [b.section(text)]


def limits_server_change(
    instance: str, server: str, cube: str | None, gone: bool
) -> tuple[str, list[b.Block]]:
    what = (
        f"Cube *{b.escape(cube)}* of Atoti server *{b.escape(server)}*"
        if cube
        else f"Atoti server *{b.escape(server)}*"
    )
    change = (
        "dropped off the connected list: its limits are not evaluated"
        if gone
        else "is connected again"
    )
    icon = ":warning:" if gone else ":large_green_circle:"
    text = f"{icon} {what} {change} (Atoti Limits {b.escape(instance)})."
    return text, [b.section(text)]


# -- Strategy One --------------------------------------------------------------------------


def mstr(
    versions: ServerVersions, latency_ms: float | None, projects: list[MstrProject]
) -> list[b.Block]:
    latency = f" · {latency_ms:.0f} ms" if latency_ms is not None else ""
    out = [
        b.section(
            f":large_green_circle: Reachable{latency} · I-Server "
            f"{b.escape(versions.iserver_version or '?')} · web "
            f"{b.escape(versions.web_version or '?')}"
        )
    ]
    monitored = any(p.nodes for p in projects)
    lines = []
    for p in projects:
        if p.nodes and p.not_loaded_on:
            where = ", ".join(
                f"{b.escape(n.name)}: {b.escape(n.status or '?')}"
                for n in p.nodes
                if n.status != "loaded"
            )
            lines.append(f":white_circle: *{b.escape(p.name)}* · {where}")
        elif not p.nodes and not p.loaded:
            lines.append(f":white_circle: *{b.escape(p.name)}* · not loaded")
    if lines:
        out.append(
            listing(
                f"Projects not loaded everywhere ({len(lines)})", lines, more="`/mstr projects`"
            )
        )
    elif monitored:
        out.append(b.context("Every project is loaded on every node."))
    else:
        out.append(
            b.context(
                "Per-node project status needs the project monitor privilege; "
                "every project loaded for this account is up."
            )
        )
    return out


def mstr_down(instance: str, detail: str) -> tuple[str, list[b.Block]]:
    text = f":red_circle: Strategy One ({b.escape(instance)}) is unreachable: {b.escape(detail)}"
    return text, [b.section(text)]
