"""Votes, quorum claims and expiry in the store, on both engines (`db_target`), with two
stores on one database standing for two replicas: one person's vote counts once however many
times it lands, the claim waits for the quorum and refuses an expired approval in the same
UPDATE, and exactly one caller expires an approval."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from bot.approvals import Approvals
from bot.config import ApprovalRule
from bot.platforms.astakos import kinds as _astakos  # noqa: F401 (registers the kinds)
from bot.store import Store
from bot.store import approvals as rows

START = datetime(2026, 11, 23, 10, 42, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


def two_of_n() -> dict[str, ApprovalRule]:
    return {"astakos.commission": ApprovalRule(required=2, expires_after=3600)}


async def register(approvals: Approvals, target: str = "56"):
    return await approvals.register(
        platform="astakos", instance="prod", kind="commission", target=target, summary="c"
    )


async def test_a_vote_counts_once_and_the_claim_waits_for_the_quorum(db_target):
    store = Store(db_target)
    approvals = Approvals(store=store, now=Clock(), rules=two_of_n())
    try:
        record = await register(approvals)
        assert record.required == 2
        assert record.expires_at == (START + timedelta(hours=1)).isoformat(timespec="seconds")
        # Alice's double click, her Slack retry and a click on another replica: one vote.
        results = await asyncio.gather(
            *(approvals.vote(record.id, "U0ALICE", "accept") for _ in range(8))
        )
        assert sum(counted for counted, _ in results) == 1
        record = await approvals.get(record.id)
        assert [v.user for v in record.votes] == ["U0ALICE"]
        # One vote of two: nobody can claim the approving action yet.
        assert (await approvals.claim(record.id, "U0ALICE", "accept", quorum=True))[0] is False
        # Bob completes it: of many claims exactly one wins.
        assert (await approvals.vote(record.id, "U0BOB", "accept"))[0] is True
        claims = await asyncio.gather(
            *(approvals.claim(record.id, "U0BOB", "accept", quorum=True) for _ in range(8))
        )
        assert sum(ok for ok, _ in claims) == 1
        # Once acting, no vote lands any more.
        assert (await approvals.vote(record.id, "U0CAROL", "accept"))[0] is False
        assert len((await approvals.get(record.id)).votes) == 2
    finally:
        store.close()


async def test_a_rejection_needs_no_quorum(db_target):
    store = Store(db_target)
    approvals = Approvals(store=store, now=Clock(), rules=two_of_n())
    try:
        record = await register(approvals)
        await approvals.vote(record.id, "U0ALICE", "accept")
        claimed, record = await approvals.claim(record.id, "U0BOB", "reject")
        assert claimed and record.state == "acting" and record.action == "reject"
    finally:
        store.close()


async def test_an_expired_approval_takes_no_claim_nor_vote_and_expires_once(db_target):
    clock = Clock()
    first = Store(db_target)
    second = Store(db_target)
    one = Approvals(store=first, now=clock, rules=two_of_n())
    two = Approvals(store=second, now=clock, rules=two_of_n())
    try:
        record = await register(one)
        assert await one.due() == []
        clock.at = START + timedelta(hours=1)  # its expiry, to the second
        assert (await one.claim(record.id, "U0ALICE", "reject"))[0] is False
        assert (await one.vote(record.id, "U0ALICE", "accept"))[0] is False
        assert [a.id for a in await two.due()] == [record.id]
        wins = await asyncio.gather(*(a.expire(record.id) for a in (one, two, one, two)))
        assert sorted(wins) == [False, False, False, True]
        record = await one.get(record.id)
        assert record.state == "expired" and record.expired(clock())
        assert await two.due() == []
    finally:
        first.close()
        second.close()


async def test_an_approval_without_expiry_never_expires(db_target):
    clock = Clock()
    store = Store(db_target)
    approvals = Approvals(
        store=store, now=clock, rules={"astakos.commission": ApprovalRule(expires_after=0)}
    )
    try:
        record = await register(approvals)
        assert record.expires_at == ""
        clock.at = START + timedelta(days=400)
        assert await approvals.due() == []
        assert (await approvals.claim(record.id, "U0ALICE", "accept"))[0] is True
    finally:
        store.close()


def test_votes_are_atomic_across_connections(db_target):
    """Two processes racing the same person's vote, and then the completing claims."""
    first, second = Store(db_target), Store(db_target)
    try:
        first.run_sync(
            rows.ensure,
            {
                "id": "x",
                "platform": "limits",
                "instance": "p",
                "kind": "limit",
                "target": "L-4",
                "state": "pending",
                "summary": "",
                "payload": "{}",
                "created_at": "t",
                "expires_at": "2026-11-24T00:00:00+00:00",
                "required": 2,
            },
        )
        at = "2026-11-23T10:42:00+00:00"
        results: list[bool] = []
        barrier = threading.Barrier(2)

        def race(store: Store, call) -> None:
            barrier.wait()
            results.append(call(store))

        def run(*calls) -> list[bool]:
            results.clear()
            threads = [
                threading.Thread(target=race, args=(s, c))
                for s, c in zip((first, second), calls, strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return sorted(results)

        def vote(user: str):
            return lambda store: store.run_sync(rows.vote, "x", user, "approve", at)[0]

        def claim(user: str):
            return lambda store: store.run_sync(rows.claim, "x", user, "approve", at, quorum=True)[
                0
            ]

        assert run(vote("U1"), vote("U1")) == [False, True]
        assert run(claim("U1"), claim("U2")) == [False, False]  # one vote of two
        assert run(vote("U2"), vote("U2")) == [False, True]
        assert run(claim("U1"), claim("U2")) == [False, True]
        # Past its expiry, the same conditional statements refuse.
        late = "2026-11-24T00:00:00+00:00"
        assert first.run_sync(rows.vote, "x", "U3", "approve", late)[0] is False
    finally:
        first.close()
        second.close()
