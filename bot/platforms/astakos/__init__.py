"""Synnefo Astakos: quotas, projects, and the commissions, applications and memberships to approve.

This package's `DESCRIPTOR` is all the bot core knows of the platform (bot.platforms.catalog
lists it); the client, models and platform class are imported when first needed.
"""

from __future__ import annotations

from bot.platforms.descriptor import PlatformDescriptor

DESCRIPTOR = PlatformDescriptor(
    key="astakos",
    title="Synnefo Astakos",
    short_title="Astakos",
    platform="bot.platforms.astakos.platform:AstakosPlatform",
    summary="Synnefo Astakos: quotas, commissions, projects",
    commands="handlers.astakos",
    section="bot.digests.astakos:section",
    home_charts="bot.digests.astakos:home_charts",
    waiting="bot.digests.astakos:waiting",
    alerts="bot.digests.astakos:ALERTS",
    filters="bot.digests.astakos:FILTERS",
    alert_filters="bot.digests.astakos:ALERT_FILTERS",
    projects="bot.digests.astakos:project_names",
    approval_kinds="bot.platforms.astakos.kinds:KINDS",
    demo="bot.platforms.astakos.demo:SEED",
)
