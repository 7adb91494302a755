"""The alert threads' store (bot/store/alert_threads.py), on both engines (`db_target`): a
parent's thread begins once, each reply advances it once however often it is recorded, and a
removed subscription takes its threads with it."""

from __future__ import annotations

from bot.store import Store
from bot.store import alert_threads as threads
from bot.store import subscriptions as subs

PARENT = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]


def _subscription(store: Store) -> int:
    row = store.run_sync(
        subs.add,
        {
            "owner": "U1",
            "kind": subs.ALERT,
            "platforms": "",
            "source": "squonk.instances",
            "trigger": "",
            "tz": "UTC",
            "channel": "C1",
            "skip_empty": 0,
            "created_at": "2026-11-29T08:00:00",
        },
    )
    return int(row["id"])


def test_a_thread_begins_once_and_each_reply_counts_once(db_target):
    store = Store(db_target)
    try:
        sub = _subscription(store)
        begun = {
            "subscription_id": sub,
            "subject": "squonk:main:instance:i-1",
            "channel": "C1",
            "ts": "100.000001",
            "text": "i-1 is pending",
            "blocks": PARENT,
            "approvals": [],
            "state": "pending",
            "gone": "deleted",
            "kind": "instance",
            "at": "2026-11-29T09:00:00",
        }
        store.run_sync(threads.started, begun)
        store.run_sync(threads.started, {**begun, "ts": "200.000002"})  # a second recording
        found = store.run_sync(threads.get, sub, "squonk:main:instance:i-1")
        assert found is not None
        assert (found["ts"], found["state"], found["shown"], found["facts"], found["open"]) == (
            "100.000001",
            "pending",
            "pending",
            0,
            1,
        )
        assert found["blocks"] == PARENT and found["approvals"] == []
        assert store.run_sync(threads.open_subjects, sub) == {"squonk:main:instance:i-1"}
        assert [r["subject"] for r in store.run_sync(threads.following, sub)] == [
            "squonk:main:instance:i-1"
        ]

        # Reply 1 recorded twice (delivered, then found delivered again): counted once.
        for _ in range(2):
            store.run_sync(
                threads.advanced,
                sub,
                "squonk:main:instance:i-1",
                fact=1,
                state="running",
                gone="deleted",
                open_=True,
                at="t",
            )
        found = store.run_sync(threads.get, sub, "squonk:main:instance:i-1")
        assert found is not None and (found["state"], found["facts"]) == ("running", 1)
        assert store.run_sync(threads.open_states, sub) == {"squonk:main:instance:i-1": "running"}
        # The parent does not show it yet: it is the one left to update.
        assert [r["subject"] for r in store.run_sync(threads.unshown, sub)] == [
            "squonk:main:instance:i-1"
        ]
        store.run_sync(threads.shown, sub, "squonk:main:instance:i-1", "running", PARENT)
        assert store.run_sync(threads.unshown, sub) == []

        # Its absence told: closed, no longer followed.
        store.run_sync(
            threads.advanced,
            sub,
            "squonk:main:instance:i-1",
            fact=2,
            state="deleted",
            gone=None,
            open_=False,
            at="t",
        )
        assert store.run_sync(threads.following, sub) == []
        assert store.run_sync(threads.open_subjects, sub) == set()

        assert store.run_sync(subs.remove, sub) == 1
        assert store.run_sync(threads.get, sub, "squonk:main:instance:i-1") is None
    finally:
        store.close()
