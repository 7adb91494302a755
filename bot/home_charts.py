"""The App Home tab's charts: each linked account's picture of its platform (Astakos quota
usage against the limits, Atoti Limits breaches and warnings per day, DSS scenario runs and
Squonk2 instance runs: the digests' charts, bot.charts), read with the viewer's credential.

A Home tab is a view (`views.publish`): it cannot carry an uploaded file, only image blocks
whose URL Slack fetches. So with `public_url` set a chart is an image block of the bot's own
`/charts/<key>.png` (bot.web); without it the chart's alt text is shown in words, with one line
saying why there is no picture.

Home must open fast and never fail for a chart: a chart already in the cache (bot.charts
`Pictures`, shared with the digests) is shown at once; one that still has to be drawn shows
"drawing" and the tab is published again with the picture once it is (`redraw`), unless a
newer Home was published for that person meanwhile. A chart that cannot be drawn, or whose
data the platform would not give, is one line instead. matplotlib is imported only when a
chart is drawn (bot.charts.draw).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import errors, messages
from bot.blocks import common as b
from bot.charts import Chart, Picture, alt
from bot.digests import pictures, registry
from bot.digests.base import DigestContext

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.accounts import LinkedAccount
    from bot.services import Services

Block = dict[str, Any]
log = logging.getLogger(__name__)

HEADER = "Charts"
NO_PUBLIC_URL = (
    ":information_source: No pictures here: Slack's Home tab shows only images at a public "
    "address, and this Switchboard has no `public_url`. Each chart is told in words instead."
)
DRAWING = ":hourglass_flowing_sand: Drawing “{title}”…"
COULD_NOT_DRAW = ":bar_chart: The chart “{title}” could not be drawn ({reason})."
NO_DATA = ":warning: {title}: no chart ({problem})"
BLOCK_PREFIX = "home-chart-"

# The newest Home published per (bot, person): a redraw publishes only over its own.
_published: dict[tuple[int, str], int] = {}
_numbers = itertools.count(1)


@dataclass
class HomeCharts:
    """The charts part of one Home: its blocks now, and the charts still to draw."""

    blocks: list[Block]
    pending: list[Chart]


async def gather(
    services: Services, user_id: str, accounts: list[LinkedAccount]
) -> list[tuple[str, list[Chart], str]]:
    """Per linked account with charts: (its title, its charts, a problem in words or "")."""
    sources = registry.home_charts(services.settings.descriptors)
    linked = [a for a in accounts if a.platform in sources and a.platform in services.platforms]

    async def one(account: LinkedAccount) -> tuple[str, list[Chart], str]:
        title = f"{services.platforms[account.platform].title} ({account.instance})"
        try:
            credential = await services.accounts.credential(
                user_id, account.platform, account.instance
            )
            ctx = DigestContext(
                services=services, credential=credential, now=services.now(), since=None
            )
            return title, await sources[account.platform](ctx), ""
        except errors.BotError as error:
            return title, [], messages.for_error(error)
        except Exception:
            log.exception("the Home chart of %s failed", title)
            return title, [], "it could not be read"

    return list(await asyncio.gather(*(one(a) for a in linked)))


async def section(services: Services, user_id: str, accounts: list[LinkedAccount]) -> HomeCharts:
    """The Home tab's charts section (nothing when the viewer has no account with charts,
    or charts are off)."""
    if not services.settings.charts:
        return HomeCharts([], [])
    found = await gather(services, user_id, accounts)
    if not found:
        return HomeCharts([], [])
    public = bool(services.settings.public_url)
    body: list[Block] = []
    pending: list[Chart] = []
    for title, drawn_charts, problem in found:
        if problem:
            body.append(b.context(NO_DATA.format(title=b.escape(title), problem=problem)))
        for chart in drawn_charts:
            if not public:
                body.append(_in_words(chart))
                continue
            picture = services.pictures.get(chart.key)
            if picture is not None and picture.ok:
                body.append(_image(services, chart, picture))
            else:
                body.append(_drawing(chart))
                pending.append(chart)
    if not body:
        return HomeCharts([], [])
    head = [b.divider(), b.header(HEADER)]
    if not public:
        head.append(b.context(NO_PUBLIC_URL))
    return HomeCharts(head + body, pending)


def _in_words(chart: Chart) -> Block:
    return b.section(f":bar_chart: {b.escape(alt(chart))}")


def _image(services: Services, chart: Chart, picture: Picture) -> Block:
    block = pictures.image_block(services, picture)
    block["block_id"] = BLOCK_PREFIX + chart.key
    return block


def _drawing(chart: Chart) -> Block:
    line = b.context(DRAWING.format(title=b.escape(chart.title)))
    line["block_id"] = BLOCK_PREFIX + chart.key
    return line


def published(services: Services, user_id: str) -> int:
    """Note a Home publish for this person; its number, for `redraw`."""
    number = next(_numbers)
    _published[(id(services), user_id)] = number
    return number


async def redraw(
    services: Services,
    client: AsyncWebClient,
    user_id: str,
    view: dict[str, Any],
    pending: list[Chart],
    number: int,
) -> None:
    """Draw the charts Home showed as "drawing" and publish it again with them (each that
    could not be drawn is one line saying why), unless a newer Home was published since."""
    drawn = {p.chart.key: p for p in await services.pictures.pictures(pending)}
    if _published.get((id(services), user_id)) != number:
        return  # a newer Home is showing; it drew its own charts
    blocks = []
    for block in view["blocks"]:
        block_id = str(block.get("block_id", ""))
        picture = drawn.get(block_id.removeprefix(BLOCK_PREFIX))
        if not block_id.startswith(BLOCK_PREFIX) or picture is None:
            blocks.append(block)
        elif picture.ok:
            blocks.append(_image(services, picture.chart, picture))
        else:
            title, reason = b.escape(picture.chart.title), b.escape(picture.error)
            blocks.append(b.context(COULD_NOT_DRAW.format(title=title, reason=reason)))
    try:
        await client.views_publish(user_id=user_id, view={**view, "blocks": blocks})
    except Exception as error:
        log.warning("the Home tab of %s with its charts failed: %s", user_id, type(error).__name__)
