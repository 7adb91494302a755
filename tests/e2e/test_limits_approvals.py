"""/limits pending → Approve / Reject through the shared approval flow, against the Limits
emulator: one platform call per approval however many clicks, the card updated everywhere,
refusals shown only to the clicker, six-eyes as two approvals, reject with a comment."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.limits import DEMO, LimitsEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, posted_since, reply_to, seen_by, texts
from tests.engines import on_both_engines, rows
from tests.support.bot import make_settings

EXECUTE = "/workflow-service/execute-task-action"


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:  # no reset(): a fresh seed per test (~0.2 s)
        yield emulator


@pytest.fixture
def platforms(limits: LimitsEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"limits": [{"name": "prod", "url": limits.url}]}


def button(limit_id: str, task: str = "firstApproval") -> str:
    """The value of a card's Reject button (Approve's also says which figures its confirm
    dialog showed: `approve`)."""
    return json.dumps({"approval": f"limits:prod:limit:{limit_id}:{task}"}, separators=(",", ":"))


def approve(message: Message, limit_id: str, task: str = "firstApproval") -> str:
    """The value of a card's Approve button in `message`."""
    return next(
        e["value"]
        for blk in message.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == "limits_approve"
        and json.loads(e["value"])["approval"] == f"limits:prod:limit:{limit_id}:{task}"
    )


def card_text(message: Message, limit_id: str, task: str = "firstApproval") -> str:
    prefix = f"appr|limits:prod:limit:{limit_id}:{task}|"
    return texts([blk for blk in message.blocks if str(blk.get("block_id", "")).startswith(prefix)])


def card_buttons(message: Message, limit_id: str, task: str = "firstApproval") -> list[str]:
    return [
        e["text"]["text"]
        for blk in message.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if json.loads(e.get("value") or "{}").get("approval")
        == f"limits:prod:limit:{limit_id}:{task}"
    ]


async def link_as(driver, slack, user: str, account: str) -> None:
    password = DEMO[account]["password"] if account in DEMO else account
    outcome = await link(driver, slack, user, "limits", {"username": account, "password": password})
    assert f"as *{account}*" in outcome, outcome


async def share_pending(driver, slack, user: str = "alice") -> Message:
    """`/limits pending share`: the list posted in #ops with chat.postMessage."""
    since = slack.last_seq
    r = await driver.command(user, "/limits", "pending share", channel="C0OPS")
    assert r.status == 200
    return (await driver.wait_for(lambda: posted_since(slack, "C0OPS", since)))[0]


def audit_rows(settings) -> list[tuple]:
    return rows(settings, "select user_id, action, platform, target, result from audit order by id")


@on_both_engines
async def test_approve_updates_the_limit_the_card_and_the_audit(
    driver, slack, limits, bot, settings
):
    await link_as(driver, slack, "alice", "alice")
    reply = await reply_to(
        driver, slack, "alice", "/limits", "pending", expect="waiting for approval"
    )
    assert card_buttons(reply, "L-4") == ["Approve", "Reject"]
    assert "Corolla" in card_text(reply, "L-4")

    r = await driver.click("alice", reply, action_id="limits_approve", value=approve(reply, "L-4"))
    assert r is not None and r.status == 200
    await driver.wait_for(lambda: limits.limits["L-4"].status == "APPROVED")

    # The ephemeral list is re-drawn: the card says who and when, and has no buttons left.
    def updated() -> Message | None:
        current = slack.workspace.find(reply.channel, reply.ts)
        return (
            current if current and "Approved* by <@U0ALICE>" in card_text(current, "L-4") else None
        )

    current = await driver.wait_for(updated)
    assert card_buttons(current, "L-4") == []
    assert "now approved" in card_text(current, "L-4")
    # Everything on the card agrees: its state line says approved, not pending.
    first_line = card_text(current, "L-4").splitlines()[0]
    assert "*approved*" in first_line and "pending" not in first_line.lower()
    assert "<!date^" in card_text(current, "L-4")
    assert card_buttons(current, "L-17") == ["Approve", "Reject"]  # the others stay open
    assert ("U0ALICE", "limits.approve", "limits", "L-4:firstApproval", "ok") in audit_rows(
        settings
    )
    assert len(limits.requests_to("POST", EXECUTE)) == 1


@on_both_engines
async def test_double_click_and_slack_retry_reach_the_platform_once(
    driver, slack, limits, bot, settings
):
    await link_as(driver, slack, "alice", "alice")
    shared = await share_pending(driver, slack)
    limits.requests.clear()

    clicks = await asyncio.gather(
        driver.click("alice", shared, action_id="limits_approve", value=approve(shared, "L-17")),
        driver.click("alice", shared, action_id="limits_approve", value=approve(shared, "L-17")),
        driver.click(
            "alice",
            shared,
            action_id="limits_approve",
            value=approve(shared, "L-17"),
            retry_num=1,
            retry_reason="http_timeout",
        ),
    )
    assert all(c is not None and c.status == 200 for c in clicks)
    await driver.wait_for(lambda: limits.limits["L-17"].status == "APPROVED")

    # The two that lost the claim are told (still acting, or already approved by alice).
    def told() -> int:
        seen = seen_by(slack, "alice")
        return seen.count("Already approved by <@U0ALICE> at") + seen.count(
            "Someone (<@U0ALICE>) is acting on this right now."
        )

    await driver.wait_for(lambda: told() >= 2)
    # The channel copy was updated in place (chat.update): who, when, no buttons.
    current = await driver.wait_for(
        lambda: (
            (m := slack.workspace.find(shared.channel, shared.ts))
            and "Approved* by <@U0ALICE>" in card_text(m, "L-17")
            and m
        )
    )
    assert card_buttons(current, "L-17") == []
    # A late Slack retry of the first click hears who approved, and when.
    await driver.redeliver(clicks[0], retry_num=2)
    late = await driver.wait_for(
        lambda: [m for m in slack.ephemerals("alice") if "Already approved by" in m.text]
    )
    assert "<@U0ALICE> at <!date^" in late[-1].text
    assert len(limits.requests_to("POST", EXECUTE)) == 1
    assert sum(1 for row in audit_rows(settings) if row[1] == "limits.approve") == 1


async def test_a_clicker_without_the_role_sees_the_refusal_and_the_card_stays_open(
    driver, slack, limits, bot, settings
):
    await link_as(driver, slack, "alice", "alice")
    await link_as(driver, slack, "bob", "bob")
    shared = await share_pending(driver, slack)

    await driver.click("bob", shared, action_id="limits_approve", value=approve(shared, "L-4"))
    await driver.wait_for(lambda: "not allowed to do that" in seen_by(slack, "bob"))
    assert "is not a candidate" in seen_by(slack, "bob")  # the platform's own reason
    assert limits.limits["L-4"].status == "PENDING"
    current = slack.workspace.find(shared.channel, shared.ts)
    assert card_buttons(current, "L-4") == ["Approve", "Reject"]
    assert ("U0BOB", "limits.approve", "limits", "L-4:firstApproval", "refused") in audit_rows(
        settings
    )

    # Still open for someone who may approve.
    await driver.click("alice", shared, action_id="limits_approve", value=approve(shared, "L-4"))
    await driver.wait_for(lambda: limits.limits["L-4"].status == "APPROVED")
    await driver.wait_for(
        lambda: (
            "Approved* by <@U0ALICE>"
            in card_text(slack.workspace.find(shared.channel, shared.ts), "L-4")
        )
    )


async def test_unlinked_clicker_is_told_how_to_link_and_nothing_happens(driver, slack, limits, bot):
    await link_as(driver, slack, "alice", "alice")
    shared = await share_pending(driver, slack)
    limits.requests.clear()
    await driver.click("carol", shared, action_id="limits_approve", value=approve(shared, "L-4"))
    await driver.wait_for(lambda: "/ops link limits prod" in seen_by(slack, "carol"))
    assert "no linked Atoti Limits (prod) account" in seen_by(slack, "carol")
    assert limits.requests_to("POST", EXECUTE) == []
    assert card_buttons(slack.workspace.find(shared.channel, shared.ts), "L-4") == [
        "Approve",
        "Reject",
    ]


async def test_six_eyes_first_approval_leaves_a_second_step(driver, slack, limits, bot):
    limits.add_user(
        "carol",
        "carol-limits-pw",
        ["ROLE_ACTIVITI_USER", "ROLE_LIMITS", "ROLE_USER", "ROLE_MANAGERS"],
    )
    await link_as(driver, slack, "alice", "alice")
    await link(
        driver, slack, "carol", "limits", {"username": "carol", "password": "carol-limits-pw"}
    )
    shared = await share_pending(driver, slack)

    await driver.click("alice", shared, action_id="limits_approve", value=approve(shared, "L-10"))
    current = await driver.wait_for(
        lambda: (
            (m := slack.workspace.find(shared.channel, shared.ts))
            and "Approved* by" in card_text(m, "L-10")
            and m
        )
    )
    assert "still pending a second approver" in card_text(current, "L-10")
    assert limits.limits["L-10"].status == "PENDING"
    assert limits.limits["L-10"].task == "secondApproval"

    # The next list has a card for the second step; the first approver may not give it.
    second = await share_pending(driver, slack)
    assert "second approval" in card_text(second, "L-10", "secondApproval")
    await driver.click(
        "alice", second, action_id="limits_approve", value=approve(second, "L-10", "secondApproval")
    )
    await driver.wait_for(lambda: "already gave the first approval" in seen_by(slack, "alice"))
    assert card_buttons(
        slack.workspace.find(second.channel, second.ts), "L-10", "secondApproval"
    ) == ["Approve", "Reject"]

    await driver.click(
        "carol", second, action_id="limits_approve", value=approve(second, "L-10", "secondApproval")
    )
    await driver.wait_for(lambda: limits.limits["L-10"].status == "APPROVED")


async def test_a_stale_card_shows_the_task_as_already_handled(driver, slack, limits, bot):
    await link_as(driver, slack, "alice", "alice")
    shared = await share_pending(driver, slack)
    # Approved elsewhere (the Limits UI) after the card was posted.
    limits.limits["L-22"].status, limits.limits["L-22"].task = "APPROVED", None
    limits.requests.clear()

    await driver.click("alice", shared, action_id="limits_approve", value=approve(shared, "L-22"))
    current = await driver.wait_for(
        lambda: (
            (m := slack.workspace.find(shared.channel, shared.ts))
            and "Already handled" in card_text(m, "L-22")
            and m
        )
    )
    assert "already handled (status APPROVED)" in card_text(current, "L-22")
    assert card_buttons(current, "L-22") == []
    assert limits.requests_to("POST", EXECUTE) == []


async def test_reject_asks_for_a_comment_in_a_modal(driver, slack, limits, bot, settings):
    await link_as(driver, slack, "alice", "alice")
    reply = await reply_to(
        driver, slack, "alice", "/limits", "pending", expect="waiting for approval"
    )
    opened = len(slack.views_opened("alice"))
    await driver.click("alice", reply, action_id="limits_reject", value=button("L-22"))
    view = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    assert "Reject limit *L-22*" in texts(view.blocks)
    assert limits.requests_to("POST", EXECUTE) == []  # nothing happens before the submit

    await driver.submit("alice", view, {"comment": "too large for Umbrella"})
    await driver.wait_for(lambda: limits.limits["L-22"].status == "REJECTED")
    assert limits.limits["L-22"].comment == "too large for Umbrella"
    current = await driver.wait_for(
        lambda: (
            (m := slack.workspace.find(reply.channel, reply.ts))
            and "Rejected* by <@U0ALICE>" in card_text(m, "L-22")
            and m
        )
    )
    assert card_buttons(current, "L-22") == []
    assert "too large for Umbrella" in card_text(current, "L-22")  # the reason, on the card
    assert ("U0ALICE", "limits.reject", "limits", "L-22:firstApproval", "ok") in audit_rows(
        settings
    )
    # …and in /ops audit; the modal said "optional" once (Slack adds it to optional inputs).
    audit = await reply_to(driver, slack, "alice", "/ops", "audit 3", expect="changes")
    assert "*limits.reject* limits" in texts(audit.blocks)
    assert "too large for Umbrella" in texts(audit.blocks)
    comment = next(blk for blk in view.blocks if blk.get("type") == "input")
    assert comment["optional"] and "optional" not in comment["label"]["text"].lower()


async def test_platform_outage_leaves_a_retry_button(driver, slack, limits, bot):
    await link_as(driver, slack, "alice", "alice")
    shared = await share_pending(driver, slack)
    limits.faults.set(status=503, path_prefix="/activeviam/limits/rest/v2/workflow-service")
    try:
        await driver.click(
            "alice", shared, action_id="limits_approve", value=approve(shared, "L-4")
        )
        current = await driver.wait_for(
            lambda: (
                (m := slack.workspace.find(shared.channel, shared.ts))
                and "could not approve" in card_text(m, "L-4")
                and m
            )
        )
    finally:
        limits.faults.clear()
    assert card_buttons(current, "L-4") == ["Retry approve"]
    assert limits.limits["L-4"].status == "PENDING"

    await driver.click("alice", current, action_id="limits_approve", value=approve(current, "L-4"))
    await driver.wait_for(lambda: limits.limits["L-4"].status == "APPROVED")


class TestOperatorRestriction:
    """With `approvers` set to the admins group (alice), manager carol is stopped by us."""

    @pytest.fixture
    def settings(self, tmp_path, slack, platforms):
        return make_settings(
            tmp_path, slack, platforms=platforms, approvers={"limits.approve": ["S0ADMINS"]}
        )

    async def test_applies_before_the_platform(self, driver, slack, limits, bot):
        limits.add_user(
            "carol",
            "carol-limits-pw",
            ["ROLE_ACTIVITI_USER", "ROLE_LIMITS", "ROLE_USER", "ROLE_MANAGERS"],
        )
        await link_as(driver, slack, "alice", "alice")
        await link(
            driver, slack, "carol", "limits", {"username": "carol", "password": "carol-limits-pw"}
        )
        shared = await share_pending(driver, slack)
        limits.requests.clear()
        await driver.click(
            "carol", shared, action_id="limits_approve", value=approve(shared, "L-4")
        )
        await driver.wait_for(lambda: "restrict who may approve" in seen_by(slack, "carol"))
        assert limits.requests_to("POST", EXECUTE) == []
        await driver.click(
            "alice", shared, action_id="limits_approve", value=approve(shared, "L-4")
        )
        await driver.wait_for(lambda: limits.limits["L-4"].status == "APPROVED")
