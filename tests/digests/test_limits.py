"""The Atoti Limits digest section and alert sources against the Limits emulator, with the
Approve / Reject cards of `/limits pending` registered as the very same approvals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import errors
from bot.approvals import card_prefix
from bot.digests import limits as digest
from bot.digests.base import DigestContext
from bot.platforms.limits.views import pending_cards as _pending_cards
from emulators.limits import DEMO, LATEST_DATE, LimitsEmulator
from tests.digests.helpers import SECTION_BUDGET, card_ids, context, link, open_for, readable

PENDING = {"L-4", "L-10", "L-16", "L-17", "L-22"}  # Corolla, Commodities, B-003, B-007, Umbrella


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:  # no reset(): a fresh seed per test
        yield emulator


def platforms(limits: LimitsEmulator) -> dict:
    return {"limits": [{"name": "prod", "url": limits.url}]}


@pytest.fixture
async def alice(limits: LimitsEmulator, services_factory) -> DigestContext:
    services = services_factory(platforms(limits))
    credential = await link(
        services,
        "U0ALICE",
        "limits",
        "prod",
        {"username": "alice", "password": DEMO["alice"]["password"]},
    )
    return context(services, credential)


def later(ctx: DigestContext, since_ago: timedelta) -> DigestContext:
    return DigestContext(ctx.services, ctx.credential, ctx.now, ctx.now - since_ago)


async def test_first_digest_shows_the_latest_breaches_and_approval_cards(alice):
    section = await digest.section(alice)
    body = readable(section)
    assert section.title == "Atoti Limits (prod)"
    assert not section.empty
    assert f"New breaches and warnings as of {LATEST_DATE}" in body
    assert f"more: `/limits breaches {LATEST_DATE}`" in body
    assert "*5* limit(s) waiting for approval" in body
    assert "3 more: `/limits pending`" in body
    assert "Approve" in body and "Reject" in body
    assert section.approvals == card_ids(section.blocks)
    assert len(section.approvals) == 2
    assert all(a.startswith("limits:prod:limit:") for a in section.approvals)
    assert len(section.blocks) <= SECTION_BUDGET


async def test_only_breaches_evaluated_since_the_last_digest_are_new(alice, limits):
    quiet = await digest.section(later(alice, timedelta(minutes=5)))
    assert "New breaches" not in readable(quiet)
    limits.record_incident("L-1", as_of=LATEST_DATE, measure_value=52_000)  # Civic, 130 %
    section = await digest.section(later(alice, timedelta(minutes=5)))
    body = readable(section)
    assert "(1 breach(es), 0 warning(s))" in body
    assert "limit `L-1`" in body and "CarName = Civic" in body and "130%" in body


async def test_nothing_new_and_nothing_waiting_is_empty(alice, limits):
    for limit in limits.limits.values():
        if limit.task:
            limit.task, limit.status = None, "APPROVED"
    section = await digest.section(later(alice, timedelta(minutes=5)))
    assert section.empty
    assert section.approvals == []
    assert "No new breach or warning since" in readable(section)


async def test_a_digest_card_is_the_same_approval_as_the_commands(alice, limits, tmp_path: Path):
    section = await digest.section(alice)
    other = open_for(tmp_path / "command", platforms(limits))
    try:
        credential = await link(
            other,
            "U0ALICE",
            "limits",
            "prod",
            {"username": "alice", "password": DEMO["alice"]["password"]},
        )
        items = await other.platforms["limits"].client("prod").pending(credential)
        _, ids = await _pending_cards(other, "prod", items, for_channel=True)
        assert set(section.approvals) <= set(ids)
        for approval in ids:
            mine = await alice.services.approvals.get(approval)
            theirs = await other.approvals.get(approval)
            assert (mine.kind, mine.target, mine.summary, mine.payload) == (
                theirs.kind,
                theirs.target,
                theirs.summary,
                theirs.payload,
            )
    finally:
        await other.aclose()


async def test_a_platform_failure_propagates(alice, limits):
    limits.faults.set(status=503)
    with pytest.raises(errors.PlatformError):
        await digest.section(alice)


async def test_breach_alerts_are_keyed_by_incident(alice, limits):
    first = await digest.ALERTS["limits.breaches"](alice)
    assert first and all(i.key.startswith("limits:prod:incident:INC-") for i in first)
    assert all("Breach" in i.text for i in first)
    again = await digest.ALERTS["limits.breaches"](alice)
    assert [i.key for i in again] == [i.key for i in first]
    new = limits.record_incident("L-1", as_of=LATEST_DATE, measure_value=52_000)
    after = await digest.ALERTS["limits.breaches"](alice)
    assert {i.key for i in after} - {i.key for i in first} == {
        f"limits:prod:incident:{new['incidentId']}"
    }


async def test_pending_alerts_carry_their_cards(alice):
    first = await digest.ALERTS["limits.pending"](alice)
    assert {i.key.split(":")[3] for i in first} == PENDING
    for item in first:
        assert item.approvals == [item.key]
        assert all(str(x["block_id"]).startswith(card_prefix(item.key)) for x in item.blocks)
    second = await digest.ALERTS["limits.pending"](alice)
    assert [i.key for i in second] == [i.key for i in first]


async def test_cards_with_a_retry_still_fit_the_budget(alice):
    # A failed click leaves a card of three blocks (result note and a Retry button).
    first = await digest.section(alice)
    for approval in first.approvals:
        await alice.services.approvals.claim(approval, "U0BOB", "approve")
        await alice.services.approvals.finish(approval, "failed", "Unavailable: timeout")
    section = await digest.section(alice)
    assert len(section.blocks) <= SECTION_BUDGET
    assert "Retry approve" in readable(section)
    assert section.approvals == card_ids(section.blocks)
    assert "more: `/limits pending`" in readable(section)


async def test_status_alerts_tell_down_back_restarted_and_dropped_servers(alice, limits):
    source = digest.ALERTS["limits.status"]
    since = alice.now - timedelta(minutes=5)
    limits.start_time_ms -= 3_600_000  # up for an hour before the previous poll

    def poll(minutes: int) -> DigestContext:
        return DigestContext(
            alice.services,
            alice.credential,
            now=alice.now + timedelta(minutes=minutes),
            since=since,
            subscription=7,
        )

    assert await source(poll(0)) == []  # the baseline: nothing changed
    limits.faults.set(status=503)
    [down] = await source(poll(1))
    assert down.key.startswith("limits:prod:unreachable:")
    assert "Atoti Limits (prod) is unreachable" in down.text
    assert down.key.endswith(f"{(alice.now + timedelta(minutes=1)):%Y-%m-%dT%H}")  # hourly
    limits.faults.clear()
    limits.restart()  # it restarted meanwhile
    back = await source(poll(3))
    texts = [i.text for i in back]
    assert "answers again" in texts[0] and "restarted at <!date^" in texts[1]
    assert back[1].key == f"limits:prod:restarted:{limits.start_time_ms}"
    del limits.servers["risk-eu"]
    [dropped] = await source(poll(4))
    assert "Atoti server *risk-eu* dropped off the connected list" in dropped.text
    assert await source(poll(5)) == []
    limits.servers["risk-eu"] = {"serverName": "risk-eu"}
    [returned] = await source(poll(6))
    assert "Atoti server *risk-eu* is connected again" in returned.text


async def test_a_restart_since_the_last_poll_is_told_even_without_a_baseline(alice, limits):
    limits.restart()  # now: later than a previous poll five minutes ago
    ctx = DigestContext(
        alice.services,
        alice.credential,
        now=alice.now,
        since=alice.now - timedelta(minutes=5),
        subscription=8,
    )
    [restarted] = await digest.ALERTS["limits.status"](ctx)
    assert "restarted" in restarted.text
