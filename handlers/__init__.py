"""Every listener family, each with `register(app, settings)`; `register_all` calls them."""

from __future__ import annotations

from types import ModuleType

from slack_bolt.async_app import AsyncApp

from bot.commands import CommandFamily
from bot.config import Settings
from handlers import (
    approvals,
    astakos,
    dss,
    home,
    limits,
    link,
    mstr,
    open_in,
    ops,
    squonk,
    subscriptions,
    unfurl,
)

# Platform command families, in the order people see them. Each module has `family` and
# `register(app, settings)`.
PLATFORM_MODULES: list[ModuleType] = [dss, mstr, squonk, astakos, limits]


def families() -> dict[str, CommandFamily]:
    return {module.family.key: module.family for module in PLATFORM_MODULES}


def slash_commands(settings: Settings) -> dict[str, str]:
    """family key -> slash command name, for the manifest and the drift test."""
    names = {"ops": settings.commands.ops}
    for key in families():
        names[key] = getattr(settings.commands, key)
    return names


def register_all(app: AsyncApp, settings: Settings) -> dict[str, str]:
    ops.register(app, settings, families())
    link.register(app)
    home.register(app)
    subscriptions.register(app)
    approvals.register(app)
    open_in.register(app)
    unfurl.register(app)
    for module in PLATFORM_MODULES:
        module.register(app, settings)
    return slash_commands(settings)
