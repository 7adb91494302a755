"""Approval rows: claimed atomically, so one click (of many, or of a retry) does the work; votes
counted atomically, so one person counts once towards a quorum; expired exactly once."""

from __future__ import annotations

import json
from typing import Any

from bot.store.engine import Db

PENDING, ACTING, DONE, FAILED, GONE = "pending", "acting", "done", "failed", "gone"
EXPIRED = "expired"  # past its expiry with nothing done: no click acts on it any more
# States a click may claim: waiting, or a failure worth retrying (network, 5xx).
CLAIMABLE = (PENDING, FAILED)
_OPEN = f"state in ({', '.join(repr(s) for s in CLAIMABLE)})"
# Not past its expiry at the time given as `:at` ('' never expires). Times are ISO 8601 in UTC
# with the same shape (`isoformat(timespec="seconds")`), so text order is time order.
_UNEXPIRED = "(expires_at = '' or expires_at > :at)"


def ensure(db: Db, row: dict[str, Any]) -> dict[str, Any]:
    """Insert the approval unless it exists; return it as stored."""
    db.execute(
        "insert into approvals (id, platform, instance, kind, target, state, summary,"
        " payload, actor, action, acted_at, result, created_at, expires_at, required)"
        " values (:id, :platform, :instance, :kind, :target, :state, :summary, :payload,"
        " '', '', '', '', :created_at, :expires_at, :required)"
        " on conflict do nothing",
        {"expires_at": "", "required": 1, **row},
    )
    db.conn.commit()
    return get(db, row["id"])


def get(db: Db, approval_id: str) -> dict[str, Any]:
    """The approval row, with `votes`: its approving votes, the earliest first."""
    rows = list(db.query("select * from approvals where id = ?", [approval_id]))
    if not rows:
        raise KeyError(approval_id)
    row = rows[0]
    row["votes"] = list(
        db.query(
            "select user_id, verb, at from approval_votes where approval_id = ?"
            " order by at, user_id",
            [approval_id],
        )
    )
    return row


def claim(
    db: Db, approval_id: str, actor: str, action: str, at: str, *, quorum: bool = False
) -> tuple[bool, dict[str, Any]]:
    """pending|failed -> acting in one UPDATE: exactly one caller gets True. Never once the
    approval has expired (at `at`), nor, with `quorum`, before it holds as many votes as it
    requires: both are conditions of the same UPDATE, so no click slips between a check
    and the claim."""
    need = (
        " and (select count(*) from approval_votes v where v.approval_id = approvals.id)"
        " >= approvals.required"
        if quorum
        else ""
    )
    with db.conn:
        cursor = db.execute(
            "update approvals set state = :acting, actor = :actor, action = :action,"
            f" acted_at = :at, result = '' where id = :id and {_OPEN} and {_UNEXPIRED}{need}",
            {"acting": ACTING, "actor": actor, "action": action, "at": at, "id": approval_id},
        )
    return cursor.rowcount == 1, get(db, approval_id)


def vote(db: Db, approval_id: str, user: str, verb: str, at: str) -> tuple[bool, dict[str, Any]]:
    """Count `user`'s approving vote, once: True when this call added it (False: they had
    voted already, or the approval no longer takes votes: settled, being acted on, expired).
    One INSERT whose unique key refuses a second vote of the same person, whatever the
    replica or the retry."""
    with db.conn:
        cursor = db.execute(
            "insert into approval_votes (approval_id, user_id, verb, at)"
            " select :id, :user, :verb, :at where exists (select 1 from approvals"
            f" where id = :id and {_OPEN} and {_UNEXPIRED}) on conflict do nothing",
            {"id": approval_id, "user": user, "verb": verb, "at": at},
        )
    return cursor.rowcount == 1, get(db, approval_id)


def unvote(db: Db, approval_id: str, user: str) -> None:
    """Take back a vote the platform refused to honour (the clicker's own rights)."""
    with db.conn:
        db.execute(
            "delete from approval_votes where approval_id = ? and user_id = ?", [approval_id, user]
        )


def due(db: Db, at: str) -> list[dict[str, Any]]:
    """Open approvals past their expiry at `at`, the earliest first."""
    return list(
        db.query(
            f"select * from approvals where {_OPEN} and expires_at <> '' and expires_at <= :at"
            " order by expires_at, id",
            {"at": at},
        )
    )


def expire(db: Db, approval_id: str, at: str) -> bool:
    """pending|failed -> expired, once its time has come: True for exactly one caller (the
    one that then redraws its copies), across replicas."""
    with db.conn:
        cursor = db.execute(
            f"update approvals set state = :expired where id = :id and {_OPEN}"
            " and expires_at <> '' and expires_at <= :at",
            {"expired": EXPIRED, "id": approval_id, "at": at},
        )
    return cursor.rowcount == 1


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
