"""End to end: the real bot served over HTTP, Slack-signed requests from the driver, platform
emulators on 127.0.0.1, a real SQLite file (or a real PostgreSQL database, for the tests marked
`on_both_engines`). Tests assert on what the Slack emulator received,
which is what a person would see."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.server import BotServer
from emulators.dss import DSSEmulator
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver

SIGNING_SECRET = "e2e-signing-secret-9f8e7d"
BOT_TOKEN = "xoxb-e2e-bot-token-123456"


@pytest.fixture
def dss() -> Iterator[DSSEmulator]:
    # A fresh emulator per test: aborting a future or deleting a key must not leak into the
    # next test (the DSS emulator has no reset; starting one takes a fraction of a second).
    with DSSEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def make_settings(tmp_path: Path, slack: SlackEmulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": f"{slack.url}/api/",
        "data_dir": tmp_path,
        "operators": ["U0ALICE"],
        "watch_interval": 0.05,
        "platform_timeout": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def platforms(dss: DSSEmulator) -> dict[str, list[dict[str, Any]]]:
    """The platform instances the bot is configured with; tests add to it before `bot`."""
    return {"dss": [{"name": "prod", "url": dss.url}]}


@pytest.fixture
def settings(
    tmp_path: Path,
    slack: SlackEmulator,
    platforms: dict,
    engine: str,
    request: pytest.FixtureRequest,
) -> Settings:
    if engine == "postgresql":  # no key file beside a database that has no file
        return make_settings(
            tmp_path,
            slack,
            platforms=platforms,
            database_url=request.getfixturevalue("postgres_url"),
            secret_key=Fernet.generate_key().decode(),
        )
    return make_settings(tmp_path, slack, platforms=platforms)


@pytest.fixture
def bot(settings: Settings) -> Iterator[BotServer]:
    with BotServer(settings) as server:
        yield server


@pytest.fixture
async def driver(slack: SlackEmulator, bot: BotServer) -> AsyncIterator[SlackDriver]:
    async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as d:
        yield d
