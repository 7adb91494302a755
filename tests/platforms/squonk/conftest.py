"""Squonk2 fixtures: a Keycloak realm and a DM API on loopback, sharing one FakeClock, and a
SquonkPlatform configured against them.

The two servers run once per test module (starting and stopping uvicorn dominates the run
time) and are reset to their seeded state before every test; tests that need another realm
configuration start their own.
"""

from __future__ import annotations

import time

import pytest

from bot.platforms.base import Credential
from bot.platforms.squonk.platform import SquonkInstance, SquonkPlatform
from emulators.base import FakeClock
from emulators.keycloak import DEMO, KeycloakEmulator
from emulators.squonk import SquonkEmulator


@pytest.fixture(scope="module")
def squonk_clock() -> FakeClock:
    # Start at the real time: the official client compares token expiry with the wall clock.
    return FakeClock(start=float(int(time.time())))


@pytest.fixture(scope="module")
def _servers(squonk_clock):
    with KeycloakEmulator(clock=squonk_clock) as kc, SquonkEmulator(keycloak=kc) as dm:
        yield kc, dm


@pytest.fixture
def kc(_servers) -> KeycloakEmulator:
    kc, _ = _servers
    kc.reset()
    return kc


@pytest.fixture
def dm(_servers, kc) -> SquonkEmulator:
    _, dm = _servers
    dm.reset()
    return dm


class SavedSecrets(list):
    """What the platform asked the store to save (credential, new secret)."""

    async def __call__(self, credential: Credential, secret: str) -> None:
        self.append((credential, secret))


@pytest.fixture
async def platform(dm, squonk_clock):
    p = SquonkPlatform([SquonkInstance(**dm.instance_settings())], clock=squonk_clock)
    p.save_secret = SavedSecrets()
    yield p
    await p.aclose()


async def link(platform: SquonkPlatform, who: str) -> Credential:
    """Link a demo user the way the core does: verify, then keep only the returned secret."""
    verified = await platform.verify("main", dict(DEMO[who]))
    return Credential(
        user_id=f"U-{who}",
        platform="squonk",
        instance="main",
        account=verified.account,
        secret=verified.secret,
        kind=verified.kind,
    )


@pytest.fixture
async def alice(platform) -> Credential:
    return await link(platform, "alice")


@pytest.fixture
async def bob(platform) -> Credential:
    return await link(platform, "bob")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "official_client_bug: documents a bug of an official SDK (asserts the bug)"
    )
