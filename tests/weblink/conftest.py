"""The one-time web link, end to end: the real bot over HTTP with a public URL set, the Slack
and DSS emulators, a real SQLite file, and a clock the tests move (no sleeping)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.server import BotServer
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from tests.e2e.helpers import reply_to, texts
from tests.support.bot import SIGNING_SECRET, make_settings

# A public URL with a path prefix, as behind a reverse proxy: the form must post relative to
# the page, so tests reach the bot by swapping this prefix for the bot's loopback URL.
PUBLIC_URL = "https://switchboard.example.test/sb"
TWO_INSTANCES = "pre<prod>&\"'"


class Clock:
    """The bot's `now`: starts at the real time, moves only when a test says so."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def bot_now() -> Clock:
    return Clock()


@pytest.fixture
def platforms(dss) -> dict[str, list[dict[str, Any]]]:
    # A second instance whose name needs escaping everywhere it is shown.
    return {"dss": [{"name": "prod", "url": dss.url}, {"name": TWO_INSTANCES, "url": dss.url}]}


@pytest.fixture
def settings(tmp_path: Path, slack: SlackEmulator, platforms: dict) -> Settings:
    return make_settings(tmp_path, slack, platforms=platforms, public_url=PUBLIC_URL)


@pytest.fixture
def bot(settings: Settings, bot_now: Clock) -> Iterator[BotServer]:
    with BotServer(settings, now=bot_now) as server:
        yield server


@pytest.fixture
async def driver(slack: SlackEmulator, bot: BotServer) -> AsyncIterator[SlackDriver]:
    async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as d:
        yield d


LINK = re.compile(r"<(https?://[^|>]+)\|this link>")


async def web_link(
    driver: SlackDriver, slack: SlackEmulator, bot: BotServer, user: str, text: str = "link dss"
) -> str:
    """Type `/ops link …` as `user`; the one-time URL from the ephemeral reply, pointed at the
    bot's loopback address instead of the public one."""
    reply = await reply_to(driver, slack, user, "/ops", text, expect="works once")
    found = LINK.search(texts(reply.blocks))
    assert found, texts(reply.blocks)
    url = found.group(1)
    assert url.startswith(PUBLIC_URL + "/link/")
    return bot.url + url.removeprefix(PUBLIC_URL)
