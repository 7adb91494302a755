"""A digest's charts (bot.charts), drawn before it is posted and shown with it.

Where `public_url` is set the digest carries each chart as an image block whose URL the bot
serves itself (`/charts/<key>.png`, bot.web). Elsewhere the pictures are uploaded the way
Slack wants files today, right after the digest into the same conversation: slack_sdk's
`files_upload_v2` (files.getUploadURLExternal, the bytes to the URL it returns,
files.completeUploadExternal), with the alt text and a title.

A chart that cannot be drawn leaves the digest's text whole and adds one context line saying
why; an upload that fails is logged and the digest stays delivered (the upload is not part of
the exactly-once ledger: a crash between the two loses the picture, never the digest).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.blocks import common as b
from bot.charts import Picture

if TYPE_CHECKING:
    from bot.digests.compose import Digest
    from bot.services import Services

log = logging.getLogger(__name__)

COULD_NOT_DRAW = ":bar_chart: The chart “{title}” could not be drawn ({reason}); the text " \
                 "above says it all."
ROUTE = "/charts/{key}.png"


def chart_url(services: Services, picture: Picture) -> str:
    base = (services.settings.public_url or "").rstrip("/")
    return base + ROUTE.format(key=picture.chart.key)


def image_block(services: Services, picture: Picture) -> dict[str, Any]:
    return {"type": "image", "image_url": chart_url(services, picture),
            "alt_text": picture.alt,
            "title": {"type": "plain_text", "text": b.clip(picture.chart.title, 200)}}


async def prepare(services: Services, digest: Digest) -> list[Picture]:
    """Draw the digest's charts (cached) and put what shows in its blocks: image blocks
    (public_url), or a line for each chart that could not be drawn. Returns the pictures
    still to upload after the digest is posted."""
    charts = digest.charts
    if not charts or not services.settings.charts:
        return []
    drawn = await services.pictures.pictures(charts)
    inline = bool(services.settings.public_url)
    extra: list[dict[str, Any]] = []
    for picture in drawn:
        if not picture.ok:
            extra.append(b.context(COULD_NOT_DRAW.format(
                title=b.escape(picture.chart.title), reason=b.escape(picture.error))))
        elif inline:
            extra.append(image_block(services, picture))
    room = b.MAX_MESSAGE_BLOCKS - len(digest.blocks)
    at = len(digest.blocks) - 1 if digest.blocks else 0  # before the "As of" line
    digest.blocks[at:at] = extra[:max(room, 0)]
    return [] if inline else [p for p in drawn if p.ok]


async def upload(services: Services, channel: str, pictures: list[Picture]) -> bool:
    """The pictures as files in `channel` (one upload, one message); False if it failed."""
    if not pictures:
        return True
    try:
        await services.slack.files_upload_v2(
            channel=channel,
            file_uploads=[{"content": p.png, "filename": p.chart.filename,
                           "title": p.chart.title, "alt_txt": p.alt} for p in pictures])
    except Exception as error:  # noqa: BLE001 - the digest is delivered; the picture is extra
        log.warning("chart upload to %s failed: %s", channel, type(error).__name__)
        return False
    return True
