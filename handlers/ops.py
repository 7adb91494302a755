"""/ops: the hub. help, link, unlink, links, status, audit; `/ops <platform> …` routes on."""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version

from slack_bolt.async_app import AsyncApp

from bot import errors, messages, weblink
from bot.blocks import common as b
from bot.blocks import ops as blocks
from bot.blocks import weblink as weblink_blocks
from bot.commands import CommandFamily, Invocation, make_listener
from bot.config import Settings
from bot.platforms.base import InstanceStatus
from bot.platforms.registry import TITLES
from handlers.link import PLATFORM_ALIASES, open_link_modal, platform_for

family = CommandFamily("ops", "Switchboard hub")

# Filled by register(): the platform families, for help and routing.
_families: dict[str, CommandFamily] = {}
_slashes: dict[str, str] = {}


def bot_version() -> str:
    try:
        return version("switchboard")
    except PackageNotFoundError:
        return "dev"


@family.command("help", "help [command]", "what each command does", quick=True)
async def help_(inv: Invocation) -> None:
    """Usage and examples, generated from the registry."""
    word = (inv.arg(0) or "").lstrip("/").lower()
    word = PLATFORM_ALIASES.get(word, word)
    if word and word in _families:
        fam = _families[word]
        await inv.reply(text=fam.usage_text(_slashes[word]),
                        blocks=fam.usage_blocks(_slashes[word]))
        return
    overview = [(_slashes["ops"], family.title, family.usage_text(_slashes["ops"]))]
    overview += [(_slashes[k], f.title, f.usage_text(_slashes[k])) for k, f in _families.items()]
    await inv.reply(text="Switchboard commands", blocks=blocks.help_message(overview))


@family.command("link", "link <platform> [instance]", "link your account (opens a form)",
                quick=True)
async def link(inv: Invocation) -> None:
    platform = platform_for(inv.services, inv.arg(0))
    if inv.services.settings.public_url:
        # The one-time web link (bot.weblink) instead of the modal: ephemeral, for this user.
        instance = platform.instance(inv.arg(1)).name if inv.arg(1) else None
        issued = await weblink.issue(inv.services, user_id=inv.user_id, platform=platform.key,
                                     instance=instance, response_url=inv.response_url or None)
        text, link_blocks = weblink_blocks.link_message(
            title=platform.title, instance=instance, url=issued.url, minutes=issued.minutes)
        # Always ephemeral, even after a trailing `share`: the link is this person's alone.
        await inv.respond(text=text, blocks=link_blocks, response_type="ephemeral")
        return
    await open_link_modal(services=inv.services, client=inv.client, trigger_id=inv.trigger_id,
                          platform=platform, instance=inv.arg(1),
                          response_url=inv.response_url or None)


@family.command("unlink", "unlink <platform> [instance]", "delete your stored credential")
async def unlink(inv: Invocation) -> None:
    services = inv.services
    platform = platform_for(services, inv.arg(0))
    instance = platform.instance(inv.arg(1)).name
    await inv.reply(text=await unlink_account(services, inv.user_id, platform.key, instance))


async def unlink_account(services, user_id: str, key: str, instance: str) -> str:
    """Revoke where the platform can, delete the row, audit. Returns the reply text."""
    platform = services.platforms[key]
    try:
        credential = await services.accounts.credential(user_id, key, instance)
    except errors.NotLinked:
        return messages.NOT_LINKED_UNLINK.format(title=platform.title, instance=instance)
    revoked = ""
    try:
        await platform.revoke(credential)
    except errors.PlatformError:
        revoked = " (the platform could not be told to revoke it; it may stay valid there)"
    await services.accounts.unlink(user_id, key, instance)
    await services.audit.record(user_id=user_id, action="unlink", platform=key,
                                instance=instance, target=credential.account)
    return messages.UNLINKED.format(title=platform.title, instance=instance, revoked=revoked)


@family.command("links", "links", "your linked accounts", quick=True)
async def links(inv: Invocation) -> None:
    accounts = await inv.services.accounts.for_user(inv.user_id)
    if not accounts:
        known = ", ".join(f"`{k}`" for k in inv.services.platforms) or "none configured"
        await inv.reply(text=messages.NO_LINKS.format(platforms=known))
        return
    await inv.reply(text="Your linked accounts",
                    blocks=blocks.links_message(accounts, TITLES))


@family.command("status", "status", "every platform instance: reachable, latency, version")
async def status(inv: Invocation) -> None:
    services = inv.services
    targets = [(p, name) for p in services.platforms.values() for name in p.instances]

    async def one(platform, name: str) -> InstanceStatus:
        try:
            return await platform.status(name)
        except errors.BotError as error:
            return InstanceStatus(instance=name, reachable=False, detail=str(error))

    results = await asyncio.gather(*(one(p, n) for p, n in targets))
    rows = [(p.title, st) for (p, _), st in zip(targets, results, strict=True)]
    up = sum(1 for _, st in rows if st.reachable)
    scheduler = services.scheduler
    jobs = [f"{scheduler.jobs()} scheduled digest/alert jobs"] if scheduler else []
    await inv.reply(text=f"{up} of {len(rows)} platform instances reachable",
                    blocks=blocks.status_message(rows, version=bot_version(), extra=jobs))


@family.command("audit", "audit [n]", "operators: the last n state changes", quick=True)
async def audit(inv: Invocation) -> None:
    if inv.user_id not in inv.services.settings.operators:
        raise errors.NotAllowed(messages.OPERATORS_ONLY)
    raw = inv.arg(0, "20") or "20"
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise errors.UserError("Give how many changes to show, 1 to 200: `/ops audit 50`.")
    rows = await inv.services.audit.latest(int(raw))
    await inv.reply(text=f"Last {len(rows)} changes", blocks=blocks.audit_message(rows))


def _route(inv: Invocation) -> tuple[CommandFamily, str] | None:
    """`/ops dss futures` -> the dss family, as if `/dss futures` had been typed."""
    if not inv.args:
        return None
    word = PLATFORM_ALIASES.get(inv.args[0].lower(), inv.args[0].lower())
    if word in _families:
        return _families[word], f"{_slashes['ops']} {word}"
    return None


def register(app: AsyncApp, settings: Settings, families: dict[str, CommandFamily]) -> None:
    _families.clear()
    _families.update(families)
    _slashes.clear()
    _slashes["ops"] = settings.commands.ops
    for key in families:
        _slashes[key] = getattr(settings.commands, key)
    app.command(settings.commands.ops)(make_listener(family, settings.commands.ops, _route))


__all__ = ["family", "register", "unlink_account", "b"]
