"""/mstr: Strategy One with the caller's own credentials, in the caller's own I-Server session
(opened, renewed and re-opened by the client, never by the person).

Every subcommand takes an optional `@instance` anywhere in its arguments; without it, the
caller's first linked Strategy One instance is used. `use <project>` remembers a default
project per (Slack user, instance) in the bot's own `mstr_defaults` table
(bot/store/mstr_defaults.py); commands that take a project send it as `X-MSTR-ProjectID`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import errors
from bot.arguments import Keyword, Text
from bot.blocks import common as b
from bot.blocks import mstr as blocks
from bot.commands import CommandFamily, Invocation
from bot.config import Settings
from bot.interactions import Click, on_click
from bot.platforms.base import Credential
from bot.platforms.mstr import DESCRIPTOR
from bot.platforms.mstr.client import StrategyOneClient
from bot.platforms.mstr.models import Project
from bot.platforms.mstr.platform import StrategyOnePlatform
from bot.services import Services
from bot.store import mstr_defaults
from handlers.common import take_instance

family = CommandFamily(DESCRIPTOR.key, DESCRIPTOR.title)

# Words that clear the default project (`/mstr use none`).
CLEAR_WORDS = ("clear", "-")
_PROJECT_ID = re.compile(r"^[0-9A-Fa-f]{32}$")


# -- the caller's default project ------------------------------------------------------


async def _default(services: Services, user_id: str, instance: str) -> dict[str, Any] | None:
    return await services.store.run(mstr_defaults.get, user_id, instance)


async def _remember(services: Services, user_id: str, instance: str, project: Project) -> None:
    await services.store.run(
        mstr_defaults.save,
        {
            "user_id": user_id,
            "instance": instance,
            "project_id": project.id,
            "project_name": project.name,
            "set_at": services.now().isoformat(timespec="seconds"),
        },
    )
    await services.audit.record(
        user_id=user_id,
        action="mstr.use",
        platform="mstr",
        instance=instance,
        target=project.name,
        detail=project.id,
    )


# -- sessions ------------------------------------------------------------------------------


async def _session(
    services: Services, user_id: str, instance: str | None
) -> tuple[Credential, StrategyOneClient]:
    credential = await services.accounts.credential(user_id, "mstr", instance)
    return credential, services.platforms.get(StrategyOnePlatform).client(credential.instance)


async def _open(inv: Invocation) -> tuple[Credential, StrategyOneClient]:
    return await _session(inv.services, inv.user_id, take_instance(inv))


def _name(default: dict[str, Any] | None) -> str | None:
    return default["project_name"] if default else None


# -- commands ------------------------------------------------------------------------------


@family.command("status", "I-Server and web versions, your session and its timeout", args=[])
async def status(inv: Invocation) -> None:
    credential, client = await _open(inv)
    st = await client.status(credential=credential)
    default = await _default(inv.services, inv.user_id, credential.instance)
    await inv.reply(
        text=f"Strategy One {credential.instance}: I-Server "
        f"{b.escape(st.iserver_version)}, "
        f"session {'alive' if st.alive else 'not confirmed'}",
        blocks=blocks.status(credential.instance, st, _name(default)),
    )


@family.command("whoami", "the user of your session, and how you are linked", args=[])
async def whoami(inv: Invocation) -> None:
    credential, client = await _open(inv)
    default = await _default(inv.services, inv.user_id, credential.instance)
    project_id = default["project_id"] if default else None
    try:
        info = await client.whoami(credential=credential, project_id=project_id)
    except (errors.NotFound, errors.Forbidden, errors.Rejected) as error:
        if not default:
            raise
        raise errors.UserError(
            blocks.default_refused(credential.instance, default["project_name"], error.detail),
            markup=True,
        ) from None
    await inv.reply(
        text=f"Strategy One {credential.instance}: {b.escape(info.full_name or info.id)}",
        blocks=blocks.whoami(
            credential.instance,
            info,
            login_mode=str(credential.details.get("login_mode", "")),
            kept=str(credential.details.get("kept", credential.kind)),
            default=_name(default),
        ),
    )


async def _projects_reply(
    services: Services, user_id: str, instance: str | None, filter_: str, note: str = ""
) -> tuple[str, list[b.Block]]:
    credential, client = await _session(services, user_id, instance)
    items = await client.projects(credential=credential)
    if filter_:
        wanted = filter_.casefold()
        items = [
            p
            for p in items
            if wanted in p.name.casefold() or wanted in p.alias.casefold() or p.id == filter_
        ]
    default = await _default(services, user_id, credential.instance)
    not_loaded = sum(1 for p in items if p.not_loaded_on)
    text = f"{len(items)} project(s) on {credential.instance}" + (
        f", {not_loaded} not loaded on every node" if not_loaded else ""
    )
    return text, blocks.projects(
        credential.instance,
        items,
        default_id=default["project_id"] if default else None,
        filter_=filter_,
        note=note,
    )


@family.command(
    "projects",
    "projects with their status on each node; Use as default",
    args=[Text("name", optional=True, label="part of a name")],
)
async def projects(inv: Invocation) -> None:
    instance = take_instance(inv)
    text, blks = await _projects_reply(inv.services, inv.user_id, instance, inv.a.get("name") or "")
    await inv.reply(text=text, blocks=blks)


def match_project(items: list[Project], wanted: str, instance: str) -> Project:
    """A loaded project by id, exact name, then (if unique) case-insensitive name or alias.
    Unknown or ambiguous: a UserError listing the close names."""
    if _PROJECT_ID.match(wanted):
        found = [p for p in items if p.id == wanted.upper()]
    else:
        found = [p for p in items if p.name == wanted]
        if not found:
            folded = wanted.casefold()
            found = [
                p
                for p in items
                if p.name.casefold() == folded or (p.alias and p.alias.casefold() == folded)
            ]
    if len(found) == 1:
        return found[0]
    if found:
        raise errors.UserError(
            blocks.ambiguous_project(instance, wanted, [p.name for p in found]), markup=True
        )
    raise errors.UserError(
        blocks.no_such_project(instance, wanted, close_names(items, wanted)), markup=True
    )


def close_names(items: list[Project], wanted: str, n: int = 5) -> list[str]:
    folded = wanted.casefold()
    names = {p.name.casefold(): p.name for p in items}
    names.update({p.alias.casefold(): p.name for p in items if p.alias})
    close = [names[k] for k in difflib.get_close_matches(folded, list(names), n=n, cutoff=0.5)]
    close += [
        p.name
        for p in items
        if folded and (folded in p.name.casefold() or folded in p.alias.casefold())
    ]
    return list(dict.fromkeys(close))[:n]


@family.command(
    "use",
    "your default project (sent as the project of your commands); none clears it",
    forms=[
        [],
        [Text("project", label="project name")],
        [Keyword("none", optional=False, aliases=CLEAR_WORDS)],
    ],
)
async def use(inv: Invocation) -> None:
    instance = take_instance(inv)
    wanted = inv.a.get("project")
    if not wanted and not inv.a.flag("none"):
        credential = await inv.services.accounts.credential(inv.user_id, "mstr", instance)
        default = await _default(inv.services, inv.user_id, credential.instance)
        await inv.reply(text=blocks.use_current(credential.instance, _name(default)))
        return
    if not wanted:  # `none`: clear it
        credential = await inv.services.accounts.credential(inv.user_id, "mstr", instance)
        default = await _default(inv.services, inv.user_id, credential.instance)
        if default:
            await inv.services.store.run(mstr_defaults.clear, inv.user_id, credential.instance)
            await inv.services.audit.record(
                user_id=inv.user_id,
                action="mstr.use.clear",
                platform="mstr",
                instance=credential.instance,
                target=default["project_name"],
            )
        await inv.reply(text=blocks.use_cleared(credential.instance, _name(default)))
        return
    credential, client = await _session(inv.services, inv.user_id, instance)
    project = match_project(
        await client.loaded_projects(credential=credential), wanted, credential.instance
    )
    await _remember(inv.services, inv.user_id, credential.instance, project)
    await inv.reply(text=blocks.use_set(credential.instance, project))


# -- buttons ------------------------------------------------------------------------------


async def use_clicked(click: Click) -> None:
    target = click.parse(blocks.ProjectRef)
    credential, client = await _session(click.services, click.user_id, target.instance)
    loaded = await client.loaded_projects(credential=credential)
    project = next((p for p in loaded if p.id == target.id), None)
    if project is None:
        raise errors.UserError(
            f"That project is not loaded for you on Strategy One "
            f"({target.instance}); `/mstr projects` shows where it is."
        )
    await _remember(click.services, click.user_id, credential.instance, project)
    done = blocks.use_set(credential.instance, project)
    if not click.body.get("container", {}).get("is_ephemeral"):
        # A shared list: the default is the clicker's own business; tell only them.
        await click.respond(text=done, response_type="ephemeral", replace_original=False)
        return
    text, blks = await _projects_reply(
        click.services, click.user_id, target.instance, target.filter, note=done
    )
    await click.respond(text=text, blocks=blks, replace_original=True)


def register(app: AsyncApp, settings: Settings) -> None:
    app.action(blocks.USE_PROJECT)(on_click(use_clicked))
