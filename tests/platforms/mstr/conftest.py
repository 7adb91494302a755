"""Fixtures: a Strategy One emulator on a FakeClock, and the bot's platform/client on the same
clock, so session expiry and renewal are tested by moving time, never by sleeping."""

from __future__ import annotations

import pytest

from bot.platforms.base import Credential
from bot.platforms.mstr.platform import StrategyOneInstance, StrategyOnePlatform
from bot.platforms.mstr.sessions import Login
from emulators.mstr import DEMO, StrategyOneEmulator

INSTANCE = "prod"


@pytest.fixture(scope="session")
def _mstr_server():
    # One server for all these tests; each test gets it reset to the seed on its own clock.
    with StrategyOneEmulator() as emulator:
        yield emulator


@pytest.fixture
def mstr(_mstr_server, clock):
    _mstr_server.reset(clock=clock)
    yield _mstr_server
    _mstr_server.reset()


@pytest.fixture
async def platform(mstr, clock):
    # The context path and /api suffix are cut/kept as mstrio does.
    instance = StrategyOneInstance(
        name=INSTANCE, url=f"{mstr.url}/MicroStrategyLibrary/api", timeout=5
    )
    p = StrategyOnePlatform([instance], clock=clock)
    yield p
    await p.aclose()


@pytest.fixture
def client(platform):
    return platform.client(INSTANCE)


def credential(who: str, *, user_id: str | None = None) -> Credential:
    """A stored credential for a DEMO user, kept as its password/token (no exchange)."""
    demo = DEMO[who]
    mode = int(demo["mode"])
    login = (
        Login(mode=mode, api_token=demo["password"])
        if mode == 4096
        else Login(mode=mode, username=demo["username"], password=demo["password"])
    )
    return Credential(
        user_id=user_id or f"U-{who}",
        platform="mstr",
        instance=INSTANCE,
        account=demo["username"] or who,
        secret=login.to_secret(),
        kind=login.kind,
    )


@pytest.fixture
def alice() -> Credential:
    return credential("alice")


@pytest.fixture
def bob() -> Credential:
    return credential("bob")
