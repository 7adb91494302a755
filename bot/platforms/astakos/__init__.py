"""Synnefo Astakos: async client, response models and the platform descriptor."""

from __future__ import annotations

from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.platform import AstakosPlatform

__all__ = ["AstakosClient", "AstakosPlatform"]
