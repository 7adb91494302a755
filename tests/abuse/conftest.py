"""Abuse, fuzzing, secrets and isolation: the real bot over HTTP with all five platform
emulators (as in `switchboard demo`), a real SQLite file, and a capture of every log record.

The shared fixtures (slack, settings, bot, driver, world: tests/conftest.py) are used; only
`platforms` changes: every platform the demo has. The emulators start once per session and
are reset per test where they can be (Limits cannot: these tests do not depend on its state).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.demo import DEMO_LINKS, DemoPlatforms
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from tests.e2e.helpers import link
from tests.support.bot import BOT_TOKEN, SIGNING_SECRET
from tests.support.logging_state import LoggingState

__all__ = ["BOT_TOKEN", "SIGNING_SECRET"]


@pytest.fixture
def platforms(demo_platforms: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return demo_platforms


def platform_requests(world: DemoPlatforms) -> int:
    """How many requests every platform emulator received, together."""
    return sum(len(e.requests) for e in world.emulators.values())


class Capture(logging.Handler):
    """Every log record, from every thread (the bot runs in-process on its own thread)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        """Every record as it would be written, tracebacks included."""
        out = []
        for r in list(self.records):
            try:
                out.append(self.format(r))
            except Exception as exc:  # a record whose args do not fit its message
                out.append(f"{r.name} unformattable {r.msg!r} {r.args!r} {exc!r}")
        return "\n".join(out)

    def tracebacks(self) -> list[str]:
        return [self.format(r) for r in list(self.records) if r.exc_info or r.levelno >= 40]


@pytest.fixture
def logs() -> Iterator[Capture]:
    """Every record at DEBUG for the test, whatever levels were set before (by the
    `switchboard` command's setup_logging, say): every logger is opened to DEBUG, and the
    whole logging configuration is restored after."""
    state = LoggingState.take()
    root = logging.getLogger()
    handler = Capture()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.disable(logging.NOTSET)
    for one in logging.root.manager.loggerDict.values():
        if isinstance(one, logging.Logger):
            one.setLevel(logging.NOTSET)
            one.disabled = False
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        state.restore()


async def link_all(
    driver: SlackDriver, slack: SlackEmulator, users: tuple[str, ...] = ("alice", "bob")
) -> None:
    """Link the demo accounts through the real modal (alice: all five, bob: dss/astakos/limits)."""
    for user, platform, values in DEMO_LINKS:
        if user in users:
            outcome = await link(driver, slack, user, platform, values)
            assert "Linked" in outcome, (user, platform, outcome)
