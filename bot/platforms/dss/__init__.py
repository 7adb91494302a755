"""Dataiku DSS: async client, response models and the platform descriptor."""

from __future__ import annotations

from bot.platforms.dss.client import DSSClient
from bot.platforms.dss.platform import DSSInstance, DSSPlatform

__all__ = ["DSSClient", "DSSInstance", "DSSPlatform"]
