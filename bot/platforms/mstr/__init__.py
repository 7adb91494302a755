"""Strategy One (MicroStrategy): `/mstr status | whoami | projects | use <project>`."""

from __future__ import annotations

from bot.platforms.mstr.client import StrategyOneClient
from bot.platforms.mstr.platform import StrategyOneInstance, StrategyOnePlatform
from bot.platforms.mstr.sessions import Login

__all__ = ["Login", "StrategyOneClient", "StrategyOneInstance", "StrategyOnePlatform"]
