"""The circuit breaker's state machine on its own, then `PlatformHTTP` against a real emulator:
the overall deadline on a dribbled body, what counts as "down", fail-fast while open, and the
single trial call after the cool-down."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from bot import errors
from bot.platforms import breaker as br
from bot.platforms.breaker import BreakerPolicy, CircuitBreaker, CircuitOpen
from bot.platforms.http import PlatformHTTP
from emulators.base import FakeClock
from emulators.dss import DEMO, DSSEmulator

PATH = "/dip/publicapi/auth/info"
KEY = (DEMO["alice"]["api_key"], "")  # Basic, key as username


def breaker(clock: FakeClock, threshold: int = 3, cooldown: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker(BreakerPolicy(threshold=threshold, cooldown=cooldown, clock=clock))


# -- the state machine -----------------------------------------------------------------------


def test_it_opens_after_the_threshold_of_failures_in_a_row(clock):
    b = breaker(clock)
    for _ in range(2):
        assert b.acquire() is False
        b.failed(False)
    assert b.state == br.CLOSED
    b.acquire()
    b.failed(False)
    assert b.state == br.OPEN
    clock.advance(12.5)
    with pytest.raises(CircuitOpen) as refused:
        b.acquire()
    assert refused.value.failures == 3
    assert refused.value.retry_in == pytest.approx(17.5)
    assert refused.value.retry_in_whole == 18
    assert not refused.value.trial_running


def test_an_answer_in_between_resets_the_count(clock):
    b = breaker(clock)
    for _ in range(5):
        b.failed(b.acquire())
        b.failed(b.acquire())
        b.succeeded(b.acquire())  # a 2xx or a 4xx: the instance is there
    assert b.state == br.CLOSED and b.failures == 0


def test_after_the_cool_down_one_trial_goes_out_and_its_success_closes(clock):
    b = breaker(clock, threshold=1)
    b.failed(b.acquire())
    clock.advance(30)
    assert b.state == br.HALF_OPEN
    assert b.acquire() is True  # the trial
    with pytest.raises(CircuitOpen) as meanwhile:
        b.acquire()
    assert meanwhile.value.trial_running
    b.succeeded(True)
    assert b.state == br.CLOSED
    assert b.acquire() is False


def test_a_failed_trial_opens_it_for_another_cool_down(clock):
    b = breaker(clock, threshold=2)
    b.failed(b.acquire())
    b.failed(b.acquire())
    clock.advance(31)
    b.failed(b.acquire())
    assert b.state == br.OPEN and b.opened_count == 2
    clock.advance(29)
    with pytest.raises(CircuitOpen) as refused:
        b.acquire()
    assert refused.value.retry_in == pytest.approx(1)
    assert refused.value.failures == 3


def test_a_cancelled_trial_lets_the_next_call_be_the_trial(clock):
    b = breaker(clock, threshold=1)
    b.failed(b.acquire())
    clock.advance(30)
    assert b.acquire() is True
    b.released(True)
    assert b.acquire() is True


def test_late_failures_of_calls_already_in_flight_do_not_restart_the_cool_down(clock):
    b = breaker(clock, threshold=1)
    b.failed(b.acquire())
    clock.advance(20)
    b.failed(False)  # started before it opened, failed after
    clock.advance(10)
    assert b.state == br.HALF_OPEN


def test_a_policy_needs_a_positive_threshold():
    with pytest.raises(ValueError):
        BreakerPolicy(threshold=0)
    with pytest.raises(ValueError):
        BreakerPolicy(cooldown=-1)


def test_new_clients_get_the_default_policy(clock):
    policy = BreakerPolicy(threshold=7, cooldown=5, clock=clock)
    previous = br.set_default_policy(policy)
    try:
        http = PlatformHTTP(platform="dss", instance="prod", base_url="http://127.0.0.1:9")
        assert http.breaker.policy is policy
    finally:
        br.set_default_policy(previous)
    assert br.default_policy() is previous
    assert previous.threshold == br.FAILURE_THRESHOLD and previous.cooldown == br.COOL_DOWN_S


# -- PlatformHTTP against an emulator --------------------------------------------------------


@pytest.fixture(scope="module")
def dss_server() -> Iterator[DSSEmulator]:
    with DSSEmulator() as emulator:
        yield emulator


@pytest.fixture
def dss(dss_server: DSSEmulator) -> DSSEmulator:
    dss_server.faults.clear()
    dss_server.requests.clear()
    return dss_server


@pytest.fixture
async def http(dss: DSSEmulator, clock: FakeClock) -> AsyncIterator[PlatformHTTP]:
    client = PlatformHTTP(
        platform="dss", instance="prod", base_url=dss.url, timeout=0.4, breaker=breaker(clock)
    )
    try:
        yield client
    finally:
        dss.faults.clear()
        await client.aclose()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_dribbled_body_is_cut_off_at_the_timeout(dss, http):
    dss.faults.set(slow_body=10.0)  # each byte well within the per-read timeout
    with pytest.raises(errors.Unavailable) as caught:
        await http.request("GET", PATH, auth=KEY)
    # The overall deadline (0.4 s) stopped it, though no single read waited that long.
    assert caught.value.detail == f"no answer within 0.4 s (GET {PATH})"
    assert http.breaker.failures == 1


async def test_a_hang_counts_as_down(dss, http):
    dss.faults.set(hang=True)
    with pytest.raises(errors.Unavailable, match=r"no answer within 0\.4 s"):
        await http.request("GET", PATH, auth=KEY)
    assert http.breaker.failures == 1


async def test_a_refused_connection_counts_as_down(clock):
    http = PlatformHTTP(
        platform="dss",
        instance="prod",
        base_url=f"http://127.0.0.1:{closed_port()}",
        breaker=breaker(clock),
    )
    try:
        for _ in range(3):
            with pytest.raises(errors.Unavailable, match="could not connect"):
                await http.request("GET", PATH, auth=KEY)
        with pytest.raises(errors.Unavailable, match="considered down after 3 failures"):
            await http.request("GET", PATH, auth=KEY)
    finally:
        await http.aclose()


async def test_4xx_answers_never_open_it(dss, http):
    dss.faults.set(status=404)
    for _ in range(6):
        with pytest.raises(errors.NotFound):
            await http.request("GET", PATH, auth=KEY)
    assert http.breaker.state == br.CLOSED
    assert len(dss.requests) == 6


async def test_5xx_open_it_then_nothing_is_sent_until_the_cool_down(dss, http, clock):
    dss.faults.set(status=503)
    for _ in range(3):
        with pytest.raises(errors.Unavailable) as caught:
            await http.request("GET", PATH, auth=KEY)
        assert caught.value.status == 503
    for _ in range(5):
        with pytest.raises(errors.Unavailable) as caught:
            await http.request("GET", PATH, auth=KEY)
        assert caught.value.detail == (
            "it is considered down after 3 failures in a row, so I "
            "am not calling it for the next 30 s"
        )
        assert caught.value.status is None
    assert len(dss.requests) == 3

    dss.faults.clear()
    clock.advance(30)
    await http.request("GET", PATH, auth=KEY)
    assert len(dss.requests) == 4
    assert http.breaker.state == br.CLOSED


async def test_calls_during_the_trial_wait_for_its_outcome(dss, http, clock):
    dss.faults.set(status=500)
    for _ in range(3):
        with pytest.raises(errors.Unavailable):
            await http.request("GET", PATH, auth=KEY)
    clock.advance(30)
    dss.faults.set(latency=0.2, remaining=1)  # the trial is slow, and succeeds
    answers = await asyncio.gather(*(http.request("GET", PATH, auth=KEY) for _ in range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert http.breaker.state == br.CLOSED


async def test_calls_during_a_failing_trial_fail_fast_with_a_new_cool_down(dss, http, clock):
    dss.faults.set(status=500)
    for _ in range(3):
        with pytest.raises(errors.Unavailable):
            await http.request("GET", PATH, auth=KEY)
    clock.advance(30)
    dss.faults.set(hang=True)  # the trial times out
    results = await asyncio.gather(
        *(http.request("GET", PATH, auth=KEY) for _ in range(3)), return_exceptions=True
    )
    details = sorted(str(r) for r in results)
    assert "no answer within 0.4 s" in details[2]
    assert all("not calling it for the next 30 s" in d for d in details[:2])
    assert len(dss.requests) == 4  # three that opened it, one trial


async def test_a_cancelled_trial_does_not_leave_it_stuck(dss, http, clock):
    dss.faults.set(status=500)
    for _ in range(3):
        with pytest.raises(errors.Unavailable):
            await http.request("GET", PATH, auth=KEY)
    clock.advance(30)
    dss.faults.set(hang=True)
    trial = asyncio.create_task(http.request("GET", PATH, auth=KEY))
    await asyncio.sleep(0.05)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    dss.faults.clear()
    await http.request("GET", PATH, auth=KEY)
    assert http.breaker.state == br.CLOSED


def test_the_breaker_is_configured_from_the_settings(tmp_path):
    from bot.config import Settings
    from bot.platforms import breaker as breaker_module
    from bot.services import open_services

    previous = breaker_module.default_policy()
    services = open_services(
        Settings(_env_file=None, data_dir=tmp_path, breaker_threshold=2, breaker_cooldown=7.5)
    )
    try:
        policy = breaker_module.default_policy()
        assert (policy.threshold, policy.cooldown) == (2, 7.5)
    finally:
        services.store.close()
        breaker_module.set_default_policy(previous)


async def test_requests_in_flight_per_instance_are_bounded(dss):
    """Nine concurrent calls to a hung instance: only the limit's worth reach it."""
    from bot.platforms import http as http_module

    previous = http_module.set_max_in_flight(3)
    client = PlatformHTTP(
        platform="dss",
        instance="prod",
        base_url=dss.url,
        timeout=2,
        breaker=CircuitBreaker(BreakerPolicy(threshold=100)),
    )
    http_module.set_max_in_flight(previous)
    dss.requests.clear()
    dss.faults.set(hang=True)
    calls = [asyncio.create_task(client.request("GET", "/public/api/auth/info")) for _ in range(9)]
    try:
        for _ in range(200):  # until the first three have arrived
            if len(dss.requests) >= 3:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # room for any (wrong) extra call to arrive
        assert len(dss.requests) == 3
    finally:
        dss.faults.clear()
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        await client.aclose()
