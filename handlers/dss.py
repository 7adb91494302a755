"""/dss: Dataiku DSS with the caller's own API key.

Every subcommand takes an optional `@instance` anywhere in its arguments; without it, the
caller's first linked DSS instance is used.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import errors, suggest
from bot.arguments import Keyword, Options, Word, Words
from bot.blocks import common as b
from bot.blocks import dss as blocks
from bot.commands import CommandFamily, Invocation
from bot.config import Settings
from bot.interactions import Click, on_click
from bot.platforms.base import Credential
from bot.platforms.dss import DESCRIPTOR
from bot.platforms.dss.client import DSSClient
from bot.platforms.dss.models import ApiKey, ScenarioRun, TriggerFire, key_fingerprint
from bot.platforms.dss.platform import DSSPlatform
from bot.services import Services
from bot.watch import Done, Poll, watch_kind
from handlers.common import take_instance

family = CommandFamily(DESCRIPTOR.key, DESCRIPTOR.title)

ADMIN_ONLY = (
    "`{command}` needs a DSS *admin* key, and the key you linked ({account}) is not "
    "one. Ask a DSS administrator, or link an admin key with `/ops link dss`."
)
# How many scenarios' last runs are fetched at once (one call each).
SCENARIO_CONCURRENCY = 8


async def _session(
    services: Services, user_id: str, instance: str | None
) -> tuple[Credential, DSSClient]:
    credential = await services.accounts.credential(user_id, "dss", instance)
    return credential, services.platforms.get(DSSPlatform).client(credential.instance)


def _ui(services: Services, credential: Credential) -> str | None:
    """The instance's UI, for "Open in DSS" buttons (None: no button)."""
    return services.platforms["dss"].ui_url(credential.instance)


async def _open(inv: Invocation) -> tuple[Credential, DSSClient]:
    return await _session(inv.services, inv.user_id, take_instance(inv))


async def _project_key(client: DSSClient, credential: Credential, word: str) -> str:
    """The project key as DSS spells it (`sales` finds SALES); an unknown key is a reply
    naming the closest ones."""
    keys = [p.key for p in await client.list_projects(api_key=credential.secret)]
    if word in keys:
        return word
    same = suggest.same_name(word, keys)
    if same is not None:
        return same
    raise errors.UserError(
        f"Dataiku DSS ({credential.instance}) has no project "
        f"{suggest.code(word)} that you can see."
        f"{suggest.did_you_mean(word, keys)}"
    )


def _admin_only(error: errors.Forbidden, command: str, credential: Credential) -> errors.BotError:
    return errors.NotAllowed(ADMIN_ONLY.format(command=command, account=credential.account))


@family.command("whoami", "your DSS login, groups, profile, and whether the key is admin", args=[])
async def whoami(inv: Invocation) -> None:
    credential, client = await _open(inv)
    info, admin = await asyncio.gather(
        client.auth_info(api_key=credential.secret), client.is_admin(api_key=credential.secret)
    )
    await inv.reply(
        text=f"DSS {credential.instance}: {b.escape(info.login)}",
        blocks=blocks.whoami(credential.instance, info, admin),
    )


async def _futures_reply(
    services: Services, user_id: str, instance: str | None, all_users: bool, note: str = ""
) -> tuple[str, list[b.Block]]:
    credential, client = await _session(services, user_id, instance)
    try:
        items = await client.list_futures(api_key=credential.secret, all_users=all_users)
    except errors.Forbidden as error:
        raise _admin_only(error, "/dss futures all", credential) from None
    running = [f for f in items if f.status == "running"]
    text = f"{len(running)} running task(s) on {credential.instance}"
    return text, blocks.futures(
        credential.instance, running, all_users=all_users, note=note, ui=_ui(services, credential)
    )


@family.command(
    "futures", "running long tasks with Abort buttons (all: admin)", args=[Keyword("all")]
)
async def futures(inv: Invocation) -> None:
    instance = take_instance(inv)
    all_users = inv.a.flag("all")
    text, blks = await _futures_reply(inv.services, inv.user_id, instance, all_users)
    await inv.reply(text=text, blocks=blks)


def _future_poll(client: DSSClient, credential: Credential, job_id: str) -> Poll:
    async def poll() -> Done | None:
        future = await client.get_future(api_key=credential.secret, job_id=job_id, peek=True)
        if future.status == "running":
            return None
        # Stopped: read it in full once, for the failure reason or the result.
        future = await client.final_state(api_key=credential.secret, job_id=job_id)
        return Done(blocks.future_ended(credential.instance, future))

    return poll


@family.command(
    "future",
    "a task's state; `watch` tells you when it ends",
    args=[Word("id"), Keyword("watch")],
)
async def future(inv: Invocation) -> None:
    credential, client = await _open(inv)
    job_id = inv.a.text("id")
    try:
        state = await client.final_state(api_key=credential.secret, job_id=job_id)
    except errors.NotFound:
        ids = [f.job_id for f in await client.list_futures(api_key=credential.secret)]
        raise errors.UserError(
            f"Dataiku DSS ({credential.instance}) has no task {suggest.code(job_id)} that you "
            f"can see.{suggest.did_you_mean(job_id, ids)} `/dss futures` lists yours."
        ) from None
    note = ""
    if inv.a.flag("watch"):
        note = await _start_watch(inv.services, inv.user_id, credential, job_id, state.label)
    await inv.reply(
        text=f"DSS task {b.escape(job_id)}: {state.status}" + (f" · {note}" if note else ""),
        blocks=blocks.future_detail(credential.instance, state, _ui(inv.services, credential))
        + ([b.context(note)] if note else []),
    )


async def _start_watch(
    services: Services, user_id: str, credential: Credential, job_id: str, label: str
) -> str:
    started = await services.watches.start(
        f"dss:{credential.instance}:{job_id}",
        user_id=user_id,
        kind="dss.future",
        params={"instance": credential.instance, "job_id": job_id},
        label=f"DSS task {label}",
    )
    return "I'll send you a message when it ends." if started else "You are already watching it."


@watch_kind("dss.future")
async def _future_watch(services: Services, user_id: str, params: dict[str, Any]) -> Poll:
    credential, client = await _session(services, user_id, params["instance"])
    return _future_poll(client, credential, params["job_id"])


@watch_kind("dss.run")
async def _run_watch(services: Services, user_id: str, params: dict[str, Any]) -> Poll:
    credential, client = await _session(services, user_id, params["instance"])
    fire = TriggerFire.model_validate(params["fire"])

    async def poll() -> Done | None:
        found = await client.scenario_run_for_trigger(api_key=credential.secret, fire=fire)
        if found is None or found.outcome is None:
            return None
        return Done(blocks.run_ended(credential.instance, found))

    return poll


@family.command(
    "jobs", "running jobs, in one project or all", args=[Word("project", optional=True)]
)
async def jobs(inv: Invocation) -> None:
    credential, client = await _open(inv)
    project = inv.a.get("project")
    if project:
        project = await _project_key(client, credential, project)
    items = await client.running_jobs(api_key=credential.secret, project_key=project)
    await inv.reply(
        text=f"{len(items)} running job(s) on {credential.instance}",
        blocks=blocks.jobs(credential.instance, items, project, _ui(inv.services, credential)),
    )


@family.command(
    "job",
    "one job, running or finished: its outcome, when, and why it failed",
    args=[Word("project"), Word("job")],
)
async def job(inv: Invocation) -> None:
    credential, client = await _open(inv)
    project = await _project_key(client, credential, inv.a.text("project"))
    job_id = inv.a.text("job")
    try:
        found = await client.job_status(
            api_key=credential.secret, project_key=project, job_id=job_id
        )
    except errors.NotFound:
        raise errors.UserError(
            f"Project {suggest.code(project)} on Dataiku DSS ({credential.instance}) has no job "
            f"{suggest.code(job_id)} that you can see. `/dss jobs {project}` lists the running "
            "ones."
        ) from None
    await inv.reply(
        text=f"Job {found.job_id}: {found.state.lower()}",
        blocks=blocks.job_detail(credential.instance, found, _ui(inv.services, credential)),
    )


@family.command("scenarios", "scenarios with their last run's outcome", args=[Word("project")])
async def scenarios(inv: Invocation) -> None:
    credential, client = await _open(inv)
    project = await _project_key(client, credential, inv.a.text("project"))
    items = await client.list_scenarios(api_key=credential.secret, project_key=project)
    gate = asyncio.Semaphore(SCENARIO_CONCURRENCY)

    async def last(scenario_id: str) -> ScenarioRun | None:
        async with gate:
            runs = await client.last_runs(
                api_key=credential.secret, project_key=project, scenario_id=scenario_id, limit=1
            )
        return runs[0] if runs else None

    runs = await asyncio.gather(*(last(s.id) for s in items))
    await inv.reply(
        text=f"{len(items)} scenario(s) in {b.escape(project)}",
        blocks=blocks.scenarios(
            credential.instance,
            project,
            list(zip(items, runs, strict=True)),
            _ui(inv.services, credential),
        ),
    )


@family.command(
    "run",
    "run a scenario; you get its outcome when it ends",
    args=[Word("project"), Word("scenario")],
)
async def run(inv: Invocation) -> None:
    credential, client = await _open(inv)
    project = await _project_key(client, credential, inv.a.text("project"))
    text = await start_run(
        inv.services, inv.user_id, credential, client, project, inv.a.text("scenario")
    )
    await inv.reply(text=text)


async def start_run(
    services: Services,
    user_id: str,
    credential: Credential,
    client: DSSClient,
    project: str,
    scenario: str,
) -> str:
    """Run a scenario and watch it for the person (its outcome when it ends): `/dss run`
    and the Run button. What they are told."""
    try:
        fire = await client.run_scenario(
            api_key=credential.secret, project_key=project, scenario_id=scenario
        )
    except errors.NotFound:
        known = await client.list_scenarios(api_key=credential.secret, project_key=project)
        ids = [s.id for s in known]
        same = suggest.same_name(scenario, ids)
        if same is None:
            raise errors.UserError(
                f"Project {suggest.code(project)} on Dataiku DSS ({credential.instance}) has no "
                f"scenario {suggest.code(scenario)}.{suggest.did_you_mean(scenario, ids)} "
                f"`/dss scenarios {project}` lists them."
            ) from None
        scenario = same
        fire = await client.run_scenario(
            api_key=credential.secret, project_key=project, scenario_id=scenario
        )
    await services.audit.record(
        user_id=user_id,
        action="dss.run",
        platform="dss",
        instance=credential.instance,
        target=f"{project}.{scenario}",
    )
    await services.watches.start(
        f"dss-run:{credential.instance}:{fire.run_id}",
        user_id=user_id,
        kind="dss.run",
        params={"instance": credential.instance, "fire": fire.model_dump()},
        label=f"scenario {project}.{scenario}",
    )
    return blocks.run_started(credential.instance, project, scenario)


async def _notebooks_reply(
    services: Services, user_id: str, instance: str | None, project: str, note: str = ""
) -> tuple[str, list[b.Block]]:
    credential, client = await _session(services, user_id, instance)
    items = await client.live_notebooks(api_key=credential.secret, project_key=project)
    live = sum(len(nb.sessions) for nb in items)
    return (
        f"{live} live notebook session(s) in {project}",
        blocks.notebooks(credential.instance, project, items, note, _ui(services, credential)),
    )


async def _all_notebooks_reply(
    services: Services, user_id: str, instance: str | None, idle: timedelta | None, note: str = ""
) -> tuple[str, list[b.Block]]:
    credential, client = await _session(services, user_id, instance)
    items = await client.all_live_notebooks(api_key=credential.secret)
    now_ms = services.now().timestamp() * 1000
    sessions = [
        (nb, s)
        for nb in items
        for s in nb.sessions
        if idle is None or now_ms - s.last_activity >= idle.total_seconds() * 1000
    ]
    sessions.sort(key=lambda pair: pair[1].last_activity)  # idlest first
    return (
        f"{len(sessions)} live notebook session(s) on {credential.instance}",
        blocks.all_notebooks(credential.instance, sessions, idle, note, _ui(services, credential)),
    )


IDLE = re.compile(r"^idle(?:>=?|&gt;=?|=)(\d+)([mhd])$", re.IGNORECASE)
IDLE_UNITS = {"m": 60, "h": 3600, "d": 86400}


def _idle(word: str | None) -> timedelta | None:
    """`idle>2h` (also `idle=2h`; Slack sends `>` as `&gt;`): sessions idle at least that."""
    match = IDLE.match(word or "")
    if not match:  # the parser let only IDLE through
        return None
    return timedelta(seconds=int(match.group(1)) * IDLE_UNITS[match.group(2).lower()])


@family.command(
    "notebooks",
    "Jupyter notebooks with live kernels, in one project or all; Unload",
    forms=[
        [Word("project")],
        [
            Keyword("all", optional=False),
            Word(
                "idle",
                optional=True,
                pattern=IDLE.pattern.strip("^$"),
                label="idle>2h",
                hint="say how long idle, like `idle>2h` (m, h or d)",
            ),
        ],
    ],
)
async def notebooks(inv: Invocation) -> None:
    instance = take_instance(inv)
    if inv.a.flag("all"):
        text, blks = await _all_notebooks_reply(
            inv.services, inv.user_id, instance, _idle(inv.a.get("idle"))
        )
    else:
        credential, client = await _session(inv.services, inv.user_id, instance)
        project = await _project_key(client, credential, inv.a.text("project"))
        text, blks = await _notebooks_reply(inv.services, inv.user_id, instance, project)
    await inv.reply(text=text, blocks=blks)


async def _list_keys(client: DSSClient, credential: Credential, kind: str) -> list[ApiKey]:
    """`kind`: global, personal (the caller's own) or everyone (every user's personal keys)."""
    if kind == "personal":
        return await client.list_personal_keys(api_key=credential.secret)
    command = "/dss keys" if kind == "global" else "/dss keys personal"
    try:
        if kind == "global":
            return await client.list_global_keys(api_key=credential.secret)
        return await client.list_all_personal_keys(api_key=credential.secret)
    except errors.Forbidden as error:
        raise _admin_only(error, command, credential) from None


async def _keys_reply(
    services: Services,
    user_id: str,
    instance: str | None,
    kind: str,
    note: str = "",
    owner: str = "",
) -> tuple[str, list[b.Block]]:
    """`kind`: global, personal (the caller's own) or everyone (every user's personal keys,
    or one user's with `owner`: the offboarding chore)."""
    credential, client = await _session(services, user_id, instance)
    items = await _list_keys(client, credential, kind)
    if kind == "everyone":
        items = sorted(
            (k for k in items if not owner or k.user == owner), key=lambda k: k.created_on
        )  # oldest first
        whose = f"{owner}'s" if owner else "personal"
        return (
            f"{len(items)} {whose} key(s) on {credential.instance}",
            blocks.keys(
                credential.instance,
                items,
                kind=kind,
                note=note,
                owner=owner,
                held=key_fingerprint(credential.secret),
            ),
        )
    return (
        f"{len(items)} {kind} key(s) on {credential.instance}",
        blocks.keys(
            credential.instance,
            items,
            kind=kind,
            note=note,
            held=key_fingerprint(credential.secret),
        ),
    )


@family.command(
    "keys",
    "global API keys, or every user's personal keys (admin); never the secret; Delete",
    forms=[[], [Keyword("personal", optional=False), Word("user", optional=True)]],
)
async def keys(inv: Invocation) -> None:
    instance = take_instance(inv)
    if inv.a.flag("personal"):
        text, blks = await _keys_reply(
            inv.services, inv.user_id, instance, "everyone", owner=inv.a.get("user") or ""
        )
    else:
        text, blks = await _keys_reply(inv.services, inv.user_id, instance, "global")
    await inv.reply(text=text, blocks=blks)


@family.command("mykeys", "your personal API keys; never the secret; Delete", args=[])
async def mykeys(inv: Invocation) -> None:
    text, blks = await _keys_reply(inv.services, inv.user_id, take_instance(inv), "personal")
    await inv.reply(text=text, blocks=blks)


@family.command("usage", "global usage summary (admin)", args=[])
async def usage(inv: Invocation) -> None:
    credential, client = await _open(inv)
    try:
        summary = await client.usage_summary(api_key=credential.secret)
    except errors.Forbidden as error:
        raise _admin_only(error, "/dss usage", credential) from None
    await inv.reply(
        text=f"DSS usage on {credential.instance}",
        blocks=blocks.usage(credential.instance, summary),
    )


@family.command(
    "vars",
    "instance variables (admin); `set` and `unset` change them",
    forms=[
        [],
        [Keyword("set", optional=False), Options(optional=False)],
        [Keyword("unset", optional=False), Words("name")],
    ],
)
async def vars_(inv: Invocation) -> None:
    credential, client = await _open(inv)
    note = ""
    try:
        if inv.a.flag("unset"):
            names = inv.a.words("name")
            current = await client.get_variables(api_key=credential.secret)
            missing = [n for n in names if n not in current]
            if missing:
                raise errors.UserError(
                    "No instance variable "
                    + ", ".join(f"`{b.escape(n)}`" for n in missing)
                    + " on "
                    + credential.instance
                    + ". See them with `/dss vars`.",
                    markup=True,
                )
            values = await client.set_variables(api_key=credential.secret, changes={}, remove=names)
            await inv.services.audit.record(
                user_id=inv.user_id,
                action="dss.vars.unset",
                platform="dss",
                instance=credential.instance,
                target=",".join(sorted(names)),
            )
            note = "Removed " + ", ".join(f"`{b.escape(n)}`" for n in sorted(names)) + "."
        elif inv.a.flag("set"):
            changes = inv.a.options()
            values = await client.set_variables(api_key=credential.secret, changes=changes)
            await inv.services.audit.record(
                user_id=inv.user_id,
                action="dss.vars.set",
                platform="dss",
                instance=credential.instance,
                target=",".join(sorted(changes)),
            )
            note = "Set " + ", ".join(f"`{k}`" for k in sorted(changes)) + "."
        else:
            values = await client.get_variables(api_key=credential.secret)
    except errors.Forbidden as error:
        raise _admin_only(error, "/dss vars", credential) from None
    await inv.reply(
        text=f"{len(values)} instance variable(s) on {credential.instance}",
        blocks=blocks.variables(credential.instance, values, note),
    )


@family.command("impersonation", "user and group impersonation rules (admin)", args=[])
async def impersonation(inv: Invocation) -> None:
    credential, client = await _open(inv)
    try:
        rules = await client.impersonation_rules(api_key=credential.secret)
    except errors.Forbidden as error:
        raise _admin_only(error, "/dss impersonation", credential) from None
    await inv.reply(
        text=f"Impersonation rules on {credential.instance}",
        blocks=blocks.impersonation(credential.instance, rules),
    )


# -- buttons ------------------------------------------------------------------------------


async def abort_clicked(click: Click) -> None:
    target = click.parse(blocks.FutureRef)
    credential, client = await _session(click.services, click.user_id, target.instance)
    async with click.services.audit.outcome(
        user_id=click.user_id,
        action="dss.abort",
        platform="dss",
        instance=target.instance,
        target=target.job_id,
    ):
        await client.abort_future(api_key=credential.secret, job_id=target.job_id)
    text, blks = await _futures_reply(
        click.services,
        click.user_id,
        target.instance,
        target.all,
        note=f":no_entry_sign: <@{click.user_id}> aborted `{target.job_id}`.",
    )
    await click.respond(text=text, blocks=blks, replace_original=True)


async def abort_job_clicked(click: Click) -> None:
    """Abort a running job with the clicker's own key (`/dss job`, a job link's preview);
    they see the job as it is now."""
    target = click.parse(blocks.JobRef)
    credential, client = await _session(click.services, click.user_id, target.instance)
    key, project, job_id = credential.secret, target.project, target.job_id
    async with click.services.audit.outcome(
        user_id=click.user_id,
        action="dss.job.abort",
        platform="dss",
        instance=target.instance,
        target=f"{project}.{job_id}",
    ):
        await client.abort_job(api_key=key, project_key=project, job_id=job_id)
    now = await client.job_status(api_key=key, project_key=project, job_id=job_id)
    note = f":no_entry_sign: <@{click.user_id}> aborted job `{b.escape(job_id)}`."
    await click.respond(
        text=note,
        blocks=[
            b.context(note),
            *blocks.job_detail(target.instance, now, _ui(click.services, credential)),
        ],
        response_type="ephemeral",
        replace_original=False,
    )


async def run_clicked(click: Click) -> None:
    """Run a scenario with the clicker's own key, as `/dss run` does."""
    target = click.parse(blocks.ScenarioRef)
    credential, client = await _session(click.services, click.user_id, target.instance)
    text = await start_run(
        click.services, click.user_id, credential, client, target.project, target.scenario
    )
    await click.respond(text=text, response_type="ephemeral", replace_original=False)


async def watch_clicked(click: Click) -> None:
    target = click.parse(blocks.FutureRef)
    credential, _ = await _session(click.services, click.user_id, target.instance)
    note = await _start_watch(
        click.services, click.user_id, credential, target.job_id, target.job_id
    )
    await click.respond(text=note, response_type="ephemeral", replace_original=False)


async def unload_clicked(click: Click) -> None:
    target = click.parse(blocks.NotebookRef)
    credential, client = await _session(click.services, click.user_id, target.instance)
    await client.unload_session(
        api_key=credential.secret,
        project_key=target.project,
        notebook=target.notebook,
        session_id=target.session,
    )
    await click.services.audit.record(
        user_id=click.user_id,
        action="dss.unload",
        platform="dss",
        instance=target.instance,
        target=f"{target.project}/{target.notebook}",
    )
    note = f":eject: Unloaded *{b.escape(target.notebook)}*."
    if target.all:
        idle = timedelta(seconds=target.idle) if target.idle else None
        text, blks = await _all_notebooks_reply(
            click.services, click.user_id, target.instance, idle, note=note
        )
    else:
        text, blks = await _notebooks_reply(
            click.services, click.user_id, target.instance, target.project, note=note
        )
    await click.respond(text=text, blocks=blks, replace_original=True)


async def delete_key_clicked(click: Click) -> None:
    """Delete a key. The key Switchboard holds for the clicker is asked about a second time
    (the link breaks), and afterwards the link is marked broken in `/ops links`."""
    target = click.parse(blocks.KeyRef)
    credential, client = await _session(click.services, click.user_id, target.instance)
    if not target.unlink_ok:
        listed = await _list_keys(client, credential, target.scope or target.kind)
        held = key_fingerprint(credential.secret)
        if any(k.id == target.id and k.fingerprint == held for k in listed):
            await click.respond(
                text=blocks.HELD_KEY_CONFIRM.format(
                    label=b.escape(target.label or target.id),
                    instance=b.escape(target.instance),
                ),
                blocks=blocks.delete_held_key(target),
                replace_original=False,
            )
            return
    try:
        if target.kind == "global":
            await client.delete_global_key(api_key=credential.secret, key_id=target.id)
        else:
            await client.delete_personal_key(api_key=credential.secret, key_id=target.id)
    except errors.Forbidden as error:
        raise _admin_only(error, "Delete key", credential) from None
    await click.services.audit.record(
        user_id=click.user_id,
        action="dss.key.delete",
        platform="dss",
        instance=target.instance,
        target=f"{target.kind}:{target.id}",
    )
    label = b.escape(target.label or target.id)
    note = f":wastebasket: Deleted key `{label}`."
    # Whatever the listing said (DSS may list keys hashed, without a fingerprint): if the
    # stored key no longer works, the link is broken, and the person is told so now.
    try:
        await client.auth_info(api_key=credential.secret)
    except errors.Unauthorized:
        await click.services.accounts.mark_broken(
            click.user_id,
            "dss",
            credential.instance,
            f"its API key `{target.label or target.id}` was deleted",
        )
        note = blocks.HELD_KEY_DELETED.format(label=label, instance=b.escape(credential.instance))
        await click.respond(text=note, blocks=[b.section(note)], replace_original=True)
        return
    text, blks = await _keys_reply(
        click.services,
        click.user_id,
        target.instance,
        target.scope or target.kind,
        owner=target.owner,
        note=note,
    )
    await click.respond(text=text, blocks=blks, replace_original=True)


async def keep_key_clicked(click: Click) -> None:
    target = click.parse(blocks.KeyRef)
    text = blocks.KEY_KEPT.format(label=b.escape(target.label or target.id))
    await click.respond(text=text, blocks=[b.section(text)], replace_original=True)


def register(app: AsyncApp, settings: Settings) -> None:
    app.action(blocks.ABORT)(on_click(abort_clicked))
    app.action(blocks.WATCH)(on_click(watch_clicked))
    app.action(blocks.ABORT_JOB)(on_click(abort_job_clicked))
    app.action(blocks.RUN_SCENARIO)(on_click(run_clicked))
    app.action(blocks.UNLOAD)(on_click(unload_clicked))
    app.action(blocks.DELETE_KEY)(on_click(delete_key_clicked))
    app.action(blocks.KEEP_KEY)(on_click(keep_key_clicked))
