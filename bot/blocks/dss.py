"""Block Kit for /dss: futures, jobs, scenarios, notebooks, keys, usage, variables."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from bot.blocks import common as b
from bot.blocks import open_in
from bot.blocks.time import duration, from_ms, slack_date
from bot.interactions import ref
from bot.platforms.dss.models import (
    ApiKey,
    AuthInfo,
    Future,
    ImpersonationRules,
    Job,
    Notebook,
    NotebookSession,
    Scenario,
    ScenarioRun,
    UsageSummary,
)

ABORT = "dss_future_abort"
WATCH = "dss_future_watch"
UNLOAD = "dss_notebook_unload"
DELETE_KEY = "dss_key_delete"
KEEP_KEY = "dss_key_keep"
ABORT_JOB = "dss_job_abort"
RUN_SCENARIO = "dss_scenario_run"
HELD_KEY = ":link: Switchboard uses this key for you: deleting it breaks your link."
HELD_KEY_CONFIRM = (
    ":warning: *`{label}` is the key Switchboard holds for you* on Dataiku DSS "
    "({instance}). If you delete it, Switchboard loses its link: your commands, "
    "digests and alerts for this instance stop until you link a new key with "
    "`/ops link dss {instance}`. Delete it anyway?"
)
HELD_KEY_DELETED = (
    ":wastebasket: Deleted key `{label}`. It was the key Switchboard held for "
    "you, so your Dataiku DSS ({instance}) link is now *broken*: run "
    "`/ops link dss {instance}` with a new key."
)
KEY_KEPT = "Kept key `{label}`; your link is unchanged."

OUTCOME_ICON = {
    "SUCCESS": ":white_check_mark:",
    "WARNING": ":warning:",
    "FAILED": ":x:",
    "ABORTED": ":no_entry_sign:",
    None: ":hourglass_flowing_sand:",
}
TITLE = "DSS"
STATE_ICON = {
    "running": ":arrows_counterclockwise:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "aborted": ":no_entry_sign:",
    "unknown": ":grey_question:",
}


class FutureRef(BaseModel):
    instance: str
    job_id: str
    all: bool = False  # re-render the list the button was on


class JobRef(BaseModel):
    instance: str
    project: str
    job_id: str


class ScenarioRef(BaseModel):
    instance: str
    project: str
    scenario: str


class NotebookRef(BaseModel):
    instance: str
    project: str
    notebook: str
    session: str
    all: bool = False  # clicked on `/dss notebooks all`: re-render that view
    idle: int = 0  # its `idle>` filter, in seconds


class KeyRef(BaseModel):
    instance: str
    kind: str  # "global" | "personal"
    id: str
    label: str = ""
    scope: str = ""  # "everyone": clicked on `/dss keys personal [user]`
    owner: str = ""  # that view's user filter
    # Set on the second confirmation's button: the person said yes to losing the link too.
    unlink_ok: bool = False


def whoami(instance: str, info: AuthInfo, admin: bool) -> list[b.Block]:
    groups = ", ".join(info.groups) or "—"
    return [
        b.header(f"Dataiku DSS ({instance})"),
        b.fields(
            f"*Login*\n{b.escape(info.login)}",
            f"*Profile*\n{b.escape(info.profile or '—')}",
            f"*Groups*\n{b.escape(groups)}",
            f"*Admin key*\n{'yes' if admin else 'no'}",
            f"*Authenticated by*\n{b.escape(info.auth_source or '—')}",
        ),
    ]


def _future_line(f: Future) -> str:
    icon = STATE_ICON.get(f.status, "")
    owner = f" · {b.escape(f.owner)}" if f.owner else ""
    progress = f"\n{b.escape(f.progress_text)}" if f.progress_text else ""
    return (
        f"{icon} *{b.escape(f.label)}*{owner}\n`{b.escape(f.job_id)}` · "
        f"{f.status} · {duration(f.running_time / 1000)}{progress}"
    )


def future_url(ui: str | None, f: Future) -> str | None:
    """A scenario run's page; other tasks have none of their own."""
    if f.scenario is None:
        return None
    project, scenario = f.scenario
    return open_in.page(ui, open_in.DSS_SCENARIO, project=project, scenario=scenario)


def future_item(
    instance: str, f: Future, *, all_users: bool, ui: str | None = None
) -> list[b.Block]:
    buttons = []
    if f.status == "running":
        buttons.append(
            b.button(
                "Abort",
                ABORT,
                ref(FutureRef(instance=instance, job_id=f.job_id, all=all_users)),
                style="danger",
                confirm_dialog=b.confirm(
                    "Abort this task?",
                    f"Abort *{b.escape(f.label)}* on {b.escape(instance)}? "
                    "It runs with your own DSS key.",
                    ok="Abort",
                ),
            )
        )
        buttons.append(b.button("Watch", WATCH, ref(FutureRef(instance=instance, job_id=f.job_id))))
    link = open_in.button(TITLE, future_url(ui, f))
    if link:
        buttons.append(link)
    block = b.section(_future_line(f))
    return [block, b.actions(*buttons)] if buttons else [block]


def futures(
    instance: str, items: list[Future], *, all_users: bool, note: str = "", ui: str | None = None
) -> list[b.Block]:
    scope = "all users" if all_users else "yours"
    head = [b.header(f"Running tasks on {instance} ({scope})")]
    if note:
        head.append(b.context(note))
    if not items:
        return [*head, b.section("Nothing is running.")]
    # Long runners first: they are the ones people ask about.
    ordered = sorted(items, key=lambda f: f.running_time, reverse=True)
    return b.fit_blocks(
        head,
        [future_item(instance, f, all_users=all_users, ui=ui) for f in ordered],
        more="{left} more not shown.",
    )


def future_detail(instance: str, f: Future, ui: str | None = None) -> list[b.Block]:
    lines = [_future_line(f)]
    started = from_ms(f.start_time)
    if started:
        lines.append(f"Started {slack_date(started)}")
    outcome = _outcome(f)
    if outcome:
        lines.append(outcome)
    return [b.section("\n".join(lines)), *future_item(instance, f, all_users=False, ui=ui)[1:]]


def _outcome(f: Future) -> str:
    """`Failed: <reason>` or `Result: <summary>` for a stopped task, from its full state."""
    text = f.outcome_text
    if not text:
        return ""
    return f"{'Failed' if f.status == 'failed' else 'Result'}: {b.escape(b.clip(text, 300))}"


def future_ended(instance: str, f: Future) -> str:
    icon = STATE_ICON.get(f.status, "")
    outcome = _outcome(f)
    detail = f". {outcome}" if outcome else ""
    return (
        f"{icon} DSS task *{b.escape(f.label)}* (`{b.escape(f.job_id)}`, "
        f"{b.escape(instance)}) ended: {f.status} after "
        f"{duration(f.running_time / 1000)}{detail}."
    )


def jobs(
    instance: str, items: list[Job], project: str | None, ui: str | None = None
) -> list[b.Block]:
    where = f"project {project}" if project else "all projects"
    head = [b.header(f"Running jobs on {instance} ({where})")]
    if not items:
        return [*head, b.section("No job is running.")]
    rows = []
    for job in items:
        started = from_ms(job.start_time)
        outputs = ", ".join(job.outputs[:3]) or "—"
        rows.append(
            [
                b.section(
                    f"*{b.escape(job.project_key)}* · `{b.escape(job.job_id)}`\n"
                    f"{b.words(job.state)} · {b.words(job.type)} · "
                    f"by {b.escape(job.initiator or '?')} · started "
                    f"{slack_date(started)}\nOutputs: {b.escape(outputs)}",
                    accessory=open_in.button(
                        TITLE,
                        open_in.page(ui, open_in.DSS_JOB, project=job.project_key, job=job.job_id),
                    ),
                )
            ]
        )
    return b.fit_blocks(head, rows, more="{left} more jobs not shown.")


JOB_ICON = {"DONE": ":white_check_mark:", "FAILED": ":x:", "ABORTED": ":no_entry_sign:"}


def job_state(job: Job) -> str:
    """A job's state in words: running with who started it and since when, or finished
    with its outcome, when, and why it failed when DSS says."""
    if job.finished:
        ended = from_ms(job.end_time)
        when = f" {slack_date(ended)}" if ended else ""
        took = (
            f" after {duration((job.end_time - job.start_time) / 1000)}"
            if job.end_time and job.start_time
            else ""
        )
        why = f"\nWhy: {b.escape(b.clip(job.failure, 300))}" if job.failure else ""
        return f"{JOB_ICON[job.state]} finished: {b.words(job.state)}{when}{took}{why}"
    started = from_ms(job.start_time)
    by = f" · started by {b.escape(job.initiator)}" if job.initiator else ""
    since = f" {slack_date(started)}" if started else ""
    return f":arrows_counterclockwise: {b.words(job.state)}{by}{since}"


def job_buttons(instance: str, job: Job) -> list[b.Block]:
    """Abort while it runs (with the clicker's own key), nothing once it is over."""
    if job.finished:
        return []
    return [
        b.button(
            "Abort",
            ABORT_JOB,
            ref(JobRef(instance=instance, project=job.project_key, job_id=job.job_id)),
            style="danger",
            confirm_dialog=b.confirm(
                "Abort this job?",
                f"Abort job `{b.escape(job.job_id)}` in {b.escape(job.project_key)} on "
                f"{b.escape(instance)}? It runs with your own DSS key.",
                ok="Abort",
            ),
        )
    ]


def job_detail(instance: str, job: Job, ui: str | None = None) -> list[b.Block]:
    """`/dss job`: one job, running or finished, with its buttons."""
    outputs = ", ".join(job.outputs[:3]) or "—"
    text = (
        f"*{b.escape(job.project_key)}* · `{b.escape(job.job_id)}` ({b.escape(instance)})\n"
        f"{job_state(job)}\n{b.words(job.type)} · outputs: {b.escape(outputs)}"
    )
    link = open_in.button(
        TITLE, open_in.page(ui, open_in.DSS_JOB, project=job.project_key, job=job.job_id)
    )
    buttons = [*job_buttons(instance, job), *([link] if link else [])]
    return [b.section(text), *([b.actions(*buttons)] if buttons else [])]


def run_button(instance: str, project: str, scenario: Scenario) -> b.Block:
    """Run a scenario, as `/dss run` does (with the clicker's own key)."""
    name = b.escape(scenario.name or scenario.id)
    return b.button(
        "Run",
        RUN_SCENARIO,
        ref(ScenarioRef(instance=instance, project=project, scenario=scenario.id)),
        style="primary",
        confirm_dialog=b.confirm(
            "Run this scenario?",
            f"Run *{name}* in {b.escape(project)} on {b.escape(instance)} with your own DSS "
            "key? You get its outcome when it ends.",
            ok="Run",
        ),
    )


def scenarios(
    instance: str,
    project: str,
    items: list[tuple[Scenario, ScenarioRun | None]],
    ui: str | None = None,
) -> list[b.Block]:
    head = [b.header(f"Scenarios of {project} on {instance}")]
    if not items:
        return [*head, b.section("This project has no scenario.")]
    rows = []
    for scenario, run in items:
        if run is None:
            last = "never run"
        else:
            icon = OUTCOME_ICON.get(run.outcome, "")
            when = slack_date(from_ms(run.end or run.start))
            last = f"{icon} {b.words(run.outcome or 'running')} · {when}"
        state = "running" if scenario.running else ("active" if scenario.active else "inactive")
        rows.append(
            [
                b.section(
                    f"*{b.escape(scenario.name or scenario.id)}* "
                    f"(`{b.escape(scenario.id)}`) · {state}\nLast run: {last}",
                    accessory=open_in.button(
                        TITLE,
                        open_in.page(
                            ui, open_in.DSS_SCENARIO, project=project, scenario=scenario.id
                        ),
                    ),
                )
            ]
        )
    return b.fit_blocks(head, rows, more="{left} more scenarios not shown.")


def run_started(instance: str, project: str, scenario: str) -> str:
    return (
        f":rocket: Started scenario *{b.escape(project)}.{b.escape(scenario)}* on "
        f"{b.escape(instance)}. I'll send you its outcome when it ends."
    )


def run_ended(instance: str, run: ScenarioRun) -> str:
    icon = OUTCOME_ICON.get(run.outcome, "")
    took = duration((run.end - run.start) / 1000) if run.end and run.start else "?"
    return (
        f"{icon} Scenario *{b.escape(run.project_key)}.{b.escape(run.scenario_id)}* on "
        f"{b.escape(instance)} ended: *{b.words(run.outcome)}* after {took} "
        f"(run `{b.escape(run.run_id)}`)."
    )


def _notebook_row(text: str, nb: Notebook, value: str, ui: str | None) -> list[b.Block]:
    """The session line with Unload; with Open in DSS beside it when the UI is known."""
    link = open_in.button(
        TITLE, open_in.page(ui, open_in.DSS_NOTEBOOK, project=nb.project_key, notebook=nb.name)
    )
    if link is None:
        return [b.section(text, accessory=_unload_button(nb, value))]
    return [b.section(text), b.actions(_unload_button(nb, value), link)]


def notebooks(
    instance: str, project: str, items: list[Notebook], note: str = "", ui: str | None = None
) -> list[b.Block]:
    head = [b.header(f"Live notebooks of {project} on {instance}")]
    if note:
        head.append(b.context(note))
    live = [nb for nb in items if nb.sessions]
    if not live:
        return [*head, b.section("No notebook has a live kernel.")]
    rows = []
    for nb in live:
        for s in nb.sessions:
            value = ref(
                NotebookRef(
                    instance=instance, project=project, notebook=nb.name, session=s.session_id
                )
            )
            rows.append(
                _notebook_row(
                    f"*{b.escape(nb.name)}* · {b.escape(nb.language or nb.kernel or '?')}\n"
                    f"{b.escape(s.creator_display_name or s.creator or '?')} · kernel "
                    f"{b.escape(s.execution_state or '?')} · last active "
                    f"{slack_date(from_ms(s.last_activity))}",
                    nb,
                    value,
                    ui,
                )
            )
    return b.fit_blocks(head, rows, more="{left} more sessions not shown.")


def all_notebooks(
    instance: str,
    sessions: list[tuple[Notebook, NotebookSession]],
    idle: timedelta | None,
    note: str = "",
    ui: str | None = None,
) -> list[b.Block]:
    """Live kernel sessions across every project, idlest first, each with Unload."""
    scope = f", idle {duration(idle.total_seconds())} or more" if idle else ""
    head = [b.header(f"Live notebooks on {instance}{scope}")]
    if note:
        head.append(b.context(note))
    if not sessions:
        return [
            *head,
            b.section(
                "No notebook session is idle that long."
                if idle
                else "No notebook has a live kernel."
            ),
        ]
    rows = []
    for nb, s in sessions:
        value = ref(
            NotebookRef(
                instance=instance,
                project=nb.project_key,
                notebook=nb.name,
                session=s.session_id,
                all=True,
                idle=int(idle.total_seconds()) if idle else 0,
            )
        )
        rows.append(
            _notebook_row(
                f"*{b.escape(nb.project_key)}* · *{b.escape(nb.name)}* · "
                f"{b.escape(nb.language or nb.kernel or '?')}\n"
                f"{b.escape(s.creator_display_name or s.creator or '?')} · kernel "
                f"{b.escape(s.execution_state or '?')} · last active "
                f"{slack_date(from_ms(s.last_activity))}",
                nb,
                value,
                ui,
            )
        )
    return b.fit_blocks(head, rows, more="{left} more sessions not shown.")


def _unload_button(nb: Notebook, value: str) -> b.Block:
    return b.button(
        "Unload",
        UNLOAD,
        value,
        style="danger",
        confirm_dialog=b.confirm(
            "Unload notebook?",
            f"Stop the kernel of *{b.escape(nb.name)}*? Unsaved outputs are lost.",
            ok="Unload",
        ),
    )


KEY_TITLES = {
    "global": "Global API keys",
    "personal": "Your personal API keys",
    "everyone": "Personal API keys, oldest first",
}


def keys(
    instance: str,
    items: list[ApiKey],
    *,
    kind: str,
    note: str = "",
    owner: str = "",
    held: str = "",
) -> list[b.Block]:
    """The key list; `held` is the fingerprint of the key the person linked (marked)."""
    title = KEY_TITLES[kind] if not owner else f"Personal API keys of {owner}, oldest first"
    head = [
        b.header(f"{title} on {instance}"),
        b.context("Secrets are never shown; delete a key to revoke it."),
    ]
    if note:
        head.append(b.context(note))
    if not items:
        return [*head, b.section("No key.")]
    rows = []
    for key in items:
        who = f" · {b.escape(key.user)}" if key.user else ""
        admin = " · admin" if key.admin else ""
        value = ref(
            KeyRef(
                instance=instance,
                kind=key.kind,
                id=key.id,
                label=key.label[:40],
                scope="everyone" if kind == "everyone" else "",
                owner=owner[:80],
            )
        )
        mine = bool(held) and key.fingerprint == held
        rows.append(
            [
                b.section(
                    f"*{b.escape(key.label or key.id)}* (`{b.escape(key.id)}`){who}{admin}\n"
                    f"created {slack_date(key.created_at)} by {b.escape(key.created_by or '?')}"
                    + (f"\n{HELD_KEY}" if mine else ""),
                    accessory=b.button(
                        "Delete",
                        DELETE_KEY,
                        value,
                        style="danger",
                        confirm_dialog=b.confirm(
                            "Delete API key?",
                            f"Delete *{b.escape(key.label or key.id)}*? Anything "
                            "using it stops working" + (", Switchboard too." if mine else "."),
                            ok="Delete",
                        ),
                    ),
                )
            ]
        )
    return b.fit_blocks(head, rows, more="{left} more keys not shown.")


def delete_held_key(target: KeyRef) -> list[b.Block]:
    """The second, explicit question before deleting the key Switchboard holds."""
    label = b.escape(target.label or target.id)
    sure = target.model_copy(update={"unlink_ok": True})
    return [
        b.section(HELD_KEY_CONFIRM.format(label=label, instance=b.escape(target.instance))),
        b.actions(
            b.button(
                "Delete it and lose the link",
                DELETE_KEY,
                ref(sure),
                style="danger",
                confirm_dialog=b.confirm(
                    "Lose Switchboard's link?",
                    f"Delete *{label}* and break your Dataiku DSS link?",
                    ok="Delete it",
                ),
            ),
            b.button("Keep it", KEEP_KEY, ref(target)),
        ),
    ]


def usage(instance: str, u: UsageSummary) -> list[b.Block]:
    return [
        b.header(f"Usage of {instance}"),
        b.fields(
            f"*Projects*\n{u.projects}",
            f"*Datasets*\n{u.datasets}",
            f"*Recipes*\n{u.recipes}",
            f"*Jupyter notebooks*\n{u.jupyter_notebooks}",
            f"*SQL notebooks*\n{u.sql_notebooks}",
            f"*Scenarios*\n{u.scenarios} ({u.active_scenarios_with_triggers} with active triggers)",
        ),
    ]


def variables(instance: str, values: dict[str, Any], note: str = "") -> list[b.Block]:
    head = [b.header(f"Instance variables of {instance}")]
    if note:
        head.append(b.context(note))
    if not values:
        return [*head, b.section("No variable is set.")]
    lines = [f"`{b.escape(k)}` = `{b.escape(_short(v))}`" for k, v in sorted(values.items())]
    items = [[b.section("\n".join(lines[i : i + 20]))] for i in range(0, len(lines), 20)]
    return b.fit_blocks(head, items, more="{left} more groups not shown.")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return b.clip(text, 80)


def impersonation(instance: str, rules: ImpersonationRules) -> list[b.Block]:
    def line(rule: Any) -> str:
        scope = f" · project {rule.project_key}" if rule.project_key else ""
        return (
            f"{rule.type}{scope}: {b.escape(rule.source)} → unix "
            f"`{b.escape(rule.target_unix or '=')}`, hadoop "
            f"`{b.escape(rule.target_hadoop or '=')}`"
        )

    users = "\n".join(line(r) for r in rules.user_rules) or "none"
    groups = "\n".join(line(r) for r in rules.group_rules) or "none"
    return [
        b.header(f"Impersonation rules on {instance}"),
        b.section(f"*User rules*\n{users}"),
        b.section(f"*Group rules*\n{groups}"),
    ]
