"""Every listener family, each with `register(app, settings)`; `register_all` calls them.

The platform command families come from the platforms' descriptors (`Settings.descriptors`),
in the order people see platforms: each names the module holding its `family` and its
`register(app, settings)` (buttons, modals); the slash command is registered here.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.commands import CommandFamily, make_listener
from bot.config import Settings
from bot.platforms.catalog import DESCRIPTORS
from bot.platforms.descriptor import CommandModule, PlatformDescriptor
from handlers import alert_controls, approvals, home, link, open_in, ops, subscriptions, unfurl


def command_modules(
    descriptors: tuple[PlatformDescriptor, ...] = DESCRIPTORS,
) -> dict[str, CommandModule]:
    """Platform key -> its command module, for the platforms that have commands."""
    found = {d.key: d.command_module() for d in descriptors}
    return {key: module for key, module in found.items() if module is not None}


def families(
    descriptors: tuple[PlatformDescriptor, ...] = DESCRIPTORS,
) -> dict[str, CommandFamily]:
    return {key: module.family for key, module in command_modules(descriptors).items()}


def all_families(
    descriptors: tuple[PlatformDescriptor, ...] = DESCRIPTORS,
) -> dict[str, CommandFamily]:
    """/ops first, then the platforms' families."""
    return {"ops": ops.family, **families(descriptors)}


def slash_commands(settings: Settings) -> dict[str, str]:
    """family key -> slash command name, for the manifest and the drift test."""
    names = {"ops": settings.commands.ops}
    for key in families(settings.descriptors):
        names[key] = settings.commands.of(key)
    return names


def register_all(app: AsyncApp, settings: Settings) -> dict[str, str]:
    modules = command_modules(settings.descriptors)
    ops.register(app, settings, {key: m.family for key, m in modules.items()})
    link.register(app)
    home.register(app)
    subscriptions.register(app)
    alert_controls.register(app)
    approvals.register(app)
    open_in.register(app)
    unfurl.register(app)
    for key, module in modules.items():
        slash = settings.commands.of(key)
        app.command(slash)(make_listener(module.family, slash))
        module.register(app, settings)
    return slash_commands(settings)
