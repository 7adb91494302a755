"""Each of the five platforms misbehaving, end to end through the real bot: what the person
sees, which deadline stopped the call, and that the bot keeps serving others. Each test runs
once per platform (`case`); the emulators are started once per module and reset per test."""

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
from emulators.base import Emulator, FakeClock
from emulators.keycloak import KeycloakEmulator
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from emulators.slack_models import Message
from tests.e2e.helpers import link, replies_since, reply_to, texts
from tests.faults.conftest import COOL_DOWN, THRESHOLD, TIMEOUT


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


@pytest.fixture
def platforms(case: Case) -> dict[str, list[dict[str, Any]]]:
    return case.platforms


# -- steps -----------------------------------------------------------------------------------


def new_replies(slack: SlackEmulator, user: str, since: int) -> list[Message]:
    """Replies said after event `since` (never a working note): see tests.e2e.helpers."""
    return replies_since(slack, user, since)


async def ask(
    driver: SlackDriver, slack: SlackEmulator, user: str, slash: str, text: str, *, expect: str
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

    return await driver.wait_for(found, timeout=TIMEOUT * 4 + 5)


async def link_alice(case: Case, driver: SlackDriver, slack: SlackEmulator) -> None:
    outcome = await link(driver, slack, "alice", case.key, case.link_values)
    assert f"Linked {case.where}" in outcome, outcome
    # One good call first, so that what follows fails mid-operation, not at the first call.
    await ask(driver, slack, "alice", case.slash, case.command, expect=case.ok)


# -- the tests -------------------------------------------------------------------------------


async def test_a_hang_is_unavailable_within_the_timeout_while_others_are_served(
    case: Case, driver, slack, bot
):
    await link_alice(case, driver, slack)
    case.emulator.faults.set(hang=True)
    since = slack.last_seq
    await driver.command("alice", case.slash, case.command)
    # Meanwhile bob is answered, before alice's call gives up.
    await reply_to(driver, slack, "bob", "/ops", "links", expect="linked accounts")
    assert not any("unavailable" in (m.text or "") for m in new_replies(slack, "alice", since))

    def unavailable() -> str | None:
        return next(
            (m.text for m in new_replies(slack, "alice", since) if "unavailable" in (m.text or "")),
            None,
        )

    text = await driver.wait_for(unavailable, timeout=TIMEOUT + 5)
    # The bot's own deadline stopped it: the emulator never answers.
    assert f"{case.where} is unavailable: no answer within {TIMEOUT:g} s" in text


async def test_a_500_is_a_clear_message_naming_the_instance(case: Case, driver, slack, bot):
    await link_alice(case, driver, slack)
    case.emulator.faults.set(status=500)
    text = await ask(driver, slack, "alice", case.slash, case.command, expect="unavailable")
    assert f"{case.where} is unavailable:" in text
    assert "Try again in a moment" in text
    assert "Traceback" not in text and "Something went wrong" not in text


async def test_a_refused_connection_is_a_clear_message(case: Case, driver, slack, bot):
    await link_alice(case, driver, slack)
    port = case.emulator.port
    case.emulator.stop()
    try:
        text = await ask(driver, slack, "alice", case.slash, case.command, expect="unavailable")
    finally:
        case.emulator.start(port=port)
    # Told as a refused connection, not as a call that waited out its deadline.
    assert f"{case.where} is unavailable: could not connect (ConnectError)" in text
    assert "no answer within" not in text


async def test_a_slow_body_is_cut_off_at_the_timeout(case: Case, driver, slack, bot):
    await link_alice(case, driver, slack)
    # Headers at once, then the body a byte at a time over 20 s: no single read waits long
    # enough for a read timeout, so only the overall deadline stops it.
    case.emulator.faults.set(slow_body=20.0)
    text = await ask(driver, slack, "alice", case.slash, case.command, expect="unavailable")
    # The overall deadline (the bot's platform_timeout) stopped it, not a read timeout.
    assert f"{case.where} is unavailable: no answer within {TIMEOUT:g} s" in text


async def test_a_credential_refused_mid_operation_asks_to_link_again(
    case: Case, driver, slack, bot
):
    await link_alice(case, driver, slack)
    case.refuse()
    case.emulator.requests.clear()
    text = await ask(driver, slack, "alice", case.slash, case.command, expect="refused")
    assert f"{case.where} refused your credential" in text
    assert f"`/ops link {case.key} {case.instance}`" in text
    if case.key == "mstr":
        # The session was refused: one new login (refused too), no loop.
        assert len(case.emulator.requests_to("POST", "/api/auth/login")) == 1
    if case.key == "squonk":
        keycloak = case.emulator.keycloak  # type: ignore[attr-defined]
        refreshes = [
            r
            for r in keycloak.requests_to("POST", "/token")
            if b"grant_type=refresh_token" in r.body
        ]
        assert len(refreshes) == 1  # the refresh was tried once, and refused


async def test_the_breaker_stops_calling_a_down_instance_then_tries_it_again(
    case: Case, driver, slack, bot, breaker_clock: FakeClock
):
    await link_alice(case, driver, slack)
    case.emulator.faults.set(status=500)
    for _ in range(THRESHOLD + 1):
        text = await ask(driver, slack, "alice", case.slash, case.command, expect="unavailable")
        if "considered down" in text:
            break
    else:
        pytest.fail(f"the breaker never opened; last reply: {text}")
    assert (
        f"{case.where} is unavailable: it is considered down after {THRESHOLD} failures "
        f"in a row, so I am not calling it for the next {COOL_DOWN:g} s"
    ) in text

    # While open: the person is told at once and the instance receives nothing.
    sent = len(case.emulator.requests)
    breaker_clock.advance(COOL_DOWN - 10)
    text = await ask(driver, slack, "alice", case.slash, case.command, expect="considered down")
    assert "for the next 10 s" in text
    assert len(case.emulator.requests) == sent
    # `/ops status` says so too, without calling it.
    await ask(driver, slack, "bob", "/ops", "status", expect="considered down")
    assert len(case.emulator.requests) == sent

    # After the cool-down one trial call goes through; the instance is back, so it closes.
    case.emulator.faults.clear()
    breaker_clock.advance(10)
    await ask(driver, slack, "alice", case.slash, case.command, expect=case.ok)
    assert len(case.emulator.requests) > sent
    await ask(driver, slack, "alice", case.slash, case.command, expect=case.ok)
