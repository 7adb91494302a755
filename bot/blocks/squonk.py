"""Block Kit for /squonk: projects, job instances (Stop, Watch), tasks, the job catalogue."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from bot.blocks import common as b
from bot.blocks import open_in
from bot.blocks.time import duration, slack_date
from bot.interactions import ref
from bot.platforms.squonk.models import Instance, Job, Project, Task, TaskEvent

STOP = "squonk_instance_stop"
WATCH = "squonk_instance_watch"

NO_PROJECT = (
    "There is no project `{project}` that you can see on Squonk2 ({instance}).{hint} "
    "`/squonk projects` lists yours."
)
NO_JOB = "There is no job `{job}` in the catalogue of Squonk2 ({instance}).{hint}"
NO_JOB_HINT = " Versions of it: {versions}."
NO_JOB_LIST = " `/squonk jobs {filter}` lists the jobs."
JOB_DISABLED = "The job `{job}` is disabled on Squonk2 ({instance}): {reason}"
NO_INSTANCE = (
    "There is no instance named `{name}` that you can see on Squonk2 ({instance})."
    "{hint} `/squonk instances` lists them."
)
SEVERAL_INSTANCES = "Several instances are named `{name}`: {ids}. Give the id instead."
WATCHING = "I'll send you a message when it ends."
ALREADY_WATCHING = "You are already watching it."

PHASE_ICON = {
    "PENDING": ":hourglass_flowing_sand:",
    "RUNNING": ":arrows_counterclockwise:",
    "COMPLETED": ":white_check_mark:",
    "SUCCEEDED": ":white_check_mark:",
    "FAILED": ":x:",
}
TASK_ICON = {
    "PENDING": ":hourglass_flowing_sand:",
    "STARTED": ":arrows_counterclockwise:",
    "RUNNING": ":arrows_counterclockwise:",
    "RETRY": ":repeat:",
    "SUCCESS": ":white_check_mark:",
    "DONE": ":white_check_mark:",
    "FAILURE": ":x:",
}
LEVEL_ICON = {"WARNING": ":warning:", "ERROR": ":x:", "CRITICAL": ":rotating_light:"}
RECENT_EVENTS = 10
_RUN_TIME = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d\d):(\d\d)(?:\.\d+)?$")


class InstanceRef(BaseModel):
    """A button on an instance: which one, and what to re-render after a Stop."""

    instance: str  # the Squonk2 site (configured instance name)
    id: str
    name: str = ""
    card: bool = False  # clicked on the instance card (else on the list)
    project: str | None = None  # the list's project filter


def run_time(text: str) -> str:
    """The DM's run time (`0:12:32`, `1 day, 2:00:00`) as people read durations."""
    match = _RUN_TIME.match(text or "")
    if not match:
        return b.escape(text or "—")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return duration(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def when(text: str | None) -> str:
    if not text:
        return "—"
    try:
        return slack_date(datetime.fromisoformat(text))
    except ValueError:
        return b.escape(text)


def _phase(instance: Instance) -> str:
    return f"{PHASE_ICON.get(instance.phase, ':grey_question:')} {b.words(instance.phase)}"


TITLE = "Squonk2"


def projects(site: str, items: list[Project], account: str, ui: str | None = None) -> list[b.Block]:
    head = [b.header(f"Your Squonk2 projects on {site}")]
    if not items:
        return [*head, b.section("You can see no project.")]
    rows = []
    for p in sorted(items, key=lambda p: p.name.lower()):
        role = (
            "administrator"
            if account in p.administrators
            else "editor"
            if account in p.editors
            else "observer"
            if account in p.observers
            else "public"
        )
        private = ":lock: private" if p.private else "public"
        rows.append(
            [
                b.section(
                    f"*{b.escape(p.name)}* · `{b.escape(p.project_id)}`\n{private} · you: {role} · "
                    f"created by {b.escape(p.creator or '?')} · {_size(p.size)}",
                    accessory=open_in.button(
                        TITLE, open_in.page(ui, open_in.SQUONK_PROJECT, project=p.project_id)
                    ),
                )
            ]
        )
    return b.fit_blocks(head, rows, more="{left} more projects not shown.")


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} TiB"


def _buttons(
    site: str, instance: Instance, *, card: bool, project: str | None = None, ui: str | None = None
) -> list[dict[str, Any]]:
    link = open_in.button(TITLE, open_in.page(ui, open_in.SQUONK_INSTANCE, instance=instance.id))
    if instance.done:
        return [link] if link else []
    value = ref(
        InstanceRef(
            instance=site, id=instance.id, name=instance.name[:80], card=card, project=project
        )
    )
    name = b.escape(instance.name)
    return [
        b.button(
            "Stop",
            STOP,
            value,
            style="danger",
            confirm_dialog=b.confirm(
                "Stop this instance?",
                f"Stop *{name}* on {b.escape(site)} and remove it? "
                "Its work is lost. It runs with your own Squonk2 account.",
                ok="Stop",
            ),
        ),
        b.button("Watch", WATCH, value),
        *([link] if link else []),
    ]


def _instance_line(instance: Instance, project_names: dict[str, str]) -> str:
    project = project_names.get(instance.project_id, instance.project_id)
    job = f" · {b.escape(instance.job_label)}" if instance.job_label else ""
    error = f"\n{b.escape(instance.error_message)}" if instance.error_message else ""
    return (
        f"*{b.escape(instance.name)}* · `{b.escape(instance.id)}`\n{_phase(instance)} · "
        f"run time {run_time(instance.run_time)} · {b.escape(project)}{job} · "
        f"by {b.escape(instance.owner or '?')}{error}"
    )


def instances(
    site: str,
    items: list[Instance],
    project_names: dict[str, str],
    *,
    project: str | None = None,
    note: str = "",
    ui: str | None = None,
) -> list[b.Block]:
    where = f"project {project}" if project else "all your projects"
    head = [b.header(f"Squonk2 instances on {site} ({where})")]
    if note:
        head.append(b.context(note))
    if not items:
        return [*head, b.section("No job instance.")]
    # Running ones first, newest first within each group.
    ordered = sorted(items, key=lambda i: i.launched, reverse=True)
    ordered.sort(key=lambda i: i.done)
    rows = []
    for instance in ordered:
        buttons = _buttons(site, instance, card=False, project=project, ui=ui)
        block = b.section(_instance_line(instance, project_names))
        rows.append([block, b.actions(*buttons)] if buttons else [block])
    hint = "" if project else " `/squonk instances <project>` narrows the list."
    return b.fit_blocks(head, rows, more="{left} more instances not shown." + hint)


def instance_card(
    site: str,
    instance: Instance,
    task: Task | None,
    project_name: str,
    note: str = "",
    ui: str | None = None,
) -> list[b.Block]:
    lines = [
        _instance_line(instance, {instance.project_id: project_name}),
        f"Launched {when(instance.launched)} · started {when(instance.started)}"
        + (f" · stopped {when(instance.stopped)}" if instance.stopped else ""),
    ]
    if task is not None:
        exit_code = f" · exit code {task.exit_code}" if task.exit_code is not None else ""
        lines.append(f"Task `{b.escape(task.id)}`: {b.words(task.state)}{exit_code}")
    blocks = [
        b.header(f"Squonk2 instance {b.clip(instance.name, 100)}"),
        b.section("\n".join(lines)),
    ]
    if note:
        blocks.append(b.context(note))
    events = task.events[-RECENT_EVENTS:] if task is not None else []
    if events:
        blocks.append(b.section("*Recent events*\n" + "\n".join(_event(e) for e in events)))
    elif task is not None:
        blocks.append(b.context("No task event yet."))
    buttons = _buttons(site, instance, card=True, ui=ui)
    if buttons:
        blocks.append(b.actions(*buttons))
    return blocks


def _event(event: TaskEvent) -> str:
    icon = LEVEL_ICON.get(event.level, "•")
    return f"{icon} {when(event.time)} {b.escape(b.clip(event.message, 200))}"


def run_started(
    site: str, label: str, project: str, instance_id: str, task_id: str, name: str, note: str
) -> str:
    return (
        f":rocket: Started *{b.escape(label)}* in project *{b.escape(project)}* on "
        f"{b.escape(site)} as *{b.escape(name)}*.\nInstance `{b.escape(instance_id)}` · "
        f"task `{b.escape(task_id)}`. {note}"
    )


def instance_ended(site: str, instance: Instance, task: Task | None) -> str:
    icon = PHASE_ICON.get(instance.phase, ":grey_question:")
    exit_code = (
        f", exit code {task.exit_code}" if task is not None and task.exit_code is not None else ""
    )
    error = f": {b.escape(instance.error_message)}" if instance.error_message else ""
    return (
        f"{icon} Squonk2 instance *{b.escape(instance.name)}* (`{b.escape(instance.id)}`, "
        f"{b.escape(site)}) ended: *{b.words(instance.phase)}*{exit_code} after "
        f"{run_time(instance.run_time)}{error}."
    )


def instance_removed(site: str, name: str, instance_id: str) -> str:
    return (
        f":wastebasket: Squonk2 instance *{b.escape(name or instance_id)}* "
        f"(`{b.escape(instance_id)}`, {b.escape(site)}) was stopped and removed."
    )


def tasks(site: str, items: list[Task], *, running_only: bool) -> list[b.Block]:
    scope = "not done" if running_only else "all"
    head = [b.header(f"Squonk2 tasks on {site} ({scope})")]
    if not items:
        return [*head, b.section("No task.")]
    rows = []
    for task in sorted(items, key=lambda t: t.created, reverse=True):
        icon = ":x:" if task.exit_code else TASK_ICON.get(task.state, "")
        exit_code = f" · exit code {task.exit_code}" if task.exit_code is not None else ""
        removal = " · removal" if task.removal else ""
        rows.append(
            [
                b.section(
                    f"{icon} `{b.escape(task.id)}` · {b.words(task.state)}{exit_code}\n"
                    f"{b.escape(task.purpose)} `{b.escape(task.purpose_id or '—')}`{removal} · "
                    f"created {when(task.created)}"
                )
            ]
        )
    more = "{left} more tasks not shown." + (
        "" if running_only else " `/squonk tasks running` shows only live ones."
    )
    return b.fit_blocks(head, rows, more=more)


def jobs(site: str, items: list[Job], filter: str | None) -> list[b.Block]:
    where = f" matching “{filter}”" if filter else ""
    head = [b.header(b.clip(f"Squonk2 jobs on {site}{where}", 150))]
    if not items:
        return [*head, b.section("No job matches." if filter else "The catalogue is empty.")]
    rows = []
    for job in items:
        category = f" · {b.escape(job.category)}" if job.category else ""
        disabled = (
            f"\n:no_entry: disabled: {b.escape(job.disabled_reason or 'no reason given')}"
            if job.disabled
            else ""
        )
        description = f"\n{b.escape(b.clip(job.description, 200))}" if job.description else ""
        rows.append(
            [
                b.section(
                    f"`{b.escape(job.label)}` · *{b.escape(job.name or job.job)}*"
                    f"{category}{description}{disabled}"
                )
            ]
        )
    return b.fit_blocks(
        head, rows, more="{left} more jobs not shown. Narrow with `/squonk jobs <filter>`."
    )
