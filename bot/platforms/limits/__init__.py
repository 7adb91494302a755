"""Atoti Limits: breaches, limits, and the workflow tasks to approve.

This package's `DESCRIPTOR` is all the bot core knows of the platform (bot.platforms.catalog
lists it); the client, models and platform class are imported when first needed.
"""

from __future__ import annotations

from bot.platforms.descriptor import PlatformDescriptor

DESCRIPTOR = PlatformDescriptor(
    key="limits",
    title="Atoti Limits",
    platform="bot.platforms.limits.platform:LimitsPlatform",
    summary="Atoti Limits: breaches, limits, approvals",
    aliases=("atoti",),
    commands="handlers.limits",
    section="bot.digests.limits:section",
    home_charts="bot.digests.limits:home_charts",
    waiting="bot.digests.limits:waiting",
    alerts="bot.digests.limits:ALERTS",
    filters="bot.digests.limits:FILTERS",
    alert_filters="bot.digests.limits:ALERT_FILTERS",
    approval_kinds="bot.platforms.limits.kinds:KINDS",
    demo="bot.platforms.limits.demo:SEED",
    unfurl="bot.platforms.limits.unfurl:UNFURL",
)
