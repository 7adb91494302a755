"""Strategy One (MicroStrategy): server status, session, projects.

This package's `DESCRIPTOR` is all the bot core knows of the platform (bot.platforms.catalog
lists it); the client, models and platform class are imported when first needed.
"""

from __future__ import annotations

from bot.platforms.descriptor import PlatformDescriptor

DESCRIPTOR = PlatformDescriptor(
    key="mstr",
    title="Strategy One",
    platform="bot.platforms.mstr.platform:StrategyOnePlatform",
    summary="Strategy One: server status, session, projects",
    aliases=("strategy", "microstrategy", "strategyone"),
    commands="handlers.mstr",
    section="bot.digests.mstr:section",
    alerts="bot.digests.mstr:ALERTS",
    filters="bot.digests.mstr:FILTERS",
    alert_filters="bot.digests.mstr:ALERT_FILTERS",
    projects="bot.digests.mstr:project_names",
    demo="bot.platforms.mstr.demo:SEED",
    unfurl="bot.platforms.mstr.unfurl:UNFURL",
)
