"""Fixtures: a fresh Limits emulator on a fake clock, a platform over it, linked credentials."""

from __future__ import annotations

import pytest

from bot.platforms.base import Credential, InstanceConfig
from bot.platforms.limits.client import LimitsClient, encode_secret
from bot.platforms.limits.platform import LimitsPlatform
from emulators.base import FakeClock
from emulators.limits import DEMO, LimitsEmulator


@pytest.fixture
def emulator(clock):
    with LimitsEmulator(clock=clock) as server:
        yield server


@pytest.fixture
async def platform(emulator):
    platform = LimitsPlatform([InstanceConfig(name="prod", url=emulator.url, timeout=2.0)])
    yield platform
    await platform.aclose()


@pytest.fixture
def client(platform) -> LimitsClient:
    return platform.client("prod")


def credential_for(username: str, password: str) -> Credential:
    return Credential(
        user_id=f"U-{username}",
        platform="limits",
        instance="prod",
        account=username,
        secret=encode_secret(username, password),
    )


@pytest.fixture
def alice() -> Credential:
    return credential_for(DEMO["alice"]["username"], DEMO["alice"]["password"])


@pytest.fixture
def bob() -> Credential:
    return credential_for(DEMO["bob"]["username"], DEMO["bob"]["password"])


@pytest.fixture
def manager1() -> Credential:
    return credential_for("manager1", "manager1")


@pytest.fixture(scope="module")
def seeded_emulator():
    """One emulator shared by a module's read-only tests (each start and stop costs ~0.2 s).
    Modules opt in by overriding `emulator` with `shared_emulator` below."""
    with LimitsEmulator(clock=FakeClock()) as server:
        yield server


@pytest.fixture
def shared_emulator(seeded_emulator):
    seeded_emulator.faults.clear()
    seeded_emulator.requests.clear()
    return seeded_emulator
