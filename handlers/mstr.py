"""/mstr: Strategy One with the caller's own credentials (commands are added as they are built)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.commands import CommandFamily, make_listener
from bot.config import Settings

family = CommandFamily("mstr", "Strategy One")


def register(app: AsyncApp, settings: Settings) -> None:
    app.command(settings.commands.mstr)(make_listener(family, settings.commands.mstr))
