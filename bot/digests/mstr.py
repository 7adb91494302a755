"""Strategy One in digests and alerts, with the owner's linked login.

Section: the server reachable (latency) and its I-Server / web versions, and the projects not
loaded on some node (per-node status needs the project monitor privilege; without it, the
projects loaded for the owner). `empty` when the server is up and every project is loaded.
An unreachable server raises `Unavailable`, which the composer shows as the section's reason.

Alert source:
    mstr.status  the server does not answer: one item per hour while it is down, key
                 `mstr:<instance>:unreachable:<YYYY-MM-DDTHH>` (UTC), so a long outage is
                 repeated hourly, not at every poll.
"""

from __future__ import annotations

import time
from datetime import UTC

from bot import errors
from bot.blocks import digest as blocks
from bot.digests.base import AlertItem, AlertSource, DigestContext, Section
from bot.filters import INSTANCE, NAME, PROJECT
from bot.platforms.mstr import DESCRIPTOR
from bot.platforms.mstr.client import StrategyOneClient
from bot.platforms.mstr.platform import StrategyOnePlatform

PLATFORM = DESCRIPTOR.key
TITLE = DESCRIPTOR.title


def _client(ctx: DigestContext) -> StrategyOneClient:
    return ctx.services.platforms.get(StrategyOnePlatform).client(ctx.credential.instance)


async def section(ctx: DigestContext) -> Section:
    client = _client(ctx)
    started = time.perf_counter()
    versions = await client.server_status()
    latency = (time.perf_counter() - started) * 1000
    projects = [
        p
        for p in await client.projects(credential=ctx.credential)
        if ctx.filters.project_ok(p.name, p.id) and ctx.filters.name_ok(p.name)
    ]
    drawn = blocks.mstr(versions, latency, projects)
    not_loaded = [p for p in projects if (p.not_loaded_on if p.nodes else not p.loaded)]
    return Section(
        platform=PLATFORM,
        title=f"{TITLE} ({ctx.credential.instance})",
        blocks=drawn,
        empty=not not_loaded,
    )


async def unreachable(ctx: DigestContext) -> list[AlertItem]:
    instance = ctx.credential.instance
    try:
        await _client(ctx).server_status()
    except errors.Unavailable as error:
        text, blks = blocks.mstr_down(instance, error.detail)
        hour = ctx.now.astimezone(UTC).strftime("%Y-%m-%dT%H")
        key = f"{PLATFORM}:{instance}:unreachable:{hour}"
        return [AlertItem(key=key, text=text, blocks=blks, subject=key, kind="status")]
    return []


async def project_names(ctx: DigestContext) -> list[str]:
    """The projects the owner's login can see (what `project=` is checked against)."""
    return [p.name for p in await _client(ctx).projects(credential=ctx.credential)]


ALERTS: dict[str, AlertSource] = {"mstr.status": unreachable}
FILTERS = (PROJECT, INSTANCE, NAME)
ALERT_FILTERS = {"mstr.status": (INSTANCE,)}
