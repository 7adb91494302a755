"""What every approval card says the same way (bot.approvals.with_status): when it expires,
who approved so far towards a quorum, and, once expired, no buttons and a line saying so;
an open card gains no block (digests and lists count them)."""

from __future__ import annotations

from bot.approvals import Approval, Vote
from bot.blocks import limits as blocks
from tests.e2e.helpers import texts


def approval(**changes) -> Approval:
    values = {
        "id": "limits:prod:limit:L-4:firstApproval",
        "platform": "limits",
        "instance": "prod",
        "kind": "limit",
        "target": "L-4:firstApproval",
        "state": "pending",
        "summary": "Limit L-4",
        "payload": {"limit_id": "L-4", "task_key": "firstApproval", "status": "PENDING"},
        "actor": "",
        "action": "",
        "acted_at": "",
        "result": "",
    }
    values.update(changes)
    return Approval(**values)


def buttons(card: list[dict]) -> list[str]:
    return [e["text"]["text"] for blk in card if blk["type"] == "actions" for e in blk["elements"]]


def test_an_open_card_says_when_it_expires_and_who_approved_without_a_block_more():
    plain = blocks.card(approval())
    card = blocks.card(
        approval(
            expires_at="2026-12-02T18:05:00+00:00",
            required=2,
            votes=(Vote("U0ALICE", "2026-11-30T10:42:00+00:00"),),
        )
    )
    assert len(card) == len(plain)
    text = texts(card)
    assert "Expires at <!date^1796234700^{time} on {date_short}|18:05 UTC on 2026-12-02>" in text
    assert "*1 of 2* approvers: <@U0ALICE>, <!date^1796035320^" in text
    assert buttons(card) == ["Approve", "Reject"]
    assert all(blk["block_id"].startswith("appr|limits:prod:limit:L-4:") for blk in card)


def test_a_quorum_with_nobody_yet_says_so_and_a_single_approver_card_says_nothing_of_it():
    assert "*0 of 3* approvers: none yet" in texts(blocks.card(approval(required=3)))
    assert "approvers" not in texts(blocks.card(approval()))


def test_an_expired_card_has_no_buttons_and_says_nothing_was_done():
    card = blocks.card(approval(state="expired", expires_at="2026-12-02T18:05:00+00:00"))
    assert buttons(card) == []
    text = texts(card)
    assert "*Expired* at <!date^1796234700^" in text and "nothing was done" in text
    assert "Expires at" not in text
