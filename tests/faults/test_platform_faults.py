"""Each of the five platforms misbehaving, end to end through the real bot: what the person
sees, which deadline stopped the call, and that the bot keeps serving others. Each test runs
once per platform (`case`, tests/support/platform_cases.py); the emulators are started once
per module and reset per test."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.base import FakeClock
from tests.e2e.helpers import reply_to
from tests.faults.conftest import COOL_DOWN, THRESHOLD, TIMEOUT
from tests.support.platform_cases import Case, ask, link_alice, new_replies


@pytest.fixture
def platforms(case: Case) -> dict[str, list[dict[str, Any]]]:
    return case.platforms  # the bot is configured with the one platform under test


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
