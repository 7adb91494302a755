"""Squonk2 Data Manager: Keycloak-authenticated DM API client and platform descriptor."""

from __future__ import annotations

from bot.platforms.squonk.client import SquonkClient
from bot.platforms.squonk.platform import SquonkInstance, SquonkPlatform

__all__ = ["SquonkClient", "SquonkInstance", "SquonkPlatform"]
