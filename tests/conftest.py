"""Fixtures every test folder may use, each defined once here: the database engines, the bot
under test (Slack emulator, settings, the bot served over HTTP, the driver), the demo world of
every platform emulator, a fake clock, and logging put back after each test.

`db_target` runs a test once per engine (the store's contract suite): a SQLite file, then a
PostgreSQL database of its own on the session's throwaway server (tests/postgres.py). An e2e
test runs on PostgreSQL too when parametrized with `engine` (indirect; see ENGINES).

Without PostgreSQL, its tests skip with the reason; under CI (CI=true) they fail instead, so
a CI run cannot pass without having exercised PostgreSQL.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.demo import DemoPlatforms
from bot.server import BotServer
from emulators.astakos import AstakosEmulator
from emulators.base import FakeClock
from emulators.dss import DSSEmulator
from emulators.keycloak import KeycloakEmulator
from emulators.mstr import StrategyOneEmulator
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from emulators.squonk import SquonkEmulator
from tests.engines import ENGINES
from tests.postgres import PostgresServer, PostgresUnavailable
from tests.support.bot import SIGNING_SECRET, make_settings
from tests.support.logging_state import LoggingState

# `case`: one platform at a time, for the modules that run a test once per platform.
pytest_plugins = ["tests.support.platform_cases"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer.start()
    except (PostgresUnavailable, OSError) as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL could not be started, and CI must test it: {error}")
        pytest.skip(f"PostgreSQL could not be started: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new database with the current schema, on the session's server."""
    return postgres_server.new_database()


@pytest.fixture(params=ENGINES, ids=ENGINES)
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """What bot.store.Store opens, once per engine."""
    if request.param == "sqlite":
        return tmp_path / "sb.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The bot's engine in e2e tests: SQLite unless parametrized (indirect) with ENGINES."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """Logging is process-wide: what a test configures (e.g. the `switchboard` command run
    in-process sets library loggers to INFO/WARNING) is put back for the next test."""
    state = LoggingState.take()
    try:
        yield
    finally:
        state.restore()


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand (emulators' and the bot's `now`), from FakeClock's
    fixed start."""
    return FakeClock()


@pytest.fixture
def clock_from_now() -> FakeClock:
    """A hand-moved clock that starts at the real time: for emulators whose times the bot
    compares with its own wall clock."""
    return FakeClock(start=time.time())


@pytest.fixture(scope="module")
def module_clock() -> FakeClock:
    """One hand-moved clock per test module, for emulators started once per module."""
    return FakeClock()


# -- the bot under test ----------------------------------------------------------------------


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


@pytest.fixture
def platforms(dss: DSSEmulator) -> dict[str, list[dict[str, Any]]]:
    """The platform instances the bot is configured with: a module overrides this fixture
    to configure others (it is that module's configuration, not a copy)."""
    return {"dss": [{"name": "prod", "url": dss.url}]}


@pytest.fixture
def settings(
    tmp_path: Path,
    slack: SlackEmulator,
    platforms: dict[str, list[dict[str, Any]]],
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


# -- platform emulators: started once per test module, reset for each test -------------------


@pytest.fixture(scope="module")
def astakos_emulator() -> Iterator[AstakosEmulator]:
    with AstakosEmulator() as emulator:
        yield emulator


@pytest.fixture
def astakos(astakos_emulator: AstakosEmulator) -> AstakosEmulator:
    astakos_emulator.reset()
    return astakos_emulator


@pytest.fixture(scope="module")
def mstr_server() -> Iterator[StrategyOneEmulator]:
    with StrategyOneEmulator() as emulator:
        yield emulator


@pytest.fixture
def mstr(mstr_server: StrategyOneEmulator, clock: FakeClock) -> StrategyOneEmulator:
    """Strategy One on the test's clock."""
    mstr_server.reset(clock=clock)
    return mstr_server


@pytest.fixture(scope="module")
def keycloak_emulator(module_clock: FakeClock) -> Iterator[KeycloakEmulator]:
    with KeycloakEmulator(clock=module_clock) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def squonk_emulator(keycloak_emulator: KeycloakEmulator) -> Iterator[SquonkEmulator]:
    with SquonkEmulator(keycloak=keycloak_emulator) as emulator:
        yield emulator


@pytest.fixture
def dm(squonk_emulator: SquonkEmulator, keycloak_emulator: KeycloakEmulator) -> SquonkEmulator:
    """The Squonk2 Data Manager and its Keycloak, both as seeded (on the module's clock)."""
    keycloak_emulator.reset()
    squonk_emulator.reset()
    return squonk_emulator


# -- the demo world: every platform emulator, as `switchboard demo` starts them ------------------


@pytest.fixture(scope="session")
def world_session() -> Iterator[DemoPlatforms]:
    with ExitStack() as stack:
        yield DemoPlatforms.start(stack)


@pytest.fixture
def world(world_session: DemoPlatforms) -> DemoPlatforms:
    """The demo world, reset per test where an emulator can be (Limits cannot: its seed is
    fresh per emulator; tests on it must not depend on what an earlier test did there)."""
    for emulator in world_session.emulators.values():
        reset = getattr(emulator, "reset", None)
        if reset is not None:
            reset()
        emulator.faults.clear()
        emulator.requests.clear()
    return world_session


@pytest.fixture
def demo_platforms(world: DemoPlatforms) -> dict[str, list[dict[str, Any]]]:
    """Every demo platform instance, as `platforms` for a module whose bot has them all."""
    return {key: [dict(i) for i in instances] for key, instances in world.platforms.items()}
