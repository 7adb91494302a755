"""Platform faults end to end: the real bot served over HTTP, each platform's emulator on
127.0.0.1 misbehaving on purpose (hang, 500, refused connection, slow body, refused credential).

The Slack side (slack, driver) is the shared one (tests/conftest.py). Here the bot gets a short
platform timeout and a circuit breaker with a small threshold on a clock the tests move by
hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.platforms import breaker
from emulators.base import FakeClock
from emulators.slack import SlackEmulator
from tests.support.bot import make_settings

TIMEOUT = 0.8  # the bot's platform_timeout in this suite
THRESHOLD = 3  # failures in a row that open the breaker
COOL_DOWN = 30.0


@pytest.fixture
def breaker_clock() -> Iterator[FakeClock]:
    """The clock of every breaker the bot builds in this test (set before the bot starts)."""
    clock = FakeClock()
    previous = breaker.set_default_policy(
        breaker.BreakerPolicy(threshold=THRESHOLD, cooldown=COOL_DOWN, clock=clock)
    )
    try:
        yield clock
    finally:
        breaker.set_default_policy(previous)


@pytest.fixture
def settings(
    tmp_path: Path,
    slack: SlackEmulator,
    platforms: dict[str, Any],
    breaker_clock: FakeClock,
) -> Settings:
    return make_settings(tmp_path, slack, platforms=platforms, platform_timeout=TIMEOUT)
