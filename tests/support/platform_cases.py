"""One platform at a time, as the fault, hostile-answer and literal-text tests drive each of
the five: its emulator (started once per test module, reset per test), how the bot is
configured for it, alice's link values, a read-only command and what its answer says.

A pytest plugin (tests/conftest.py names it): `case` runs a test once per platform. A module
using it configures its bot with `platforms` returning `case.platforms`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from emulators import astakos as astakos_emu
from emulators import dss as dss_emu
from emulators import limits as limits_emu
from emulators import mstr as mstr_emu
from emulators import squonk as squonk_emu
from emulators.base import Emulator
from emulators.keycloak import KeycloakEmulator
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from emulators.slack_models import Message
from tests.e2e.helpers import link, replies_since, texts


@dataclass
class Case:
    """One platform as the tests drive it."""

    key: str
    title: str
    instance: str
    emulator: Emulator  # the server the faults are put on
    platforms: dict[str, list[dict[str, Any]]]
    link_values: dict[str, str]
    slash: str
    command: str  # a read-only command that calls the platform
    ok: str  # text of its successful reply
    refuse: Callable[[], None]  # the platform starts refusing alice's credential

    @property
    def where(self) -> str:
        return f"{self.title} ({self.instance})"


# -- emulators, once per module ------------------------------------------------------------


@pytest.fixture(scope="module")
def dss_server() -> Iterator[dss_emu.DSSEmulator]:
    with dss_emu.DSSEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def mstr_server() -> Iterator[mstr_emu.StrategyOneEmulator]:
    with mstr_emu.StrategyOneEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def keycloak_server() -> Iterator[KeycloakEmulator]:
    with KeycloakEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def squonk_server(keycloak_server: KeycloakEmulator) -> Iterator[squonk_emu.SquonkEmulator]:
    with squonk_emu.SquonkEmulator(keycloak=keycloak_server) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def astakos_server() -> Iterator[astakos_emu.AstakosEmulator]:
    with astakos_emu.AstakosEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def limits_server() -> Iterator[limits_emu.LimitsEmulator]:
    with limits_emu.LimitsEmulator() as emulator:
        yield emulator


def _fresh(emulator: Emulator) -> None:
    reset = getattr(emulator, "reset", None)
    if reset is not None:
        reset()
    emulator.faults.clear()
    emulator.requests.clear()


def _dss(request: pytest.FixtureRequest) -> Case:
    server = request.getfixturevalue("dss_server")
    return Case(
        key="dss",
        title="Dataiku DSS",
        instance="prod",
        emulator=server,
        platforms={"dss": [{"name": "prod", "url": server.url}]},
        link_values={"api_key": dss_emu.DEMO["alice"]["api_key"]},
        slash="/dss",
        command="whoami",
        ok="alice",
        refuse=lambda: server.faults.set(status=401),
    )


def _mstr(request: pytest.FixtureRequest) -> Case:
    server = request.getfixturevalue("mstr_server")
    return Case(
        key="mstr",
        title="Strategy One",
        instance="prod",
        emulator=server,
        platforms={"mstr": [{"name": "prod", "url": server.url}]},
        link_values={k: str(v) for k, v in mstr_emu.DEMO["alice"].items()},
        slash="/mstr",
        command="whoami",
        ok="Alice Martin",
        refuse=lambda: server.faults.set(status=401),
    )


def _squonk(request: pytest.FixtureRequest) -> Case:
    server = request.getfixturevalue("squonk_server")
    keycloak = server.keycloak
    _fresh(keycloak)

    def refuse() -> None:
        # An administrator signs alice out: the DM refuses her access token and Keycloak
        # her refresh token.
        keycloak.revoke_user("alice")
        server.faults.set(status=401)

    return Case(
        key="squonk",
        title="Squonk2 Data Manager",
        instance="main",
        emulator=server,
        platforms={"squonk": [server.instance_settings("main")]},
        link_values={
            "username": squonk_emu.DEMO["alice"]["username"],
            "password": squonk_emu.DEMO["alice"]["password"],
        },
        slash="/squonk",
        command="projects",
        ok="project(s)",
        refuse=refuse,
    )


def _astakos(request: pytest.FixtureRequest) -> Case:
    server = request.getfixturevalue("astakos_server")
    return Case(
        key="astakos",
        title="Synnefo Astakos",
        instance="prod",
        emulator=server,
        platforms={"astakos": [{"name": "prod", "url": f"{server.url}/identity/v2.0"}]},
        link_values={"token": astakos_emu.DEMO["alice"]["token"]},
        slash="/astakos",
        command="whoami",
        ok="UUID",
        refuse=lambda: server.faults.set(status=401),
    )


def _limits(request: pytest.FixtureRequest) -> Case:
    server = request.getfixturevalue("limits_server")
    return Case(
        key="limits",
        title="Atoti Limits",
        instance="prod",
        emulator=server,
        platforms={"limits": [{"name": "prod", "url": server.url}]},
        link_values={"username": "alice", "password": limits_emu.DEMO["alice"]["password"]},
        slash="/limits",
        command="status",
        ok="Up since",
        refuse=lambda: server.faults.set(status=401),
    )


CASES = {"dss": _dss, "mstr": _mstr, "squonk": _squonk, "astakos": _astakos, "limits": _limits}


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    built = CASES[request.param](request)
    _fresh(built.emulator)
    try:
        yield built
    finally:
        built.emulator.faults.clear()


# -- steps -----------------------------------------------------------------------------------


def new_replies(slack: SlackEmulator, user: str, since: int) -> list[Message]:
    """Replies said after event `since` (never a working note): see tests.e2e.helpers."""
    return replies_since(slack, user, since)


async def ask(
    driver: SlackDriver,
    slack: SlackEmulator,
    user: str,
    slash: str,
    text: str,
    *,
    expect: str,
    within: float = 10,
) -> str:
    """Type a command; wait for a new reply containing `expect`; its text."""
    since = slack.last_seq
    response = await driver.command(user, slash, text)
    assert response.status == 200, response.body

    def found() -> str | None:
        for m in new_replies(slack, user, since):
            body = f"{m.text or ''}\n{texts(m.blocks)}"
            if expect in body:
                return body
        return None

    return await driver.wait_for(found, timeout=within)


async def link_alice(case: Case, driver: SlackDriver, slack: SlackEmulator) -> None:
    outcome = await link(driver, slack, "alice", case.key, case.link_values)
    assert f"Linked {case.where}" in outcome, outcome
    # One good call first, so that what follows fails mid-operation, not at the first call.
    await ask(driver, slack, "alice", case.slash, case.command, expect=case.ok)
