"""The store functions replicas rely on for recovery and leadership, on both engines: watches
(started once, ended once, posted once), the subscriptions change counter, stale approval
claims settled or freed exactly once, and the ledger's compose claim."""

from __future__ import annotations

from bot.store import Store, watches
from bot.store import approvals as approval_rows
from bot.store import deliveries as ledger
from bot.store import subscriptions as subs
from tests.bot.test_store import race

RUN = "2026-11-29T09:00:00+00:00"


def test_a_watch_starts_once_ends_once_and_posts_once(db_target):
    stores = [Store(db_target) for _ in range(3)]
    try:
        row = {
            "id": "U1:future:F1",
            "user_id": "U1",
            "kind": "dss.future",
            "params": {"instance": "prod", "future": "F1"},
            "label": "job F1",
            "started_at": "2026-11-29T09:00:00",
            "deadline": "2026-11-30T09:00:00",
        }
        assert sorted(race(3, lambda i: stores[i].run_sync(watches.start, row))) == [
            False,
            False,
            True,
        ]
        got = stores[0].run_sync(watches.get, "U1:future:F1")
        assert got["params"] == {"instance": "prod", "future": "F1"} and got["message"] is None
        assert stores[1].run_sync(watches.count_live) == 1
        stores[0].run_sync(watches.ended, "U1:future:F1", {"text": "ended"}, "t")
        assert [w["state"] for w in stores[2].run_sync(watches.live)] == [watches.ENDING]
        won = race(
            3, lambda i: stores[i].run_sync(watches.begin_posting, "U1:future:F1", "D1", "t")
        )
        assert sorted(won) == [False, False, True]
        stores[0].run_sync(watches.done, "U1:future:F1")
        assert stores[0].run_sync(watches.live) == []
        assert stores[0].run_sync(watches.start, {**row, "started_at": "later"})  # again
    finally:
        for s in stores:
            s.close()


def test_the_subscriptions_counter_moves_on_every_change(db_target):
    store = Store(db_target)
    try:
        assert store.run_sync(subs.version) == 0
        row = store.run_sync(
            subs.add,
            {
                "owner": "U1",
                "kind": "digest",
                "trigger": "daily",
                "tz": "UTC",
                "channel": "C",
                "skip_empty": 0,
                "created_at": "t",
            },
        )
        store.run_sync(subs.set_paused, row["id"], True, "t")
        store.run_sync(subs.set_paused, row["id"], False, "t")
        store.run_sync(subs.remove, row["id"])
        assert store.run_sync(subs.version) == 4
    finally:
        store.close()


def test_a_stale_claim_is_settled_or_freed_by_exactly_one_replica(db_target):
    stores = [Store(db_target) for _ in range(3)]
    try:
        for approval in ("a", "b"):
            stores[0].run_sync(
                approval_rows.ensure,
                {
                    "id": approval,
                    "platform": "limits",
                    "instance": "p",
                    "kind": "task",
                    "target": "L-4",
                    "state": "pending",
                    "summary": "",
                    "payload": "{}",
                    "created_at": "t",
                },
            )
            stores[0].run_sync(
                approval_rows.claim, approval, "U1", "approve", "2026-11-29T09:00:00+00:00"
            )
        stale = stores[1].run_sync(approval_rows.stale_claims, "2026-11-29T09:05:00+00:00")
        assert [c["id"] for c in stale] == ["a", "b"]
        assert stores[1].run_sync(approval_rows.stale_claims, "2026-11-29T08:00:00+00:00") == []
        claim_a, claim_b = stale
        settled = race(
            3, lambda i: stores[i].run_sync(approval_rows.settle_claim, claim_a, "done", "approved")
        )
        assert sorted(settled) == [False, False, True]
        freed = race(3, lambda i: stores[i].run_sync(approval_rows.free_claim, claim_b))
        assert sorted(freed) == [False, False, True]
        assert stores[0].run_sync(approval_rows.get, "a")["state"] == "done"
        assert stores[0].run_sync(approval_rows.get, "b")["state"] == "pending"
    finally:
        for s in stores:
            s.close()


def test_one_leader_composes_a_run_and_a_new_one_takes_it_over(db_target):
    """Only the leader claims (leadership is exclusive); a new leader takes a run the old one
    left composing, and the old one can then no longer post it."""
    stores = [Store(db_target) for _ in range(2)]
    try:
        stores[0].run_sync(ledger.open_run, 3, RUN, "scheduled")
        assert stores[0].run_sync(ledger.claim, 3, RUN, "old-leader", "t")
        assert not stores[0].run_sync(ledger.claim, 3, RUN, "old-leader", "t")  # once
        assert stores[1].run_sync(ledger.claim, 3, RUN, "new-leader", "t2")
        assert not stores[0].run_sync(ledger.begin_posting, 3, RUN, "C1", "t", "old-leader")
        won = race(
            2, lambda i: stores[i].run_sync(ledger.begin_posting, 3, RUN, "C1", "t", "new-leader")
        )
        assert sorted(won) == [False, True]
    finally:
        for s in stores:
            s.close()
