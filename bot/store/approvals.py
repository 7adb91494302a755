"""Approval rows: claimed atomically, so one click (of many, or of a retry) does the work."""

from __future__ import annotations

import json
from typing import Any

from bot.store.engine import Db

PENDING, ACTING, DONE, FAILED, GONE = "pending", "acting", "done", "failed", "gone"
# States a click may claim: waiting, or a failure worth retrying (network, 5xx).
CLAIMABLE = (PENDING, FAILED)


def ensure(db: Db, row: dict[str, Any]) -> dict[str, Any]:
    """Insert the approval unless it exists; return it as stored."""
    db.execute(
        "insert into approvals (id, platform, instance, kind, target, state, summary,"
        " payload, actor, action, acted_at, result, created_at)"
        " values (:id, :platform, :instance, :kind, :target, :state, :summary, :payload,"
        " '', '', '', '', :created_at) on conflict do nothing",
        row,
    )
    db.conn.commit()
    return get(db, row["id"])


def get(db: Db, approval_id: str) -> dict[str, Any]:
    rows = list(db.query("select * from approvals where id = ?", [approval_id]))
    if not rows:
        raise KeyError(approval_id)
    return rows[0]


def claim(
    db: Db, approval_id: str, actor: str, action: str, at: str
) -> tuple[bool, dict[str, Any]]:
    """pending|failed -> acting in one UPDATE: exactly one caller gets True."""
    with db.conn:
        cursor = db.execute(
            f"update approvals set state = ?, actor = ?, action = ?, acted_at = ?, result = ''"
            f" where id = ? and state in ({', '.join('?' * len(CLAIMABLE))})",
            [ACTING, actor, action, at, approval_id, *CLAIMABLE],
        )
    return cursor.rowcount == 1, get(db, approval_id)


def finish(db: Db, approval_id: str, state: str, result: str) -> dict[str, Any]:
    with db.conn:
        db.execute(
            "update approvals set state = ?, result = ? where id = ?", [state, result, approval_id]
        )
    return get(db, approval_id)


def release(db: Db, approval_id: str, actor: str) -> dict[str, Any]:
    """Hand a claim back (acting -> pending) when the platform refused the clicker's own
    rights: the card stays open for someone who has them."""
    with db.conn:
        db.execute(
            "update approvals set state = ?, actor = '', action = '', acted_at = '',"
            " result = '' where id = ? and state = ? and actor = ?",
            [PENDING, approval_id, ACTING, actor],
        )
    return get(db, approval_id)


def add_copy(
    db: Db, approval_id: str, channel: str, ts: str, blocks: list[dict[str, Any]], at: str
) -> None:
    add_copies(db, [approval_id], channel, ts, blocks, at)


def add_copies(
    db: Db, approval_ids: list[str], channel: str, ts: str, blocks: list[dict[str, Any]], at: str
) -> None:
    """One message carrying several approvals (a digest): its blocks stored once."""
    with db.conn:
        db.executemany(
            "insert into approval_messages (approval_id, channel, ts)"
            " values (?, ?, ?) on conflict do nothing",
            [(a, channel, ts) for a in approval_ids],
        )
        db.execute(
            "insert into posted (channel, ts, blocks, posted_at) values (?, ?, ?, ?)"
            " on conflict (channel, ts) do update set blocks = excluded.blocks,"
            " posted_at = excluded.posted_at",
            [channel, ts, json.dumps(blocks), at],
        )


def copies(db: Db, approval_id: str) -> list[dict[str, Any]]:
    """Every posted message carrying this approval, with its current blocks."""
    return [
        {"channel": r["channel"], "ts": r["ts"], "blocks": json.loads(r["blocks"])}
        for r in db.query(
            "select p.channel, p.ts, p.blocks from approval_messages m"
            " join posted p on p.channel = m.channel and p.ts = m.ts"
            " where m.approval_id = ?",
            [approval_id],
        )
    ]


def save_blocks(db: Db, channel: str, ts: str, blocks: list[dict[str, Any]]) -> None:
    with db.conn:
        db.execute(
            "update posted set blocks = ? where channel = ? and ts = ?",
            [json.dumps(blocks), channel, ts],
        )


def stale_claims(db: Db, before: str) -> list[dict[str, Any]]:
    """Claims (acting) taken before `before`: left by a process that died mid-click."""
    return list(
        db.query(
            "SELECT * FROM approvals WHERE state = ? AND acted_at < ? ORDER BY acted_at, id",
            [ACTING, before],
        )
    )


def settle_claim(db: Db, claim: dict[str, Any], state: str, result: str) -> bool:
    """acting → done|gone for exactly this claim (same actor and time): False when someone
    else already settled or freed it."""
    with db.conn:
        cursor = db.execute(
            "UPDATE approvals SET state = ?, result = ? WHERE id = ? AND state = ? AND"
            " actor = ? AND acted_at = ?",
            [state, result, claim["id"], ACTING, claim["actor"], claim["acted_at"]],
        )
    return cursor.rowcount == 1


def free_claim(db: Db, claim: dict[str, Any]) -> bool:
    """acting → pending for exactly this claim: the buttons work again."""
    with db.conn:
        cursor = db.execute(
            "UPDATE approvals SET state = ?, actor = '', action = '', acted_at = '', result = ''"
            " WHERE id = ? AND state = ? AND actor = ? AND acted_at = ?",
            [PENDING, claim["id"], ACTING, claim["actor"], claim["acted_at"]],
        )
    return cursor.rowcount == 1


def set_payload(db: Db, approval_id: str, payload: str) -> dict[str, Any]:
    """The card data of an approval still waiting, as the platform says now (a settled or
    claimed one keeps what it was decided on)."""
    with db.conn:
        db.execute(
            f"update approvals set payload = ? where id = ? and state in "
            f"({', '.join('?' * len(CLAIMABLE))})",
            [payload, approval_id, *CLAIMABLE],
        )
    return get(db, approval_id)
