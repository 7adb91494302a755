"""Squonk2 Data Manager: projects, job instances and runs, with Keycloak-issued tokens.

This package's `DESCRIPTOR` is all the bot core knows of the platform (bot.platforms.catalog
lists it); the client, models and platform class are imported when first needed.
"""

from __future__ import annotations

from bot.platforms.descriptor import PlatformDescriptor

DESCRIPTOR = PlatformDescriptor(
    key="squonk",
    title="Squonk2 Data Manager",
    short_title="Squonk2",
    platform="bot.platforms.squonk.platform:SquonkPlatform",
    summary="Squonk2 Data Manager: projects, job instances, runs",
    aliases=("squonk2",),
    commands="handlers.squonk",
    section="bot.digests.squonk:section",
    home_charts="bot.digests.squonk:home_charts",
    alerts="bot.digests.squonk:ALERTS",
    filters="bot.digests.squonk:FILTERS",
    alert_filters="bot.digests.squonk:ALERT_FILTERS",
    projects="bot.digests.squonk:project_names",
    demo="bot.platforms.squonk.demo:SEED",
    unfurl="bot.platforms.squonk.unfurl:UNFURL",
)
