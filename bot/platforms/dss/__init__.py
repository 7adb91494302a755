"""Dataiku DSS: futures, jobs, scenarios, notebooks and API keys with the caller's own API key.

This package's `DESCRIPTOR` is all the bot core knows of the platform (bot.platforms.catalog
lists it); the client, models and platform class are imported when first needed.
"""

from __future__ import annotations

from bot.platforms.descriptor import PlatformDescriptor

DESCRIPTOR = PlatformDescriptor(
    key="dss",
    title="Dataiku DSS",
    platform="bot.platforms.dss.platform:DSSPlatform",
    summary="Dataiku DSS: futures, jobs, scenarios, notebooks, keys",
    aliases=("dataiku",),
    commands="handlers.dss",
    section="bot.digests.dss:section",
    home_charts="bot.digests.dss:home_charts",
    alerts="bot.digests.dss:ALERTS",
    filters="bot.digests.dss:FILTERS",
    alert_filters="bot.digests.dss:ALERT_FILTERS",
    projects="bot.digests.dss:project_names",
    demo="bot.platforms.dss.demo:SEED",
    unfurl="bot.platforms.dss.unfurl:UNFURL",
)
