"""The DSS digest section and alert sources against the DSS emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import emulators.dss
from bot import errors
from bot.digests import dss as digest
from bot.digests.base import DigestContext
from emulators.dss import DEMO, DSSEmulator
from tests.digests.helpers import SECTION_BUDGET, context, link, readable


@pytest.fixture
def dss() -> Iterator[DSSEmulator]:
    with DSSEmulator() as emulator:  # no reset(): a fresh seed per test
        yield emulator


@pytest.fixture
async def alice(dss: DSSEmulator, services_factory) -> DigestContext:
    services = services_factory({"dss": [{"name": "prod", "url": dss.url}]})
    credential = await link(
        services, "U0ALICE", "dss", "prod", {"api_key": DEMO["alice"]["api_key"]}
    )
    return context(services, credential)


@pytest.fixture
async def bob_ctx(dss: DSSEmulator, services_factory) -> DigestContext:
    services = services_factory({"dss": [{"name": "prod", "url": dss.url}]})
    credential = await link(services, "U0BOB", "dss", "prod", {"api_key": DEMO["bob"]["api_key"]})
    return context(services, credential)


async def test_section_shows_running_tasks_longest_first_and_failed_runs(alice):
    section = await digest.section(alice)
    body = readable(section)
    assert section.title == "Dataiku DSS (prod)"
    assert not section.empty
    assert "Running tasks (3), longest first" in body
    # The code env rebuild (2 h) before the scenario (11 min) before the metrics (93 s).
    assert (
        body.index("Rebuild code env py311-ml")
        < body.index("Scenario Nightly build")
        < body.index("Compute metrics on SALES.orders")
    )
    assert "Export CHURN.scores" not in body  # bob's task
    # The churn model's last run failed a day ago; the one before is older than 24 h.
    assert "Failed scenario runs in the last 24 h (1)" in body
    assert "CHURN.RETRAIN_MODEL" in body and "failed at" in body
    assert "`/dss scenarios CHURN`" not in body  # only one: nothing more to list


async def test_failed_runs_count_from_the_previous_digest(alice):
    since = alice.now - timedelta(hours=1)
    section = await digest.section(
        DigestContext(alice.services, alice.credential, alice.now, since)
    )
    body = readable(section)
    assert "Failed scenario runs" not in body
    assert "Running tasks (3)" in body


async def test_nothing_to_tell_is_empty(dss, services_factory):
    services = services_factory({"dss": [{"name": "prod", "url": dss.url}]})
    credential = await link(services, "U0BOB", "dss", "prod", {"api_key": DEMO["bob"]["api_key"]})
    dss.future("Ex9bB0bZ").aborted_at = dss.clock()  # bob's only running task
    now = datetime.now(UTC)
    section = await digest.section(context(services, credential, since=now, now=now))
    assert section.empty
    assert "No task running, and no scenario run failed since" in readable(section)


async def test_many_tasks_stay_within_the_block_budget(alice, dss):
    for n in range(40):
        dss.add_future(owner="alice", display_name=f"Bulk task {n}", duration=None, started_ago=n)
    section = await digest.section(alice)
    assert len(section.blocks) <= SECTION_BUDGET
    body = readable(section)
    assert "Running tasks (43), longest first" in body
    assert "38 more: `/dss futures`" in body


async def test_a_platform_failure_propagates(alice, dss):
    dss.faults.set(status=503)
    with pytest.raises(errors.PlatformError) as raised:
        await digest.section(alice)
    assert isinstance(raised.value, errors.Unavailable)
    assert raised.value.instance == "prod"


async def test_futures_alert_keys_are_stable_and_states_follow_the_task(alice, dss, monkeypatch):
    # This emulator lists running tasks only by default; real DSS may also list ended ones.
    monkeypatch.setattr(emulators.dss, "LIST_FINISHED_FUTURES", True)
    first = await digest.ALERTS["dss.futures"](alice)
    by_key = {item.key: item for item in first}
    assert all(i.subject == i.key and i.kind == "future" for i in first)
    # alice's finished plugin install and her plugin update that failed inside its result
    ended = sorted(k for k, i in by_key.items() if i.state != "running")
    assert ended == ["dss:prod:future:Dn0nE111", "dss:prod:future:Up2dF4il"]
    done, failed = by_key["dss:prod:future:Dn0nE111"], by_key["dss:prod:future:Up2dF4il"]
    assert "Install plugin geo-tools" in done.text
    assert "*done*" in done.text and done.state == "finished" and not done.failed
    assert "Result: installedVersion: 1.4.2" in done.text
    assert (
        "*failed* after 45s. Failed: Plugin snowflake-connector 3.0.1 needs DSS 14.0 or later."
    ) in failed.text
    assert failed.state == "failed" and failed.failed
    # What still runs is a thread's first message too.
    running = by_key["dss:prod:future:Ce4nV8wK"]
    assert running.state == "running" and "is running" in running.text
    dss.future("Ce4nV8wK").aborted_at = dss.clock()
    second = await digest.ALERTS["dss.futures"](alice)
    assert {item.key for item in second} == set(by_key)
    aborted = next(i for i in second if i.key == "dss:prod:future:Ce4nV8wK")
    assert aborted.state == "aborted" and "*aborted*" in aborted.text


async def test_a_thrown_failure_alert_names_its_reason(dss, bob_ctx, monkeypatch):
    monkeypatch.setattr(emulators.dss, "LIST_FINISHED_FUTURES", True)
    items = await digest.ALERTS["dss.futures"](bob_ctx)
    failed = next(i for i in items if i.key == "dss:prod:future:Fa1LdSyn")
    assert "*failed*" in failed.text
    assert "Failed: Connection 'snowflake_prod' refused: authentication failed" in failed.text


async def test_failed_runs_alert_keys_are_stable(alice):
    first = await digest.ALERTS["dss.runs"](alice)
    second = await digest.ALERTS["dss.runs"](alice)
    assert [i.key for i in first] == [i.key for i in second]
    assert len(first) == 1
    assert first[0].key.startswith("dss:prod:run:CHURN.RETRAIN_MODEL:")
    assert "CHURN.RETRAIN_MODEL" in first[0].text
    assert first[0].blocks and not first[0].approvals
