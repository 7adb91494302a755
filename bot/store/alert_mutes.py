"""What people silenced on alert subscriptions: snoozes (with an end) and mutes (without).

A row is (subscription, scope, target): scope `item` silences one item (target: its subject),
scope `kind` every item of a kind (target: the kind). `until` is the snooze's end as UTC ISO
text, which sorts as time does; empty is a mute. Expired snoozes are left out of every read
(and deleted when the list is read), so an ended snooze shows nowhere.

A fact about an item that arrives while it is silenced is remembered as heard (a `seen` key:
subscription, subject, the fact), so it is not told when the silence ends either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.engine import Db

ITEM, KIND = "item", "kind"
# A snooze is live while its end is after now; a mute (no end) always is.
_LIVE = "(until = '' or until > ?)"


def put(
    db: Db, sub_id: int, scope: str, target: str, until: str, by: str, at: str
) -> dict[str, Any]:
    """Silence `target` for the subscription; replaces what was set on the same target (the
    latest click wins: a snooze after a mute shortens it, a mute after a snooze ends it)."""
    with db.conn:
        db.execute(
            "insert into alert_mutes (subscription_id, scope, target, until, by_user, at)"
            " values (?, ?, ?, ?, ?, ?) on conflict (subscription_id, scope, target) do update"
            " set until = excluded.until, by_user = excluded.by_user, at = excluded.at",
            [sub_id, scope, target, until, by, at],
        )
    rows = list(
        db.query(
            "select * from alert_mutes where subscription_id = ? and scope = ? and target = ?",
            [sub_id, scope, target],
        )
    )
    return rows[0]


def matches(db: Db, sub_id: int, subject: str, kind: str, now: str) -> bool:
    """Is an item with this subject and kind silenced for the subscription at `now`?"""
    rows = db.query(
        f"select 1 as one from alert_mutes where subscription_id = ? and {_LIVE} and"
        " ((scope = ? and target = ?) or (scope = ? and target = ? and target <> ''))",
        [sub_id, now, ITEM, subject, KIND, kind],
    )
    return next(iter(rows), None) is not None


def hushed(db: Db, sub_id: int, subject: str, kind: str, fact: str, now: str) -> bool:
    """Is this fact not to be told: silenced now (then remembered as heard, in the `seen`
    keys), or heard during an earlier silence? One store call per item and poll."""
    key = f"silenced:{sub_id}:{fact}"
    if matches(db, sub_id, subject, kind, now):
        with db.conn:
            db.execute(
                "insert into seen (key, seen_at) values (?, ?) on conflict do nothing", [key, now]
            )
        return True
    return next(iter(db.query("select 1 as one from seen where key = ?", [key])), None) is not None


def live(db: Db, sub_ids: Sequence[int], now: str) -> dict[int, list[dict[str, Any]]]:
    """The subscriptions' silences in force at `now`, oldest first; forgets ended snoozes."""
    if not sub_ids:
        return {}
    with db.conn:
        db.execute("delete from alert_mutes where until <> '' and until <= ?", [now])
    marks = ", ".join("?" for _ in sub_ids)
    out: dict[int, list[dict[str, Any]]] = {}
    for row in db.query(
        f"select * from alert_mutes where subscription_id in ({marks}) and {_LIVE}"
        " order by subscription_id, at, id",
        [*sub_ids, now],
    ):
        out.setdefault(int(row["subscription_id"]), []).append(row)
    return out


def lift(db: Db, sub_id: int, ids: Sequence[int] | None = None) -> int:
    """Remove these silences of the subscription (None: all of them); how many went."""
    with db.conn:
        if ids is None:
            return db.execute(
                "delete from alert_mutes where subscription_id = ?", [sub_id]
            ).rowcount
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        return db.execute(
            f"delete from alert_mutes where subscription_id = ? and id in ({marks})",
            [sub_id, *ids],
        ).rowcount
