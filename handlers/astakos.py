"""/astakos: Synnefo Astakos with the caller's own token.

Two kinds of token exist: a user token (quotas, projects, members) and a service (component)
token, e.g. Cyclades', for commissions. A command answers a token of the wrong kind with what
to link instead. Every subcommand takes an optional `@instance`; without it the caller's first
linked Astakos instance is used. Lists with approval cards (bot/platforms/astakos/views.py)
take `share` to post them in the channel (every copy is updated in place after a click); their
buttons go through the one approval flow (handlers/approvals.py), and Resolve all accepts every
commission shown in one call (bot/platforms/astakos/resolve_all.py).
"""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot import errors
from bot.approval_flow import share
from bot.blocks import astakos as blocks
from bot.blocks import common as b
from bot.commands import CommandFamily, Invocation, make_listener
from bot.config import Settings
from bot.interactions import on_click
from bot.platforms.astakos import approvals as shared
from bot.platforms.astakos import kinds as _kinds  # noqa: F401  (registers the approval kinds)
from bot.platforms.astakos import resolve_all, views
from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.views import UUID_RE, checked, find_project, needs
from bot.platforms.base import Credential
from handlers.common import take_instance

family = CommandFamily("astakos", "Synnefo Astakos")


async def _open(
    inv: Invocation, kind: str | None = None, command: str = ""
) -> tuple[Credential, AstakosClient]:
    credential, client = await views.session(inv.services, inv.user_id, take_instance(inv))
    if kind:
        needs(credential, kind, command or inv.command)
    return credential, client


# -- whoami, whois, quotas -----------------------------------------------------------------


@family.command("whoami", "whoami", "who your token belongs to: user, uuid, service endpoints")
async def whoami(inv: Invocation) -> None:
    credential, client = await _open(inv)
    info = await client.authenticate(token=credential.secret)
    who = info.username or info.name
    await inv.reply(
        text=f"Astakos {credential.instance}: {b.escape(who)} ({info.kind} token)",
        blocks=blocks.whoami(credential.instance, info),
    )


@family.command("whois", "whois <uuid|username> ...", "username ↔ uuid from the user catalogs")
async def whois(inv: Invocation) -> None:
    credential, client = await _open(inv)
    asked = inv.words()
    if not asked:
        raise errors.UserError("Give a uuid or a username: `/astakos whois alice@example.org`.")
    uuids = [a for a in asked if UUID_RE.match(a)]
    names = [a for a in asked if not UUID_RE.match(a)]
    found = await client.catalogs(
        token=credential.secret,
        uuids=uuids,
        usernames=names,
        as_service=credential.kind == "service token",
    )
    answers = [
        (a, found.uuid_catalog.get(a) if UUID_RE.match(a) else found.displayname_catalog.get(a))
        for a in asked
    ]
    await inv.reply(
        text=f"whois on {credential.instance}", blocks=blocks.whois(credential.instance, answers)
    )


@family.command(
    "quotas",
    "quotas [project] | all [user=…] [project=…]",
    "limit / usage / pending per resource, closest to the limit first; `all`: "
    "every member's and project's quotas on your service (service token)",
)
async def quotas(inv: Invocation) -> None:
    if inv.arg(0, "").lower() == "all":
        await _service_quotas(inv)
        return
    credential, client = await _open(inv, "user", "/astakos quotas")
    project = inv.arg(0)
    token = credential.secret
    shown = project
    if project and not UUID_RE.match(project):
        found = await find_project(client, credential, project)
        project, shown = found.id, found.name
    lines, projects = await checked(
        asyncio.gather(client.quotas(token=token, project=project), client.projects(token=token)),
        credential,
        "user",
        "/astakos quotas",
    )
    names = {p.id: ("personal (system)" if p.system_project else p.name) for p in projects}
    await inv.reply(
        text=f"{len(lines)} quota line(s) on {credential.instance}",
        blocks=blocks.quotas(credential.instance, lines, names, shown),
    )


async def _service_quotas(inv: Invocation) -> None:
    """`/astakos quotas all [user=…] [project=…]`: the service's quotas, members' and
    projects', nearest the limit first."""
    command = "/astakos quotas all"
    credential, client = await _open(inv, "service", command)
    options = inv.options()
    unknown = sorted(set(options) - {"user", "project"})
    if unknown or len(inv.words()) > 1:
        raise errors.UserError(
            "Narrow it with `user=` and `project=`: `/astakos quotas all "
            "user=alice@example.org project=<project uuid>`."
        )
    token = credential.secret
    user = options.get("user")
    if user and not UUID_RE.match(user):
        found = await client.uuids(token=token, usernames=[user], as_service=True)
        if user not in found:
            raise errors.UserError(f"No Astakos user `{b.escape(user)}` on {credential.instance}.")
        user = found[user]
    project = options.get("project")
    members, projects = await checked(
        asyncio.gather(
            client.service_quotas(token=token, user=user, project=project),
            client.service_project_quotas(token=token, project=project) if not user else _nothing(),
        ),
        credential,
        "service",
        command,
    )
    names = await shared.names(client, credential, [q.holder or "" for q in members])
    service = credential.details.get("service") or credential.account
    scope = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
    await inv.reply(
        text=f"{len(members) + len(projects)} quota line(s) of {service} on {credential.instance}",
        blocks=blocks.service_quotas(credential.instance, service, members, projects, names, scope),
    )


async def _nothing() -> list:
    return []


# -- commissions ---------------------------------------------------------------------------


@family.command(
    "commissions",
    "commissions [share]",
    "pending commissions with Accept / Reject and Resolve all (service token)",
)
async def commissions(inv: Invocation) -> None:
    instance = take_instance(inv)
    text, blks, ids = await views.commissions(inv.services, inv.user_id, instance)
    await share(inv, text, blks, ids, "the pending commissions")


@family.command(
    "commission",
    "commission <serial> [share]",
    "one commission's provisions (holder, source, resource, quantity)",
)
async def commission(inv: Invocation) -> None:
    instance = take_instance(inv)
    serial = inv.arg(0, "")
    if not serial.isdigit():
        raise errors.UserError(
            "Give the commission's serial number: `/astakos commission 56` "
            "(serials are in `/astakos commissions`)."
        )
    text, blks, ids = await views.commission(inv.services, inv.user_id, instance, serial)
    await share(inv, text, blks, ids, f"commission {serial}")


# -- projects and members ------------------------------------------------------------------


@family.command(
    "projects",
    "projects [state] [share]",
    "projects (uninitialized, active, ...); pending applications with Approve / Deny",
)
async def projects(inv: Invocation) -> None:
    instance = take_instance(inv)
    state = (inv.arg(0) or "").lower()
    text, blks, ids = await views.projects(inv.services, inv.user_id, instance, state)
    await share(inv, text, blks, ids, "the projects")


@family.command(
    "project",
    "project <id|name> [share]",
    "one project: state, resources, a pending application with Approve / Deny",
)
async def project(inv: Invocation) -> None:
    instance = take_instance(inv)
    word = inv.arg(0)
    if not word:
        raise errors.UserError(
            "Give the project's id or name: `/astakos project chem.example.org`."
        )
    text, blks, ids = await views.project(inv.services, inv.user_id, instance, word)
    await share(inv, text, blks, ids, "the project")


@family.command(
    "members", "members <project> [share]", "memberships; pending requests with Accept / Reject"
)
async def members(inv: Invocation) -> None:
    instance = take_instance(inv)
    word = inv.arg(0)
    if not word:
        raise errors.UserError(
            "Give the project's id or name: `/astakos members chem.example.org`."
        )
    text, blks, ids = await views.members(inv.services, inv.user_id, instance, word)
    await share(inv, text, blks, ids, "the members")


def register(app: AsyncApp, settings: Settings) -> None:
    app.command(settings.commands.astakos)(make_listener(family, settings.commands.astakos))
    app.action(blocks.RESOLVE_ALL)(on_click(resolve_all.clicked))
