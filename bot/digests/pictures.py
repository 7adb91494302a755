"""A digest's charts (bot.charts), drawn before it is posted and shown with it.

Where `public_url` is set the digest carries each chart as an image block whose URL the bot
serves itself (`/charts/<key>.png`, bot.web); a chart that cannot be drawn is one context line
in the digest saying why. Elsewhere the digest's text is posted first (it never waits for a
picture), then the pictures are drawn and uploaded the way Slack wants files today, right
after it into the same conversation: slack_sdk's `files_upload_v2` (files.getUploadURLExternal,
the bytes to the URL it returns, files.completeUploadExternal), with the alt text and a
title; a chart that cannot be drawn is one line there instead. An upload that fails is logged
and the digest stays delivered (the upload is not part of the exactly-once ledger: a crash
between the two loses the picture, never the digest).
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

COULD_NOT_DRAW = (
    ":bar_chart: The chart “{title}” could not be drawn ({reason}); the text above says it all."
)
ROUTE = "/charts/{key}.png"


def chart_url(services: Services, picture: Picture) -> str:
    base = (services.settings.public_url or "").rstrip("/")
    return base + ROUTE.format(key=picture.chart.key)


def image_block(services: Services, picture: Picture) -> dict[str, Any]:
    return {
        "type": "image",
        "image_url": chart_url(services, picture),
        "alt_text": picture.alt,
        "title": {"type": "plain_text", "text": b.clip(picture.chart.title, 200)},
    }


async def prepare(services: Services, digest: Digest) -> bool:
    """Where `public_url` is set: draw the digest's charts (cached) and put them in its
    blocks as image blocks, or a line for each that could not be drawn. True when the
    charts still need drawing and uploading after the digest is posted (`follow`): the text
    never waits for a picture."""
    charts = digest.charts
    if not charts or not services.settings.charts:
        return False
    if not services.settings.public_url:
        return True
    drawn = await services.pictures.pictures(charts)
    extra = [image_block(services, p) if p.ok else _could_not(p) for p in drawn]
    room = b.MAX_MESSAGE_BLOCKS - len(digest.blocks)
    at = len(digest.blocks) - 1 if digest.blocks else 0  # before the "As of" line
    digest.blocks[at:at] = extra[: max(room, 0)]
    return False


def _could_not(picture: Picture) -> dict[str, Any]:
    return b.context(
        COULD_NOT_DRAW.format(title=b.escape(picture.chart.title), reason=b.escape(picture.error))
    )


async def follow(services: Services, channel: str, digest: Digest) -> None:
    """After the digest is posted: its charts drawn (cached) and uploaded as files into the
    same conversation; one line for those that could not be drawn."""
    drawn = await services.pictures.pictures(digest.charts)
    failed = [p for p in drawn if not p.ok]
    await upload(services, channel, [p for p in drawn if p.ok])
    if failed:
        try:
            await services.slack.chat_postMessage(
                channel=channel,
                text="\n".join(
                    COULD_NOT_DRAW.format(title=p.chart.title, reason=p.error) for p in failed
                ),
                blocks=[_could_not(p) for p in failed],
            )
        except Exception as error:
            log.warning("the chart note to %s failed: %s", channel, type(error).__name__)


async def upload(services: Services, channel: str, pictures: list[Picture]) -> bool:
    """The pictures as files in `channel` (one upload, one message); False if it failed."""
    if not pictures:
        return True
    try:
        await services.slack.files_upload_v2(
            channel=channel,
            file_uploads=[
                {
                    "content": p.png,
                    "filename": p.chart.filename,
                    "title": p.chart.title,
                    "alt_txt": p.alt,
                }
                for p in pictures
            ],
        )
    except Exception as error:
        log.warning("chart upload to %s failed: %s", channel, type(error).__name__)
        return False
    return True
