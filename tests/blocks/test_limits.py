"""bot/blocks/limits.py: /limits status, breaches (paged), and the approval cards of limits
waiting for a workflow decision."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.approval_kinds import ApprovalRef
from bot.approvals import DONE, PENDING, Approval, when_text
from bot.blocks import limits
from bot.blocks.time import slack_date
from bot.platforms.limits.models import (
    Breaches,
    ConnectedServer,
    Incident,
    LimitsStatus,
    PendingLimit,
    WorkflowAction,
)
from tests.blocks.kit import buttons, message_text

STARTED = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)
UI = "https://limits.example.com"


def incident(n: int, kind: str = "Breach") -> Incident:
    return Incident(
        incident_id=f"inc-{n}",
        kind=kind,
        as_of="2026-11-28",
        limit_id=f"L-{n}",
        structure="Desk <VaR>",
        measure="pnl.SUM",
        limit_value=1_000_000.0,
        measure_value=1_250_000.5,
        utilization=1.25,
        location="[Book].[Book].[AllMember].[B-001]",
        status="NOT_STARTED",
        server="risk-cube",
        evaluated_at="2026-11-28T18:00:00+00:00",
    )


def test_status_says_since_when_it_is_up_and_each_servers_connection_in_words():
    status = LimitsStatus(
        started_at=STARTED,
        as_of_date="2026-11-28",
        servers=(
            ConnectedServer("risk-cube", True, ("VaR", "PnL"), 3, 2),
            ConnectedServer("old <cube>", False, (), 1, 0),
        ),
    )
    shown = message_text(limits.status("risk", status))
    assert f"Up since {slack_date(STARTED)} · as-of date *2026-11-28*" in shown
    assert "1 connected Atoti server(s)" in shown
    assert ":link: *risk-cube* · connected\nCubes: VaR, PnL · 3 structure(s) · 2 pending" in shown
    assert "*old &lt;cube&gt;* · not connected (named by its structures only)" in shown


def test_breaches_read_as_numbers_words_and_dates_with_a_page_note_and_open_buttons():
    found = Breaches(
        as_of="2026-11-28",
        incidents=(*(incident(n) for n in range(25)), incident(99, "Warning")),
        as_of_dates=("2026-11-27", "2026-11-28"),
    )
    blocks = limits.breaches("risk", found, page=1, ui=UI)
    shown = message_text(blocks)
    assert "*25* breach(es) · *1* warning(s) · page 1 of 2 · other dates: 2026-11-27" in shown
    assert (
        ":red_circle: *Breach* · limit `L-0` *Desk &lt;VaR&gt;* · risk-cube\n"
        "`pnl.SUM` = 1,250,000.50 against a limit of 1,000,000 (125%) · Book = B-001\n"
        f"`inc-0` · not started · evaluated {slack_date('2026-11-28T18:00:00+00:00')}"
    ) in shown
    assert "6 more not shown: `/limits breaches 2026-11-28 page 2`" in shown
    assert buttons(blocks)[0]["url"] == f"{UI}/limits/status?incidentIds=inc-0"
    last = message_text(limits.breaches("risk", found, page=2))
    assert "limit `L-20`" in last and "more not shown" not in last


def test_no_breach_on_a_day_says_so():
    empty = Breaches(as_of="2026-11-28", incidents=(), as_of_dates=("2026-11-28",))
    assert "No breach or warning on 2026-11-28." in message_text(
        limits.breaches("risk", empty, page=1)
    )


PENDING_LIMIT = PendingLimit(
    limit_id="L-7",
    status="PENDING",
    value=500_000.0,
    scope="Book = B-001",
    structure="Desk VaR",
    structure_id="s-1",
    server="risk-cube",
    measure="pnl.SUM",
    comment="raise for <!here> year end",
    actions=(WorkflowAction("Approve", "firstApproval", True),),
)


def approval(state: str, **changes) -> Approval:
    values = {
        "id": "ap-1",
        "platform": "limits",
        "instance": "risk",
        "kind": "limit",
        "target": "L-7",
        "state": state,
        "summary": limits.card_summary(PENDING_LIMIT),
        "payload": limits.card_payload(PENDING_LIMIT, limits.task_key(PENDING_LIMIT)),
        "actor": "",
        "action": "",
        "acted_at": "",
        "result": "",
    }
    return Approval(**(values | changes))


def test_a_pending_card_says_what_is_asked_with_approve_confirmed_and_reject():
    blocks = limits.card(approval(PENDING))
    shown = message_text(blocks)
    assert (
        "*`L-7`* · *Desk VaR* · risk-cube · pending (first approval: new or changed limit)\n"
        "Book = B-001 · limit 500,000 on `pnl.SUM`\n_raise for &lt;!here&gt; year end_"
    ) in shown
    approve, reject = buttons(blocks)
    assert ApprovalRef.model_validate_json(approve["value"]).approval == "ap-1"
    # The dialog says what approving changes: a new limit's first value.
    assert approve["confirm"]["text"]["text"] == (
        "Approve limit L-7 (Book = B-001, 500,000) on risk?\n"
        "Limit value: none in force → 500,000\n"
        "It runs with your own Atoti Limits account."
    )
    assert ApprovalRef.model_validate_json(approve["value"]).seen
    assert reject["action_id"] == limits.REJECT and "confirm" not in reject


def test_a_settled_card_says_approved_by_whom_and_when_and_has_no_buttons():
    acted = "2026-11-29T18:05:00+00:00"
    blocks = limits.card(
        approval(
            DONE,
            actor="U0BOB",
            action="approve",
            acted_at=acted,
            result="approved the first approval",
        )
    )
    shown = message_text(blocks)
    assert "risk-cube · *approved* (first approval" in shown and "pending" not in shown
    assert (
        f":white_check_mark: *Approved* by <@U0BOB> at {when_text(acted)}: "
        "approved the first approval." in shown
    )
    assert buttons(blocks) == []


def test_a_limit_the_server_offers_no_action_on_has_no_buttons():
    blocks = limits.untracked_card(PENDING_LIMIT)
    assert "Atoti Limits offers you no action on this limit." in message_text(blocks)
    assert buttons(blocks) == []
