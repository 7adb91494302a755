"""Leadership: the scheduler, watches and claim recovery run only while this process leads;
a subscription changed by any replica reaches the leader's scheduler within seconds; the
delivery ledger lets one process at a time compose a run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.leader import Leadership, SingleProcess
from bot.services import Services, open_services
from bot.store import Store, watches
from bot.store import approvals as approval_rows
from bot.store import deliveries as ledger
from bot.store import subscriptions as subs
from emulators.slack import SlackEmulator
from tests.support.bot import make_settings


class Switch(Leadership):
    """A leadership an operator (the test) hands out and takes back, as a lock would."""

    def __init__(self) -> None:
        self.free = True
        self.mine = False
        self.released = 0

    async def acquire(self) -> bool:
        if self.free:
            self.free, self.mine = False, True
        return self.mine

    async def held(self) -> bool:
        return self.mine

    async def release(self) -> None:
        self.released += 1
        self.free, self.mine = True, False

    def take_away(self) -> None:  # another replica got the lock (this one's connection died)
        self.mine = False


async def until(predicate) -> None:
    async with asyncio.timeout(20):
        # The conditions are the bot's state (leading, scheduler running, job count), which
        # signals no event a test could wait on.
        while not predicate():  # noqa: ASYNC110 (polls the bot's state; see above)
            await asyncio.sleep(0.02)


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def services(tmp_path, slack) -> AsyncIterator[Services]:
    settings = make_settings(tmp_path, slack, leader_retry=0.05, sync_interval=0.05)
    services = open_services(settings)
    yield services
    await services.aclose()


def digest(owner: str = "U0ALICE") -> dict:
    return {
        "owner": owner,
        "kind": "digest",
        "platforms": "dss",
        "trigger": "daily 09:00",
        "tz": "UTC",
        "channel": "",
        "skip_empty": 0,
        "created_at": datetime.now(UTC).isoformat(),
    }


async def test_the_scheduler_runs_only_while_this_process_leads(services):
    switch = Switch()
    leader = services.leader
    leader.leadership = switch
    switch.free = False  # someone else leads at first
    leader.start()
    await asyncio.sleep(0.3)
    assert not leader.leading and not services.scheduler.running
    assert not services.watches.leading

    switch.free = True  # the other leader died: this one takes over at its next try
    await until(lambda: leader.leading and services.scheduler.running)
    assert services.watches.leading

    switch.take_away()  # lost (its lock connection dropped): everything stops here
    await until(lambda: not leader.leading and not services.scheduler.running)
    assert not services.watches.leading

    switch.free = True  # the other one went away too: this one leads again
    await until(lambda: leader.leading and services.scheduler.running)
    await leader.stop()
    assert switch.released == 1 and switch.free  # the role is handed back on shutdown
    assert not services.scheduler.running


async def test_a_subscription_added_by_another_replica_reaches_the_leader(services):
    services.leader.leadership = SingleProcess()
    services.leader.start()
    await until(lambda: services.scheduler.running)
    assert services.scheduler.jobs() == 0
    # Another replica shares the database: its command writes the row, nothing else.
    row = await services.store.run(subs.add, digest())
    await until(lambda: services.scheduler.jobs() == 1)
    await services.store.run(subs.set_paused, row["id"], True, "t")
    await until(lambda: services.scheduler.jobs() == 0)
    await services.store.run(subs.set_paused, row["id"], False, "t")
    await until(lambda: services.scheduler.jobs() == 1)
    await services.store.run(subs.remove, row["id"])
    await until(lambda: services.scheduler.jobs() == 0)


def test_a_run_is_composed_by_one_process_and_posted_only_by_the_one_holding_it(db_target):
    store = Store(db_target)
    try:
        row = store.run_sync(subs.add, digest())
        run = "2026-11-29T09:00:00+00:00"
        store.run_sync(ledger.open_run, row["id"], run, "scheduled")
        assert store.run_sync(ledger.claim, row["id"], run, "old", "t1")
        assert not store.run_sync(ledger.claim, row["id"], run, "old", "t1")  # once per owner
        # A new leader takes the run over; the old one can no longer post it.
        assert store.run_sync(ledger.claim, row["id"], run, "new", "t2")
        assert not store.run_sync(ledger.begin_posting, row["id"], run, "C1", "t3", "old")
        assert store.run_sync(ledger.begin_posting, row["id"], run, "C1", "t3", "new")
        assert not store.run_sync(ledger.claim, row["id"], run, "old", "t4")  # posting now
        assert store.run_sync(ledger.get, row["id"], run)["state"] == "posting"
        # A run left composing by a dead process is finished at the next start-up.
        later = "2026-11-30T09:00:00+00:00"
        store.run_sync(ledger.open_run, row["id"], later, "scheduled")
        store.run_sync(ledger.claim, row["id"], later, "dead", "t5")
        assert [r["run_at"] for r in store.run_sync(ledger.unfinished)] == [run, later]
    finally:
        store.close()


def test_watches_start_once_end_once_and_start_again(db_target):
    store = Store(db_target)
    try:
        row = {
            "id": "U1:dss:prod:F1",
            "user_id": "U1",
            "kind": "dss.future",
            "params": {"instance": "prod", "job_id": "F1"},
            "label": "DSS task F1",
            "started_at": "t1",
            "deadline": "t9",
        }
        assert store.run_sync(watches.start, row)
        assert not store.run_sync(watches.start, row)  # already watched
        store.run_sync(watches.ended, row["id"], {"text": "ended: done"}, "t2")
        assert store.run_sync(watches.begin_posting, row["id"], "D1", "t3")
        assert not store.run_sync(watches.begin_posting, row["id"], "D1", "t3")  # once
        assert [w["state"] for w in store.run_sync(watches.live)] == ["posting"]
        store.run_sync(watches.done, row["id"])
        assert store.run_sync(watches.live) == []
        assert store.run_sync(watches.start, {**row, "started_at": "t4"})  # a new round
        again = store.run_sync(watches.get, row["id"])
        assert (again["state"], again["message"], again["params"]["job_id"]) == (
            "watching",
            None,
            "F1",
        )
    finally:
        store.close()


def test_a_stale_claim_is_settled_or_freed_once(db_target):
    store = Store(db_target)
    try:
        for target in ("A", "B", "C"):
            store.run_sync(
                approval_rows.ensure,
                {
                    "id": f"limits:p:limit:{target}",
                    "platform": "limits",
                    "instance": "p",
                    "kind": "limit",
                    "target": target,
                    "state": "pending",
                    "summary": "",
                    "payload": "{}",
                    "created_at": "2026-11-29T08:00:00+00:00",
                },
            )
        store.run_sync(
            approval_rows.claim, "limits:p:limit:A", "U1", "approve", "2026-11-29T09:00:00+00:00"
        )
        store.run_sync(
            approval_rows.claim, "limits:p:limit:B", "U1", "approve", "2026-11-29T09:00:00+00:00"
        )
        store.run_sync(
            approval_rows.claim, "limits:p:limit:C", "U1", "approve", "2026-11-29T09:59:00+00:00"
        )  # recent: not stale yet
        stale = store.run_sync(approval_rows.stale_claims, "2026-11-29T09:30:00+00:00")
        assert [r["target"] for r in stale] == ["A", "B"]
        a, b = stale
        assert store.run_sync(approval_rows.settle_claim, a, "done", "confirmed")
        assert not store.run_sync(approval_rows.settle_claim, a, "done", "again")
        assert store.run_sync(approval_rows.free_claim, b)
        assert not store.run_sync(approval_rows.settle_claim, b, "done", "late")
        states = {
            t: store.run_sync(approval_rows.get, f"limits:p:limit:{t}")["state"] for t in "ABC"
        }
        assert states == {"A": "done", "B": "pending", "C": "acting"}
    finally:
        store.close()
