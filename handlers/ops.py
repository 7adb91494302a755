"""/ops: the hub. help, link, unlink, links, status, audit; `/ops <platform> …` routes on."""

from __future__ import annotations

import asyncio
import difflib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import errors, messages, waiting, weblink
from bot import help as help_topics
from bot.arguments import Number, Word
from bot.blocks import common as b
from bot.blocks import ops as blocks
from bot.blocks import weblink as weblink_blocks
from bot.commands import CommandFamily, Invocation, Subcommand, make_listener, usage_line
from bot.config import Settings
from bot.linking import unlink_account
from bot.platforms.base import InstanceStatus, Platform
from bot.services import Services
from handlers.link import open_link_modal, platform_for

family = CommandFamily("ops", "Switchboard hub")

# Filled by register(): the platform families, for help and routing.
_families: dict[str, CommandFamily] = {}
_slashes: dict[str, str] = {}


def bot_version() -> str:
    try:
        return version("switchboard")
    except PackageNotFoundError:
        return "dev"


@family.command(
    "help",
    "what each command does, with examples",
    args=[Word("topic", optional=True), Word("command", optional=True)],
    quick=True,
)
async def help_(inv: Invocation) -> None:
    """Usage and examples, generated from the registry (bot.help adds forms and examples)."""
    services = inv.services
    configured = {k: f for k, f in _families.items() if k in services.platforms}
    word = (inv.a.get("topic") or "").lstrip("/").lower()
    second = inv.a.get("command")
    if not word:
        overview = [(_slashes["ops"], family.title, family.usage_lines(_slashes["ops"]))]
        overview += [
            (_slashes[k], f.title, f.usage_lines(_slashes[k])) for k, f in configured.items()
        ]
        await inv.reply(
            text="Switchboard commands",
            blocks=blocks.help_message(overview, topics=_topics(configured)),
        )
        return
    key = services.platforms.key_for(word)
    key = next((k for k, slash in _slashes.items() if slash.lstrip("/").lower() == key), key)
    if key in _families and key != "ops":
        if key not in configured:
            raise errors.UserError(not_configured(services, key))
        fam, slash = _families[key], _slashes[key]
        if second:
            sub = fam.find(second)
            if sub is None:
                raise errors.UserError(
                    _unknown_topic(
                        f"{word} {second}", configured, list(fam.subcommands), prefix=f"{key} "
                    )
                )
            await _reply_topic(inv, key, slash, sub)
            return
        instances = ", ".join(f"`{n}`" for n in services.platforms[key].instances)
        forms = [
            f.format(instances=instances, ops=_slashes["ops"], key=key, slash=slash)
            for f in help_topics.PLATFORM_FORMS
        ]
        examples = [
            f"{slash} {help_topics.topic(key, s).examples[0]}"
            for s in list(fam.subcommands)[:3]
            if help_topics.topic(key, s).examples
        ]
        await inv.reply(
            text=f"{fam.title}: {slash}",
            blocks=blocks.help_topic(
                f"{fam.title} · {slash}",
                fam.usage_lines(slash),
                forms,
                examples,
                more=f"`{_slashes['ops']} help {key} <command>` for one command",
            ),
        )
        return
    sub = family.find(word)
    if sub is None and second is None:
        # A platform command named alone (`/ops help futures`): its family, if only one has it.
        owners = [k for k, f in configured.items() if f.find(word)]
        if len(owners) == 1:
            owner = owners[0]
            found = configured[owner].find(word)
            assert found is not None  # how the owner was picked
            await _reply_topic(inv, owner, _slashes[owner], found)
            return
    if sub is not None and second is None:
        await _reply_topic(inv, "ops", _slashes["ops"], sub)
        return
    if word in help_topics.GUIDES and second is None:
        title, text = help_topics.GUIDES[word]
        await inv.reply(text=title, blocks=[b.header(title), b.section(text)])
        return
    asked = " ".join(w for w in (inv.a.get("topic"), second) if w)
    raise errors.UserError(_unknown_topic(asked, configured, _topics(configured)))


def _topics(configured: dict[str, CommandFamily]) -> list[str]:
    return [*(n for n in family.subcommands if n != "help"), *help_topics.GUIDES, *configured]


def _unknown_topic(
    word: str, configured: dict[str, CommandFamily], topics: list[str], prefix: str = ""
) -> str:
    close = difflib.get_close_matches(word.lower().removeprefix(prefix), topics, n=1)
    hint = (
        messages.DID_YOU_MEAN.format(suggestion=f"{_slashes['ops']} help {prefix}{close[0]}")
        if close
        else ""
    )
    return messages.UNKNOWN_TOPIC.format(
        word=b.escape(word)[:40].replace("`", "'"),
        hint=hint,
        topics=", ".join(f"`{prefix}{t}`" for t in topics),
    )


async def _reply_topic(inv: Invocation, key: str, slash: str, sub: Subcommand) -> None:
    topic = help_topics.topic(key, sub.name, help_topics.configured(inv.services))
    await inv.reply(
        text=f"{slash} {sub.name}",
        blocks=blocks.help_topic(
            f"{slash} {sub.name}",
            [usage_line(slash, sub)],
            list(topic.forms),
            [f"{slash} {e}" for e in topic.examples],
        ),
    )


def not_configured(services: Services, key: str) -> str:
    """A platform Switchboard knows that this installation has not configured."""
    return messages.NOT_CONFIGURED.format(
        title=services.platforms.title(key), key=key, platforms=configured_list(services)
    )


def configured_list(services: Services) -> str:
    return ", ".join(f"`{k}`" for k in services.platforms) or "none yet"


# The platform, its instance when several are configured, and a second kind of link where
# the platform has one (`/ops link astakos okeanos service`).
ACCOUNT = [
    Word("platform"),
    Word("instance", optional=True),
    Word("role", optional=True, label="service"),
]


def instance_and_role(inv: Invocation, platform: Platform[Any]) -> tuple[str | None, str | None]:
    """The instance and role words typed (`astakos service`: the role, on the only or first
    instance); a role the platform does not have is refused with the ones it has."""
    asked, role = inv.a.get("instance"), inv.a.get("role")
    if role is None and asked in platform.link_roles and asked not in platform.instances:
        asked, role = None, asked
    if role is not None and role not in platform.link_roles:
        roles = ", ".join(
            f"`/ops link {platform.key} <instance> {r}` ({words})"
            for r, words in platform.link_roles.items()
        )
        raise errors.UserError(
            messages.UNKNOWN_ROLE.format(
                title=platform.title,
                word=role.replace("`", "'")[:40],
                roles=f" It has: {roles}." if roles else "",
            )
        )
    return asked, role


@family.command("link", "link your account (opens a form)", args=ACCOUNT, quick=True)
async def link(inv: Invocation) -> None:
    platform = platform_for(inv.services, inv.a.text("platform"))
    asked, role = instance_and_role(inv, platform)
    if inv.services.settings.public_url:
        # The one-time web link (bot.weblink) instead of the modal: ephemeral, for this user.
        instance = platform.instance(asked).name if asked else None
        issued = await weblink.issue(
            inv.services,
            user_id=inv.user_id,
            platform=platform.key,
            instance=instance,
            response_url=inv.response_url or None,
        )
        text, link_blocks = weblink_blocks.link_message(
            title=platform.title, instance=instance, url=issued.url, minutes=issued.minutes
        )
        # Always ephemeral, even after a trailing `share`: the link is this person's alone.
        await inv.respond(text=text, blocks=link_blocks, response_type="ephemeral")
        return
    await open_link_modal(
        services=inv.services,
        client=inv.client,
        trigger_id=inv.trigger_id,
        platform=platform,
        instance=asked,
        response_url=inv.response_url or None,
        role=role or "",
    )


@family.command("unlink", "delete your stored credential", args=ACCOUNT)
async def unlink(inv: Invocation) -> None:
    services = inv.services
    platform = platform_for(services, inv.a.text("platform"))
    asked, role = instance_and_role(inv, platform)
    instance = platform.instance(asked).name
    await inv.reply(text=await unlink_account(services, inv.user_id, platform.key, instance, role))


@family.command("links", "your linked accounts", args=[], quick=True)
async def links(inv: Invocation) -> None:
    accounts = await inv.services.accounts.for_user(inv.user_id)
    if not accounts:
        known = ", ".join(f"`{k}`" for k in inv.services.platforms) or "none configured"
        await inv.reply(text=messages.NO_LINKS.format(platforms=known))
        return
    await inv.reply(
        text="Your linked accounts",
        blocks=blocks.links_message(accounts, inv.services.platforms.titles()),
    )


@family.command("status", "every platform instance: reachable, latency, version", args=[])
async def status(inv: Invocation) -> None:
    services = inv.services
    targets = [(p, name) for p in services.platforms.values() for name in p.instances]

    async def one(platform: Platform[Any], name: str) -> InstanceStatus:
        try:
            return await platform.status(name)
        except errors.BotError as error:
            return InstanceStatus(instance=name, reachable=False, detail=str(error))

    results = await asyncio.gather(*(one(p, n) for p, n in targets))
    rows = [(p.title, st) for (p, _), st in zip(targets, results, strict=True)]
    up = sum(1 for _, st in rows if st.reachable)
    scheduler = services.scheduler
    jobs = [f"{scheduler.jobs()} scheduled digest/alert jobs"] if scheduler else []
    await inv.reply(
        text=f"{up} of {len(rows)} platform instances reachable",
        blocks=blocks.status_message(rows, version=bot_version(), extra=jobs),
    )


@family.command(
    "audit",
    "operators: the last n state changes",
    args=[Number("n", optional=True, minimum=1, maximum=200, hint="say how many, from 1 to 200")],
    quick=True,
)
async def audit(inv: Invocation) -> None:
    if inv.user_id not in inv.services.settings.operators:
        raise errors.NotAllowed(messages.OPERATORS_ONLY)
    rows = await inv.services.audit.latest(inv.a.number("n") or 20)
    await inv.reply(text=f"Last {len(rows)} changes", blocks=blocks.audit_message(rows))


@family.command(
    "approvals",
    "everything waiting on you across platforms, with buttons",
    args=[Word("platform", optional=True)],
)
async def approvals(inv: Invocation) -> None:
    """Home's "Waiting on you" as a message, for the caller alone: its buttons act with the
    clicker's own credentials, and what waits on one person is theirs to see."""
    asked = inv.a.get("platform")
    key = platform_for(inv.services, asked).key if asked else ""
    text, blks = await waiting.approvals_list(inv.services, inv.user_id, key)
    await inv.respond(
        text=text, blocks=blks, response_type="ephemeral", replace_original=inv.working_shown
    )


def _route(inv: Invocation) -> tuple[CommandFamily, str] | None:
    """`/ops dss futures` -> the dss family, as if `/dss futures` had been typed."""
    if not inv.args:
        return None
    word = inv.services.platforms.key_for(inv.args[0])
    if word in _families:
        if word not in inv.services.platforms:
            raise errors.UserError(not_configured(inv.services, word))
        return _families[word], f"{_slashes['ops']} {word}"
    return None


def register(app: AsyncApp, settings: Settings, families: dict[str, CommandFamily]) -> None:
    _families.clear()
    _families.update(families)
    _slashes.clear()
    _slashes["ops"] = settings.commands.ops
    for key in families:
        _slashes[key] = settings.commands.of(key)
    app.command(settings.commands.ops)(make_listener(family, settings.commands.ops, _route))


__all__ = ["b", "family", "register"]
