"""/squonk: Squonk2 Data Manager with the caller's own credentials (commands are added as they are built)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.commands import CommandFamily, make_listener
from bot.config import Settings

family = CommandFamily("squonk", "Squonk2 Data Manager")


def register(app: AsyncApp, settings: Settings) -> None:
    app.command(settings.commands.squonk)(make_listener(family, settings.commands.squonk))
