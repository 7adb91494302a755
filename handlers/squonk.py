"""/squonk: Squonk2 Data Manager with the caller's own Keycloak sign-in.

Every subcommand takes an optional `@instance` anywhere in its arguments; without it, the
caller's first linked Squonk2 site is used. Access tokens are refreshed by the platform's
`KeycloakAuth`; a refused refresh token surfaces as `Unauthorized` (re-link).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import errors, suggest
from bot.arguments import Keyword, Options, Text, Word
from bot.blocks import common as b
from bot.blocks import squonk as blocks
from bot.commands import CommandFamily, Invocation
from bot.config import Settings
from bot.interactions import Click, on_click
from bot.platforms.base import Credential
from bot.platforms.squonk import DESCRIPTOR
from bot.platforms.squonk.client import SquonkClient
from bot.platforms.squonk.models import Instance, Project, Task
from bot.platforms.squonk.platform import SquonkPlatform
from bot.services import Services
from bot.watch import Done, Poll, watch_kind
from handlers.common import take_instance

family = CommandFamily(DESCRIPTOR.key, DESCRIPTOR.title)

JOB_SPEC = re.compile(r"^([^/\s]+)/([^@/\s]+)@(\S+)$")
INSTANCE_ID = re.compile(r"^instance-[0-9A-Za-z-]+$")


async def _session(
    services: Services, user_id: str, site: str | None
) -> tuple[Credential, SquonkClient]:
    credential = await services.accounts.credential(user_id, "squonk", site)
    return credential, services.platforms.get(SquonkPlatform).client(credential.instance)


async def _open(inv: Invocation) -> tuple[Credential, SquonkClient]:
    return await _session(inv.services, inv.user_id, take_instance(inv))


def _quoted(text: str) -> str:
    """User text inside a `code` span of a reply: escaped, no backticks, not too long."""
    return b.escape(b.clip(text.replace("`", "'"), 80))


async def _project(client: SquonkClient, credential: Credential, project: str) -> Project:
    try:
        return await client.project(credential, project=project)
    except errors.NotFound:
        names = [p.name for p in await client.projects(credential)]
        same = suggest.same_name(project, names)
        if same is not None:
            return await client.project(credential, project=same)
        raise errors.UserError(
            blocks.NO_PROJECT.format(
                project=_quoted(project),
                instance=credential.instance,
                hint=suggest.did_you_mean(project, names),
            )
        ) from None


async def _instance_id(client: SquonkClient, credential: Credential, word: str) -> str:
    """An instance id as given, or the id of the one instance with that name."""
    if INSTANCE_ID.match(word):
        return word
    every = await client.instances(credential)
    found = [i for i in every if i.name == word] or [
        i for i in every if i.name.casefold() == word.casefold()
    ]
    if not found:
        raise errors.UserError(
            blocks.NO_INSTANCE.format(
                name=_quoted(word),
                instance=credential.instance,
                hint=suggest.did_you_mean(word, [i.name for i in every]),
            )
        )
    if len(found) > 1:
        ids = ", ".join(f"`{b.escape(i.id)}`" for i in found[:5])
        raise errors.UserError(
            blocks.SEVERAL_INSTANCES.format(name=_quoted(word), ids=ids), markup=True
        )
    return found[0].id


async def _create_task(
    client: SquonkClient, credential: Credential, instance: Instance
) -> Task | None:
    """The instance's launch task (exit code, events), if the DM still has it."""
    task_id = next((t.id for t in instance.tasks if t.purpose == "CREATE"), None)
    if task_id is None:
        return None
    try:
        return await client.task(credential, task_id=task_id)
    except errors.NotFound:
        return None


# -- commands -----------------------------------------------------------------------------


@family.command("projects", "the projects you can see, with your role", args=[])
async def projects(inv: Invocation) -> None:
    credential, client = await _open(inv)
    items = await client.projects(credential)
    await inv.reply(
        text=f"{len(items)} Squonk2 project(s) on {credential.instance}",
        blocks=blocks.projects(
            credential.instance, items, credential.account, _ui(inv.services, credential.instance)
        ),
    )


async def _instances_reply(
    services: Services, user_id: str, site: str | None, project: str | None, note: str = ""
) -> tuple[str, list[b.Block]]:
    credential, client = await _session(services, user_id, site)
    if project:
        found = await _project(client, credential, project)
        items = await client.instances(credential, project=found.project_id)
        names = {found.project_id: found.name}
    else:
        items = await client.instances(credential)
        names = {p.project_id: p.name for p in await client.projects(credential)}
    running = sum(1 for i in items if not i.done)
    text = f"{len(items)} Squonk2 instance(s) on {credential.instance}, {running} running"
    return text, blocks.instances(
        credential.instance,
        items,
        names,
        project=project,
        note=note,
        ui=_ui(services, credential.instance),
    )


@family.command(
    "instances",
    "job instances with phase and run time; Stop and Watch buttons",
    args=[Word("project", optional=True)],
)
async def instances(inv: Invocation) -> None:
    site = take_instance(inv)
    text, blks = await _instances_reply(inv.services, inv.user_id, site, inv.a.get("project"))
    await inv.reply(text=text, blocks=blks)


def _ui(services: Services, site: str) -> str | None:
    """The site's Data Manager UI, for "Open in Squonk2" buttons (None: no button)."""
    return services.platforms["squonk"].ui_url(site)


async def _card(
    client: SquonkClient,
    credential: Credential,
    instance_id: str,
    note: str = "",
    ui: str | None = None,
) -> tuple[Instance, str, list[b.Block]]:
    instance = await client.instance(credential, instance_id=instance_id)
    task = await _create_task(client, credential, instance)
    try:
        project_name = (await client.project(credential, project=instance.project_id)).name
    except errors.PlatformError:
        project_name = instance.project_id
    text = f"Squonk2 instance {instance.name}: {instance.phase}"
    return (
        instance,
        text,
        blocks.instance_card(credential.instance, instance, task, project_name, note, ui),
    )


@family.command(
    "instance",
    "an instance's details and recent task events; `watch` tells you when it ends",
    args=[Word("id"), Keyword("watch")],
)
async def instance(inv: Invocation) -> None:
    credential, client = await _open(inv)
    instance_id = await _instance_id(client, credential, inv.a.text("id"))
    found, text, blks = await _card(
        client, credential, instance_id, ui=_ui(inv.services, credential.instance)
    )
    if inv.a.flag("watch"):
        note = (
            await _start_watch(inv.services, inv.user_id, credential.instance, found.id, found.name)
            if not found.done
            else "It has already ended."
        )
        blks.append(b.context(note))
        text += f" · {note}"
    await inv.reply(text=text, blocks=blks)


@family.command(
    "watch", "a message when the instance ends, with its exit code", args=[Word("instance")]
)
async def watch(inv: Invocation) -> None:
    credential, client = await _open(inv)
    found = await client.instance(
        credential, instance_id=await _instance_id(client, credential, inv.a.text("instance"))
    )
    if found.done:
        task = await _create_task(client, credential, found)
        await inv.reply(text=blocks.instance_ended(credential.instance, found, task))
        return
    note = await _start_watch(inv.services, inv.user_id, credential.instance, found.id, found.name)
    await inv.reply(
        text=f"Watching Squonk2 instance *{b.escape(found.name)}* "
        f"(`{b.escape(found.id)}`), now {b.escape(found.phase)}. {note}"
    )


@watch_kind("squonk.instance")
async def _instance_watch(services: Services, user_id: str, params: dict[str, Any]) -> Poll:
    return _instance_poll(services, user_id, params["site"], params["instance_id"], params["name"])


def _instance_poll(
    services: Services, user_id: str, site: str, instance_id: str, name: str
) -> Poll:
    async def poll() -> Done | None:
        # The stored credential is read each time: the refresh token may have rotated.
        credential, client = await _session(services, user_id, site)
        try:
            found = await client.instance(credential, instance_id=instance_id)
        except errors.NotFound:
            return Done(blocks.instance_removed(site, name, instance_id))
        if not found.done:
            return None
        task = await _create_task(client, credential, found)
        return Done(blocks.instance_ended(site, found, task))

    return poll


async def _start_watch(
    services: Services, user_id: str, site: str, instance_id: str, name: str
) -> str:
    started = await services.watches.start(
        f"squonk:{site}:{instance_id}",
        user_id=user_id,
        kind="squonk.instance",
        params={"site": site, "instance_id": instance_id, "name": name},
        label=f"Squonk2 instance {b.escape(name or instance_id)}",
    )
    return blocks.WATCHING if started else blocks.ALREADY_WATCHING


def _variable(text: str) -> Any:
    """`x=7` gives the number 7, `flag=true` a boolean, `s=abc` the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@family.command(
    "run",
    "start a job instance; you get a message when it ends",
    args=[
        Word(
            "job",
            pattern=JOB_SPEC.pattern.strip("^$"),
            label="collection/job@version",
            hint="give the job as `collection/job@version` (`/squonk jobs` lists them)",
        ),
        Word("project", after="in"),
        Options(label="name=… k=v …"),
    ],
)
async def run(inv: Invocation) -> None:
    credential, client = await _open(inv)
    spec = JOB_SPEC.match(inv.a.text("job"))
    assert spec is not None  # the parser let only JOB_SPEC through
    collection, job, version = spec.groups()
    options = inv.a.options()
    name = options.pop("name", None) or f"{job[:70]}-{uuid.uuid4().hex[:6]}"
    variables = {k: _variable(v) for k, v in options.items()}
    project = await _project(client, credential, inv.a.text("project"))
    await _check_job(client, credential, collection, job, version)
    label = f"{collection}/{job}@{version}"

    async def audit(result: str) -> None:
        await inv.services.audit.record(
            user_id=inv.user_id,
            action="squonk.run",
            platform="squonk",
            instance=credential.instance,
            target=f"{project.name}:{label}",
            result=result,
        )

    try:
        started = await client.start(
            credential,
            collection=collection,
            job=job,
            version=version,
            project=project.project_id,
            name=name,
            variables=variables or None,
        )
    except errors.PlatformError as error:
        await audit(type(error).__name__)
        raise
    await audit("ok")
    note = await _start_watch(
        inv.services, inv.user_id, credential.instance, started.instance_id, name
    )
    await inv.reply(
        text=blocks.run_started(
            credential.instance,
            label,
            project.name,
            started.instance_id,
            started.task_id,
            name,
            note,
        )
    )


async def _check_job(
    client: SquonkClient, credential: Credential, collection: str, job: str, version: str
) -> None:
    """A clear message for a job that is not in the catalogue or is disabled."""
    catalogue = await client.jobs(credential)
    label = _quoted(f"{collection}/{job}@{version}")
    exact = next(
        (j for j in catalogue if (j.collection, j.job, j.version) == (collection, job, version)),
        None,
    )
    if exact is None:
        versions = [j.version for j in catalogue if (j.collection, j.job) == (collection, job)]
        hint = (
            blocks.NO_JOB_HINT.format(versions=", ".join(f"`{_quoted(v)}`" for v in versions))
            if versions
            else blocks.NO_JOB_LIST.format(filter=_quoted(job))
        )
        raise errors.UserError(
            blocks.NO_JOB.format(job=label, instance=credential.instance, hint=hint), markup=True
        )
    if exact.disabled:
        raise errors.UserError(
            blocks.JOB_DISABLED.format(
                job=label,
                instance=credential.instance,
                reason=b.escape(exact.disabled_reason or "no reason given"),
            ),
            markup=True,
        )


@family.command(
    "tasks",
    "tasks with their state and exit code",
    args=[Keyword("running", aliases=("live", "active"))],
)
async def tasks(inv: Invocation) -> None:
    credential, client = await _open(inv)
    running_only = inv.a.flag("running")
    items = await client.tasks(credential, exclude_done=running_only)
    await inv.reply(
        text=f"{len(items)} Squonk2 task(s) on {credential.instance}",
        blocks=blocks.tasks(credential.instance, items, running_only=running_only),
    )


@family.command(
    "jobs",
    "the job catalogue, optionally filtered",
    args=[Text("name", optional=True, label="part of a name")],
)
async def jobs(inv: Invocation) -> None:
    credential, client = await _open(inv)
    needle = inv.a.get("name")
    items = await client.jobs(credential, filter=needle)
    await inv.reply(
        text=f"{len(items)} Squonk2 job(s) on {credential.instance}",
        blocks=blocks.jobs(credential.instance, items, needle),
    )


# -- buttons ------------------------------------------------------------------------------


async def stop_clicked(click: Click) -> None:
    target = click.parse(blocks.InstanceRef)
    credential, client = await _session(click.services, click.user_id, target.instance)
    async with click.services.audit.outcome(
        user_id=click.user_id,
        action="squonk.stop",
        platform="squonk",
        instance=target.instance,
        target=target.id,
    ):
        await client.stop_instance(credential, instance_id=target.id)
    note = (
        f":octagonal_sign: <@{click.user_id}> stopped "
        f"*{b.escape(target.name or target.id)}* (`{b.escape(target.id)}`)."
    )
    if target.card:
        try:
            _, text, blks = await _card(
                client, credential, target.id, note, _ui(click.services, credential.instance)
            )
        except errors.NotFound:
            text = blocks.instance_removed(target.instance, target.name, target.id)
            blks = [b.section(text)]
    else:
        text, blks = await _instances_reply(
            click.services, click.user_id, target.instance, target.project, note
        )
    await click.respond(text=text, blocks=blks, replace_original=True)


async def watch_clicked(click: Click) -> None:
    target = click.parse(blocks.InstanceRef)
    credential, client = await _session(click.services, click.user_id, target.instance)
    found = await client.instance(credential, instance_id=target.id)
    if found.done:
        task = await _create_task(client, credential, found)
        text = blocks.instance_ended(credential.instance, found, task)
    else:
        text = await _start_watch(
            click.services, click.user_id, credential.instance, found.id, found.name
        )
    await click.respond(text=text, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, settings: Settings) -> None:
    app.action(blocks.STOP)(on_click(stop_clicked))
    app.action(blocks.WATCH)(on_click(watch_clicked))
