"""The pure parts of the one approval flow: button values old and new parse alike, a button
whose kind or verb is unknown is out of date, the "already" text uses the kind's words, and
the reason modal is one Slack accepts (checked with slack_sdk.models, as Slack would)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from slack_sdk.models.views import View

from bot import approval_kinds, errors
from bot.approval_flow import already, kind_of
from bot.approval_kinds import ApprovalRef
from bot.approvals import Approval, approval_id, swap_card, tag_card
from bot.blocks import approvals as blocks
from bot.blocks import common as b
from bot.interactions import STALE_BUTTON, ref
from bot.platforms.astakos import kinds as astakos_kinds
from bot.platforms.limits import kinds as limits_kinds


def approval(**over: object) -> Approval:
    values: dict[str, object] = {
        "id": "limits:prod:limit:L-4:firstApproval",
        "platform": "limits",
        "instance": "prod",
        "kind": "limit",
        "target": "L-4:firstApproval",
        "state": "done",
        "summary": "Limit L-4",
        "payload": {"limit_id": "L-4", "task_key": "firstApproval"},
        "actor": "U0ALICE",
        "action": "approve",
        "acted_at": "2026-11-29T18:05:00+00:00",
        "result": "approved; limit L-4 is now approved",
    }
    values.update(over)
    return Approval(**values)  # type: ignore[arg-type]  # test data of the right types


def test_both_platforms_kinds_are_registered_with_their_released_action_ids():
    assert {(k.platform, k.key) for k in approval_kinds.registered()} >= {
        ("astakos", "commission"),
        ("astakos", "application"),
        ("astakos", "membership"),
        ("limits", "limit"),
    }
    # Cards already posted in channels carry these: they must keep working.
    assert {"astakos_act", "astakos_ask_reason", "limits_approve", "limits_reject"} <= set(
        approval_kinds.action_ids()
    )
    assert any(v.reason for v in astakos_kinds.COMMISSION.verbs)
    assert any(v.reason for v in limits_kinds.LIMIT.verbs)


def test_button_values_of_released_cards_still_parse():
    limits_button = json.dumps({"approval": "limits:prod:limit:L-4:firstApproval"})
    astakos_button = json.dumps(
        {"approval": "astakos:prod:commission:56", "action": "accept", "view": "", "arg": ""}
    )
    assert ApprovalRef.model_validate_json(limits_button).action is None
    assert ApprovalRef.model_validate_json(astakos_button).action == "accept"
    # A Limits button names no action (its action id does), in as few characters as before.
    assert ref(ApprovalRef(approval="limits:prod:limit:L-4:firstApproval")) == (
        '{"approval":"limits:prod:limit:L-4:firstApproval"}'
    )


def test_the_verb_comes_from_the_value_or_else_the_action_id():
    record = approval(state="pending")
    kind, verb = kind_of(record, None, "limits_reject")
    assert (kind.key, verb.action, verb.reason) == ("limit", "reject", "Comment")
    assert kind_of(record, "approve", "")[1].past == "approved"


@pytest.mark.parametrize(
    ("platform", "kind", "action", "action_id"),
    [
        ("limits", "limit", "launch", ""),  # no such verb
        ("limits", "nothing", "approve", ""),  # no such kind
        ("nowhere", "limit", "approve", ""),  # no such platform
        ("limits", "limit", None, "astakos_act"),  # another kind's button
    ],
)
def test_an_unknown_kind_or_verb_is_an_out_of_date_button(platform, kind, action, action_id):
    with pytest.raises(errors.UserError) as refused:
        kind_of(approval(platform=platform, kind=kind), action, action_id)
    assert str(refused.value) == STALE_BUTTON


def test_already_says_who_and_when_in_the_kinds_words():
    text = already(limits_kinds.LIMIT, approval())
    assert text.startswith("Already approved by <@U0ALICE> at <!date^")
    assert text.endswith("(approved; limit L-4 is now approved).")
    denied = approval(platform="astakos", kind="application", action="deny", result="")
    assert already(astakos_kinds.APPLICATION, denied).startswith("Already denied by <@U0ALICE>")
    acting = approval(state="acting", actor="U0BOB")
    assert already(limits_kinds.LIMIT, acting) == (
        "Someone (<@U0BOB>) is acting on this right now."
    )


def test_the_reason_modal_is_valid_and_reads_back_what_was_typed():
    meta = blocks.ReasonMeta(approval="limits:prod:limit:L-4:firstApproval", action="reject")
    modal = blocks.reason_modal(
        title="Reject limit",
        submit="Reject",
        text="Reject limit *L-4* on prod?",
        label="Comment",
        note="It runs with your own Atoti Limits account.",
        max_length=500,
        metadata=meta,
    )
    View(**modal).to_dict()  # raises as Slack would refuse it
    assert blocks.ReasonMeta.model_validate_json(modal["private_metadata"]) == meta
    field = next(blk for blk in modal["blocks"] if blk["type"] == "input")
    assert field["optional"] and field["label"]["text"] == "Comment"
    state = {
        "values": {blocks.REASON_BLOCK: {field["element"]["action_id"]: {"value": "  too large  "}}}
    }
    assert blocks.reason_of({"state": state}) == "too large"
    assert blocks.reason_of({"state": {"values": {}}}) == ""


def test_a_kinds_count_line_and_controls_follow_its_cards_still_open():
    """swap_card after a click: the kind's "n … waiting" line goes down by the cards that
    closed (not recounted: a digest may count more than it shows), and its recount hook sees
    which cards are still open."""
    seen: list[list[str]] = []

    def recount(blocks: list[dict], open_ids: list[str]) -> list[dict]:
        seen.append(open_ids)
        return blocks

    toy = replace(
        limits_kinds.LIMIT,
        platform="toyland",
        key="widget",
        tally=r"^(\*?)(\d+)(\*? widget\(s\) waiting)",
        recount=recount,
    )
    approval_kinds.register(toy)

    def card(target: str, open_: bool) -> list[dict]:
        blocks = [b.section(f"widget {target}")]
        if open_:
            blocks.append(b.actions(b.button("Ship", "toy_ship", target)))
        return tag_card(approval_id("toyland", "prod", "widget", target), blocks)

    head = [b.context("*5* widget(s) waiting for you:")]
    message = head + card("w1", True) + card("w2", True)
    after = swap_card(message, approval_id("toyland", "prod", "widget", "w1"), card("w1", False))
    assert after[0]["elements"][0]["text"] == "*4* widget(s) waiting for you:"
    assert seen == [["toyland:prod:widget:w2"]]
