"""Shared fixtures: a seeded DSS emulator on a FakeClock, and the bot's client against it."""

from __future__ import annotations

import pytest

from bot.platforms.dss.client import DSSClient
from emulators.dss import DEMO, DSSEmulator

ALICE = DEMO["alice"]["api_key"]  # admin
BOB = DEMO["bob"]["api_key"]  # ordinary user
GLOBAL_ADMIN = DEMO["global_admin"]["api_key"]
BAD_KEY = "dkuaps-not-a-real-key-000000000000000"


@pytest.fixture
def dss(clock):
    with DSSEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
async def client(dss):
    c = DSSClient(instance="main", base_url=dss.url, timeout=5)
    yield c
    await c.aclose()
