"""Fixtures every test folder may use: the database engines.

`db_target` runs a test once per engine (the store's contract suite): a SQLite file, then a
PostgreSQL database of its own on the session's throwaway server (tests/postgres.py). An e2e
test runs on PostgreSQL too when parametrized with `engine` (indirect; see ENGINES).

Without PostgreSQL, its tests skip with the reason; under CI (CI=true) they fail instead, so
a CI run cannot pass without having exercised PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines import ENGINES
from tests.postgres import PostgresServer, PostgresUnavailable
from tests.support.logging_state import LoggingState


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
