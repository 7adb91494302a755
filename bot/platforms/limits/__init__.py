"""Atoti Limits: `/limits status | breaches | limit | pending` with Approve / Reject."""

from __future__ import annotations

from bot.platforms.limits.client import LimitsClient
from bot.platforms.limits.platform import LimitsPlatform

__all__ = ["LimitsClient", "LimitsPlatform"]
