"""Fixtures: a fresh seeded Astakos emulator per test (on a FakeClock) and a client for it."""

from __future__ import annotations

import httpx
import pytest

from bot.platforms.astakos.client import AstakosClient
from emulators.astakos import DEMO, AstakosEmulator
from emulators.base import FakeClock

START = 1_760_000_000.0


@pytest.fixture(scope="module")
def _server():
    # One server per module (starting and stopping uvicorn is the slow part); every test
    # gets it back in its seeded state at the start time.
    with AstakosEmulator(clock=FakeClock(START)) as emulator:
        yield emulator


@pytest.fixture
def astakos(_server: AstakosEmulator):
    _server.clock.now = START
    _server.reset()
    yield _server
    _server.faults.clear()


@pytest.fixture
def astakos_clock(astakos: AstakosEmulator) -> FakeClock:
    return astakos.clock


@pytest.fixture
async def client(astakos: AstakosEmulator):
    c = AstakosClient(instance="grnet", auth_url=f"{astakos.url}/identity/v2.0", timeout=5)
    yield c
    await c.aclose()


@pytest.fixture
def alice() -> str:
    return DEMO["alice"]["token"]


@pytest.fixture
def bob() -> str:
    return DEMO["bob"]["token"]


@pytest.fixture
def service() -> str:
    return DEMO["service"]["token"]


class Raw:
    """Plain HTTP against the emulator, to check the wire itself."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=5)

    def __call__(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: object = None,
        **kwargs: object,
    ) -> httpx.Response:
        headers = {"X-Auth-Token": token} if token else {}
        return self.http.request(method, self.url + path, headers=headers, json=body, **kwargs)


@pytest.fixture
def raw(astakos: AstakosEmulator):
    r = Raw(astakos.url)
    yield r
    r.http.close()
