"""The snooze and mute store (bot.store.alert_mutes), on both engines: what a silence covers
(its item, or every item of its kind, for its subscription only), snoozes ending by time and
then showing nowhere, the latest click on a target replacing the earlier one, lifting one or
all, and a removed subscription taking its silences with it."""

from __future__ import annotations

import pytest

from bot.store import Store
from bot.store import alert_mutes as mutes
from bot.store import subscriptions as subs

T0 = "2026-11-30T10:00:00+00:00"
T1 = "2026-11-30T11:00:00+00:00"  # one hour later
T2 = "2026-11-30T12:00:00+00:00"


@pytest.fixture
def store(db_target):
    store = Store(db_target)
    try:
        yield store
    finally:
        store.close()


def alert(store: Store, owner: str = "U0ALICE") -> int:
    row = store.run_sync(
        subs.add,
        {
            "owner": owner,
            "kind": subs.ALERT,
            "source": "limits.breaches",
            "trigger": "",
            "tz": "UTC",
            "channel": "",
            "skip_empty": 0,
            "created_at": T0,
        },
    )
    return int(row["id"])


def test_a_snooze_covers_its_item_until_it_ends(store):
    one, other = alert(store), alert(store)
    store.run_sync(mutes.put, one, mutes.ITEM, "limits:risk:incident:7", T1, "U0BOB", T0)
    assert store.run_sync(mutes.matches, one, "limits:risk:incident:7", "breach", T0)
    # Not another item, not the same item on another subscription, not after its end.
    assert not store.run_sync(mutes.matches, one, "limits:risk:incident:8", "breach", T0)
    assert not store.run_sync(mutes.matches, other, "limits:risk:incident:7", "breach", T0)
    assert not store.run_sync(mutes.matches, one, "limits:risk:incident:7", "breach", T1)
    # Ended: listed nowhere, and forgotten.
    assert store.run_sync(mutes.live, [one], T0)[one][0]["until"] == T1
    assert store.run_sync(mutes.live, [one, other], T2) == {}
    assert store.run_sync(lambda db: list(db.query("select * from alert_mutes"))) == []


def test_a_kind_mute_covers_every_item_of_that_kind_until_lifted(store):
    one = alert(store)
    store.run_sync(mutes.put, one, mutes.KIND, "breach", "", "U0ALICE", T0)
    far = "2099-01-01T00:00:00+00:00"
    assert store.run_sync(mutes.matches, one, "limits:risk:incident:1", "breach", far)
    assert store.run_sync(mutes.matches, one, "limits:risk:incident:2", "breach", far)
    assert not store.run_sync(mutes.matches, one, "limits:risk:limit:3", "limit", far)
    # An item with no kind is not caught by a kind mute of "".
    store.run_sync(mutes.put, one, mutes.KIND, "", "", "U0ALICE", T0)
    assert not store.run_sync(mutes.matches, one, "limits:risk:x", "", far)
    assert store.run_sync(mutes.lift, one, None) == 2
    assert not store.run_sync(mutes.matches, one, "limits:risk:incident:1", "breach", far)


def test_the_latest_click_on_a_target_replaces_the_earlier_one(store):
    one = alert(store)
    store.run_sync(mutes.put, one, mutes.ITEM, "x", "", "U0ALICE", T0)  # muted
    snoozed = store.run_sync(mutes.put, one, mutes.ITEM, "x", T1, "U0BOB", T0)  # then snoozed
    assert (snoozed["until"], snoozed["by_user"]) == (T1, "U0BOB")
    [only] = store.run_sync(mutes.live, [one], T0)[one]
    assert only["id"] == snoozed["id"]
    assert not store.run_sync(mutes.matches, one, "x", "", T2)  # the snooze ended it


def test_lift_by_id_touches_only_that_subscription(store):
    one, other = alert(store), alert(store, owner="U0BOB")
    a = store.run_sync(mutes.put, one, mutes.ITEM, "a", "", "U0ALICE", T0)
    b = store.run_sync(mutes.put, one, mutes.KIND, "breach", "", "U0ALICE", T1)
    c = store.run_sync(mutes.put, other, mutes.ITEM, "a", "", "U0BOB", T0)
    assert store.run_sync(mutes.lift, other, [a["id"]]) == 0  # not its silence
    assert store.run_sync(mutes.lift, one, [a["id"]]) == 1
    assert store.run_sync(mutes.lift, one, []) == 0
    live = store.run_sync(mutes.live, [one, other], T0)
    assert [m["id"] for m in live[one]] == [b["id"]]
    assert [m["id"] for m in live[other]] == [c["id"]]


def test_removing_the_subscription_removes_its_silences(store):
    one, other = alert(store), alert(store)
    store.run_sync(mutes.put, one, mutes.ITEM, "a", "", "U0ALICE", T0)
    store.run_sync(mutes.put, other, mutes.ITEM, "a", "", "U0ALICE", T0)
    store.run_sync(subs.remove, one)
    assert list(store.run_sync(mutes.live, [one, other], T0)) == [other]


def test_a_fact_heard_during_a_silence_stays_untold_after_it(store):
    one, other = alert(store), alert(store)
    store.run_sync(mutes.put, one, mutes.ITEM, "job:1", T1, "U0ALICE", T0)
    # During the snooze: hushed, and remembered.
    assert store.run_sync(mutes.hushed, one, "job:1", "job", "job:1 failed", T0)
    assert not store.run_sync(mutes.hushed, other, "job:1", "job", "job:1 failed", T0)
    assert not store.run_sync(mutes.hushed, one, "job:2", "job", "job:2 failed", T0)
    # After it: the same fact is still not told; a new one is.
    assert store.run_sync(mutes.hushed, one, "job:1", "job", "job:1 failed", T2)
    assert not store.run_sync(mutes.hushed, one, "job:1", "job", "job:1 done", T2)
    assert not store.run_sync(mutes.hushed, other, "job:1", "job", "job:1 failed", T2)
