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
from bot.arguments import Keyword, Options, Word, Words
from bot.blocks import astakos as blocks
from bot.blocks import common as b
from bot.commands import CommandFamily, Invocation
from bot.config import Settings
from bot.interactions import on_click
from bot.platforms.astakos import DESCRIPTOR, resolve_all, views
from bot.platforms.astakos import approvals as shared
from bot.platforms.astakos import kinds as _kinds  # noqa: F401  (registers the approval kinds)
from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.models import Quota
from bot.platforms.astakos.views import UUID_RE, checked, find_project
from bot.platforms.base import Credential
from handlers.common import take_instance

family = CommandFamily(DESCRIPTOR.key, DESCRIPTOR.title)


async def _open(
    inv: Invocation, kind: str | None = None, command: str = ""
) -> tuple[Credential, AstakosClient]:
    return await views.session(
        inv.services, inv.user_id, take_instance(inv), kind, command or inv.command
    )


# -- whoami, whois, quotas -----------------------------------------------------------------


@family.command("whoami", "who your token belongs to: user, uuid, service endpoints", args=[])
async def whoami(inv: Invocation) -> None:
    credential, client = await _open(inv)
    info = await client.authenticate(token=credential.secret)
    who = info.username or info.name
    await inv.reply(
        text=f"Astakos {credential.instance}: {b.escape(who)} ({info.kind} token)",
        blocks=blocks.whoami(credential.instance, info),
    )


@family.command(
    "whois",
    "username ↔ uuid from the user catalogs",
    args=[Words("users", label="uuid|username")],
)
async def whois(inv: Invocation) -> None:
    credential, client = await _open(inv)
    asked = inv.a.words("users")
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
    "limit / usage / pending per resource, closest to the limit first; `all`: "
    "every member's and project's quotas on your service (service token)",
    forms=[
        [Word("project", optional=True)],
        [Keyword("all", optional=False), Options(keys=("user", "project"))],
    ],
)
async def quotas(inv: Invocation) -> None:
    if inv.a.flag("all"):
        await _service_quotas(inv)
        return
    credential, client = await _open(inv, "user", "/astakos quotas")
    project = inv.a.get("project")
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
    options = inv.a.options()
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


async def _nothing() -> list[Quota]:
    return []


# -- commissions ---------------------------------------------------------------------------


@family.command(
    "commissions",
    "pending commissions with Accept / Reject and Resolve all (service token)",
    args=[],
)
async def commissions(inv: Invocation) -> None:
    instance = take_instance(inv)
    text, blks, ids = await views.commissions(inv.services, inv.user_id, instance)
    await share(inv, text, blks, ids, "the pending commissions")


@family.command(
    "commission",
    "one commission's provisions (holder, source, resource, quantity)",
    args=[
        Word(
            "serial",
            pattern=r"\d+",
            hint="give the commission's serial number, like `56` (`/astakos commissions` has them)",
        )
    ],
)
async def commission(inv: Invocation) -> None:
    instance = take_instance(inv)
    serial = inv.a.text("serial")
    text, blks, ids = await views.commission(inv.services, inv.user_id, instance, serial)
    await share(inv, text, blks, ids, f"commission {serial}")


# -- projects and members ------------------------------------------------------------------


@family.command(
    "projects",
    "projects (uninitialized, active, ...); pending applications with Approve / Deny",
    args=[Word("state", optional=True)],
)
async def projects(inv: Invocation) -> None:
    instance = take_instance(inv)
    state = (inv.a.get("state") or "").lower()
    text, blks, ids = await views.projects(inv.services, inv.user_id, instance, state)
    await share(inv, text, blks, ids, "the projects")


@family.command(
    "project",
    "one project: state, resources, a pending application with Approve / Deny",
    args=[Word("project", label="id|name")],
)
async def project(inv: Invocation) -> None:
    instance = take_instance(inv)
    word = inv.a.text("project")
    text, blks, ids = await views.project(inv.services, inv.user_id, instance, word)
    await share(inv, text, blks, ids, "the project")


@family.command(
    "members",
    "memberships; pending requests with Accept / Reject",
    args=[Word("project", label="id|name")],
)
async def members(inv: Invocation) -> None:
    instance = take_instance(inv)
    word = inv.a.text("project")
    text, blks, ids = await views.members(inv.services, inv.user_id, instance, word)
    await share(inv, text, blks, ids, "the members")


def register(app: AsyncApp, settings: Settings) -> None:
    app.action(blocks.RESOLVE_ALL)(on_click(resolve_all.clicked))
