"""The approval claim is atomic: of many concurrent claimers exactly one wins, on both engines
(two stores on one database stand for two replicas)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from bot.approvals import Approvals, swap_card, tag_card
from bot.store import Store
from bot.store import approvals as rows


def now() -> datetime:
    return datetime(2026, 11, 23, 10, 42, tzinfo=UTC)


async def test_one_claim_wins_and_the_others_see_who(db_target):
    store = Store(db_target)
    approvals = Approvals(store=store, now=now)
    try:
        record = await approvals.register(
            platform="astakos", instance="prod", kind="commission", target="56", summary="c56"
        )
        again = await approvals.register(
            platform="astakos", instance="prod", kind="commission", target="56", summary="c56"
        )
        assert again.id == record.id and again.state == "pending"
        results = await asyncio.gather(
            *(approvals.claim(record.id, f"U{i}", "accept") for i in range(20))
        )
        winners = [r for ok, r in results if ok]
        assert len(winners) == 1
        assert {r.actor for _, r in results} == {winners[0].actor}
        done = await approvals.finish(record.id, "done", "accepted")
        assert (await approvals.claim(record.id, "U99", "reject"))[0] is False
        assert done.state == "done"
    finally:
        store.close()


def test_claim_is_atomic_across_connections(db_target):
    """Two processes (here: two stores on one database) racing: still one winner."""
    first, second = Store(db_target), Store(db_target)
    try:
        first.run_sync(
            rows.ensure,
            {
                "id": "x",
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
        wins: list[bool] = []
        barrier = threading.Barrier(2)

        def race(store: Store, who: str) -> None:
            barrier.wait()
            wins.append(store.run_sync(rows.claim, "x", who, "approve", "t")[0])

        threads = [
            threading.Thread(target=race, args=(s, w)) for s, w in ((first, "U1"), (second, "U2"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(wins) == [False, True]
    finally:
        first.close()
        second.close()


async def test_a_failed_approval_can_be_claimed_again(db_target):
    store = Store(db_target)
    approvals = Approvals(store=store, now=now)
    try:
        record = await approvals.register(
            platform="limits", instance="p", kind="task", target="L-4", summary="L-4"
        )
        assert (await approvals.claim(record.id, "U1", "approve"))[0]
        await approvals.finish(record.id, "failed", "Unavailable: timed out")
        assert (await approvals.claim(record.id, "U2", "approve"))[0]
    finally:
        store.close()


def test_swap_card_replaces_only_that_card():
    a = tag_card(
        "a",
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": "A"}},
            {"type": "actions", "elements": []},
        ],
    )
    other = tag_card("b", [{"type": "section", "text": {"type": "mrkdwn", "text": "B"}}])
    head = [{"type": "header", "text": {"type": "plain_text", "text": "H"}}]
    done = tag_card("a", [{"type": "section", "text": {"type": "mrkdwn", "text": "A done"}}])
    out = swap_card(head + a + other, "a", done)
    assert [b.get("text", {}).get("text") for b in out] == ["H", "A done", "B"]


def test_copies_are_kept_and_re_rendered_and_a_claim_handed_back(db_target):
    store = Store(db_target)
    try:
        store.run_sync(
            rows.ensure,
            {
                "id": "y",
                "platform": "astakos",
                "instance": "p",
                "kind": "commission",
                "target": "56",
                "state": "pending",
                "summary": "",
                "payload": "{}",
                "created_at": "t",
            },
        )
        card = [{"type": "section", "text": {"type": "mrkdwn", "text": "c56"}}]
        for channel in ("C1", "C2", "C1"):  # the same message twice: one copy
            store.run_sync(rows.add_copy, "y", channel, "1.0", card, "t")
        assert sorted(c["channel"] for c in store.run_sync(rows.copies, "y")) == ["C1", "C2"]
        store.run_sync(rows.save_blocks, "C2", "1.0", [{"type": "divider"}])
        blocks = {c["channel"]: c["blocks"] for c in store.run_sync(rows.copies, "y")}
        assert blocks == {"C1": card, "C2": [{"type": "divider"}]}
        assert store.run_sync(rows.claim, "y", "U1", "accept", "t")[0]
        assert store.run_sync(rows.release, "y", "U2")["state"] == "acting"  # not theirs
        freed = store.run_sync(rows.release, "y", "U1")
        assert (freed["state"], freed["actor"]) == ("pending", "")
    finally:
        store.close()
