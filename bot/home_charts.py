"""The App Home tab's charts: each linked account's picture of its platform (Astakos quota
usage against the limits, Atoti Limits breaches and warnings per day, DSS scenario runs and
Squonk2 instance runs: the digests' charts, bot.charts), read with the viewer's credential.

A Home tab is a view (`views.publish`): it cannot carry an uploaded file, only image blocks
whose URL Slack fetches. So with `public_url` set a chart is an image block of the bot's own
`/charts/<key>.png` (bot.web); without it the chart's alt text is shown in words, with one line
saying why there is no picture.

Home must open fast and never fail for a chart: a chart already in the cache (bot.charts
`Pictures`, shared with the digests) is shown at once; one that still has to be drawn shows
"drawing", and a platform that has not answered within HOME_CHART_WAIT shows "reading"; the
tab is published again with them once they are done (`redraw`), unless a newer Home was
published for that person meanwhile. A chart that cannot be drawn, or whose
data the platform would not give, is one line instead. matplotlib is imported only when a
chart is drawn (bot.charts.draw).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
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
READING = ":hourglass_flowing_sand: Reading {title} for its chart…"
COULD_NOT_DRAW = ":bar_chart: The chart “{title}” could not be drawn ({reason})."
NO_DATA = ":warning: {title}: no chart ({problem})"
CHART_BLOCK = "home-chart-"  # block_id of a chart still being drawn: + its key
READING_BLOCK = "home-chart-reading-"  # block_id of an account still being read: + its index
# How long Home waits for a platform's chart data before it shows without it (the rest comes
# with the redraw): a slow platform must not hold up the tab.
HOME_CHART_WAIT = 2.0

# The newest Home published per (bot, person): a redraw publishes only over its own.
_published: dict[tuple[int, str], int] = {}
_numbers = itertools.count(1)

Found = tuple[str, list[Chart], str]  # (account title, its charts, a problem in words or "")


@dataclass
class HomeCharts:
    """The charts part of one Home: its blocks now, the charts still to draw, and the
    accounts still being read (by the block_id of their "reading" line)."""

    blocks: list[Block] = field(default_factory=list)
    pending: list[Chart] = field(default_factory=list)
    reading: dict[str, asyncio.Future[Found]] = field(default_factory=dict)

    @property
    def unfinished(self) -> bool:
        return bool(self.pending or self.reading)


def _read(
    services: Services, user_id: str, accounts: list[LinkedAccount]
) -> list[tuple[str, asyncio.Future[Found]]]:
    """Per linked account with charts, a task reading its charts (`Found`)."""
    sources = registry.home_charts(services.settings.descriptors)
    linked = [a for a in accounts if a.platform in sources and a.platform in services.platforms]
    # One chart per instance, though a person may hold two roles there (an Astakos user and
    # service token): it is read with the usual credential, as `credential` picks it.
    firsts: dict[tuple[str, str], LinkedAccount] = {}
    for account in linked:
        firsts.setdefault((account.platform, account.instance), account)
    linked = list(firsts.values())

    async def one(account: LinkedAccount) -> Found:
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

    return [
        (f"{services.platforms[a.platform].title} ({a.instance})", asyncio.ensure_future(one(a)))
        for a in linked
    ]


async def section(services: Services, user_id: str, accounts: list[LinkedAccount]) -> HomeCharts:
    """The Home tab's charts section (nothing when the viewer has no account with charts,
    or charts are off). Accounts whose platform has not answered within HOME_CHART_WAIT are
    a "reading" line for now (`redraw` fills them in)."""
    if not services.settings.charts:
        return HomeCharts()
    tasks = _read(services, user_id, accounts)
    if not tasks:
        return HomeCharts()
    await asyncio.wait([t for _, t in tasks], timeout=HOME_CHART_WAIT)
    out = HomeCharts()
    body: list[Block] = []
    for index, (title, task) in enumerate(tasks):
        if task.done():
            body += _blocks(services, task.result(), out.pending)
        else:
            block_id = f"{READING_BLOCK}{index}"
            line = b.context(READING.format(title=b.escape(title)))
            line["block_id"] = block_id
            body.append(line)
            out.reading[block_id] = task
    if not body:
        return out
    head = [b.divider(), b.header(HEADER)]
    if not services.settings.public_url:
        head.append(b.context(NO_PUBLIC_URL))
    out.blocks = head + body
    return out


def _blocks(services: Services, found: Found, pending: list[Chart]) -> list[Block]:
    """One account's charts: a picture if drawn already, else "drawing" (the chart added to
    `pending`); in words without a public_url; one line if the platform would not say."""
    title, charts, problem = found
    out: list[Block] = []
    if problem:
        out.append(b.context(NO_DATA.format(title=b.escape(title), problem=problem)))
    for chart in charts:
        if not services.settings.public_url:
            out.append(b.section(f":bar_chart: {b.escape(alt(chart))}"))
            continue
        picture = services.pictures.get(chart.key)
        if picture is not None and picture.ok:
            out.append(_image(services, chart, picture))
        else:
            line = b.context(DRAWING.format(title=b.escape(chart.title)))
            line["block_id"] = CHART_BLOCK + chart.key
            out.append(line)
            pending.append(chart)
    return out


def _image(services: Services, chart: Chart, picture: Picture) -> Block:
    block = pictures.image_block(services, picture)
    block["block_id"] = CHART_BLOCK + chart.key
    return block


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
    charts: HomeCharts,
    number: int,
) -> None:
    """Finish what Home showed as "reading" or "drawing": read the slow accounts, draw the
    charts, and publish Home again with them (a chart that could not be drawn is one line
    saying why), unless a newer Home was published since."""
    later: dict[str, list[Block]] = {}
    pending = list(charts.pending)
    for block_id, task in charts.reading.items():
        later[block_id] = _blocks(services, await task, pending)
    drawn = {p.chart.key: p for p in await services.pictures.pictures(pending)}
    if _published.get((id(services), user_id)) != number:
        return  # a newer Home is showing; it drew its own charts
    blocks: list[Block] = []
    for block in [x for blk in view["blocks"] for x in later.get(blk.get("block_id", ""), [blk])]:
        block_id = str(block.get("block_id", ""))
        picture = drawn.get(block_id.removeprefix(CHART_BLOCK))
        if not block_id.startswith(CHART_BLOCK) or picture is None:
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
