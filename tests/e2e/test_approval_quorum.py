"""Approvals that expire and can need two people, end to end through signed Slack requests
against the Atoti Limits emulator, with the operators' rule for `limits.approve`: two
approvers, not the requester, one hour to decide.

A 2-of-N approval with double clicks and retries on both steps reaches the platform once,
with the account of the person who completed it; the same person counts once; the requester
is refused; a rejection ends it; past its expiry every copy says so and a late click acts on
nothing (after the leader's sweep, and before it)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import ApprovalRule, Settings
from bot.server import BotServer
from emulators.limits import APPROVER, LimitsEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, posted_since, reply_to, seen_by, texts
from tests.e2e.test_limits_approvals import (
    EXECUTE,
    approve,
    audit_rows,
    button,
    card_buttons,
    card_text,
    link_as,
    share_pending,
)
from tests.engines import on_both_engines, rows


class Clock:
    """The bot's clock: the real time, plus what a test moves it by."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:
        emulator.add_user("carol", "carol-limits-pw", list(APPROVER))
        yield emulator


@pytest.fixture
def platforms(limits: LimitsEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"limits": [{"name": "prod", "url": limits.url}]}


@pytest.fixture
def sweep_every() -> float:
    """Seconds between the leader's expiry sweeps (a test parametrizes it to keep it away)."""
    return 0.2


@pytest.fixture
def settings(settings: Settings, sweep_every: float) -> Settings:
    rule = ApprovalRule(required=2, maker_checker=True, expires_after="1h")
    return settings.model_copy(
        update={
            "approval_rules": {"limits.approve": rule},
            "claim_check_interval": sweep_every,
            "sync_interval": 0.1,
        }
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bot(settings: Settings, clock: Clock) -> Iterator[BotServer]:
    with BotServer(settings, now=clock) as server:
        yield server


def clicker(request) -> str:
    """The Atoti Limits user whose Basic credentials made a recorded request."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    assert scheme.lower() == "basic"
    return base64.b64decode(value).decode().partition(":")[0]


async def link_three(driver, slack) -> None:
    await link_as(driver, slack, "alice", "alice")
    await link(
        driver, slack, "carol", "limits", {"username": "carol", "password": "carol-limits-pw"}
    )


def card_of(slack, message: Message, limit_id: str = "L-4") -> str:
    current = slack.workspace.find(message.channel, message.ts)
    return card_text(current, limit_id) if current else ""


async def shown(driver, slack, copy: Message, text: str) -> None:
    """Wait until the copy's L-4 card shows `text`."""

    def showing() -> bool:
        return text in card_of(slack, copy)

    await driver.wait_for(showing)


async def clicks(driver, user: str, message: Message, action_id: str, value: str) -> None:
    """A double click and a Slack retry of it, at once."""
    first, second = await asyncio.gather(
        driver.click(user, message, action_id=action_id, value=value),
        driver.click(user, message, action_id=action_id, value=value),
    )
    assert first is not None and second is not None
    await driver.redeliver(first, retry_num=1, retry_reason="http_timeout")


@on_both_engines
async def test_two_approvers_with_double_clicks_reach_the_platform_once(
    driver, slack, limits, bot, settings
):
    await link_three(driver, slack)
    one = await share_pending(driver, slack)
    two = await share_pending(driver, slack)  # a second copy, elsewhere in the channel
    assert "0 of 2* approvers: none yet" in card_of(slack, one)
    assert "Expires at <!date^" in card_of(slack, one)
    limits.requests.clear()

    # Alice: a double click and a retry count once, and nothing reaches the platform.
    await clicks(driver, "alice", one, "limits_approve", approve(one, "L-4"))
    for copy in (one, two):
        await shown(driver, slack, copy, "*1 of 2* approvers: <@U0ALICE>, <!date^")
    assert card_buttons(slack.workspace.find(two.channel, two.ts), "L-4") == ["Approve", "Reject"]
    await driver.wait_for(lambda: "You already approved this (1 of 2)" in seen_by(slack, "alice"))
    await driver.wait_for(lambda: "Your approval is recorded: 1 of 2" in seen_by(slack, "alice"))
    assert seen_by(slack, "alice").count("Your approval is recorded") == 1
    assert limits.requests_to("POST", EXECUTE) == []
    assert limits.limits["L-4"].status == "PENDING"

    # Carol completes it from the other copy, clicking twice with a retry: one platform call,
    # made with Carol's own account.
    await clicks(driver, "carol", two, "limits_approve", approve(two, "L-4"))
    await driver.wait_for(lambda: limits.limits["L-4"].status == "APPROVED")
    for copy in (one, two):
        await shown(driver, slack, copy, "Approved* by <@U0CAROL>")
        assert card_buttons(slack.workspace.find(copy.channel, copy.ts), "L-4") == []
    assert "*2 of 2* approvers: <@U0ALICE>" in card_of(slack, one)
    executed = limits.requests_to("POST", EXECUTE)
    assert len(executed) == 1 and clicker(executed[0]) == "carol"
    assert rows(settings, "select user_id from approval_votes order by user_id") == [
        ("U0ALICE",),
        ("U0CAROL",),
    ]
    audited = [r for r in audit_rows(settings) if r[3] == "L-4:firstApproval"]
    assert ("U0ALICE", "limits.approve", "limits", "L-4:firstApproval", "voted") in audited
    assert [r for r in audited if r[4] == "ok"] == [
        ("U0CAROL", "limits.approve", "limits", "L-4:firstApproval", "ok")
    ]


async def test_the_requester_cannot_approve_their_own_limit(driver, slack, limits, bot, settings):
    # Bob asked for L-4 (the emulator's history names him) and may approve on the platform.
    limits.add_user("bob", "bob-limits-pw", list(APPROVER))
    await link_as(driver, slack, "bob", "bob")
    await link_three(driver, slack)
    shared = await share_pending(driver, slack)
    limits.requests.clear()

    await driver.click("bob", shared, action_id="limits_approve", value=approve(shared, "L-4"))
    await driver.wait_for(lambda: "You asked for this limit" in seen_by(slack, "bob"))
    assert "0 of 2* approvers: none yet" in card_of(slack, shared)
    assert ("U0BOB", "limits.approve", "limits", "L-4:firstApproval", "refused") in audit_rows(
        settings
    )
    assert limits.requests_to("POST", EXECUTE) == []
    assert rows(settings, "select count(*) from approval_votes") == [(0,)]

    # Two others still can.
    await driver.click("alice", shared, action_id="limits_approve", value=approve(shared, "L-4"))
    await driver.wait_for(lambda: "*1 of 2*" in card_of(slack, shared))
    await driver.click("carol", shared, action_id="limits_approve", value=approve(shared, "L-4"))
    await driver.wait_for(lambda: limits.limits["L-4"].status == "APPROVED")


async def test_a_rejection_by_any_approver_ends_it(driver, slack, limits, bot, settings):
    await link_three(driver, slack)
    shared = await share_pending(driver, slack)
    limits.requests.clear()
    approved = await driver.click(
        "alice", shared, action_id="limits_approve", value=approve(shared, "L-4")
    )
    await driver.wait_for(lambda: "*1 of 2* approvers: <@U0ALICE>" in card_of(slack, shared))

    opened = len(slack.views_opened("carol"))
    await driver.click("carol", shared, action_id="limits_reject", value=button("L-4"))
    view = await driver.wait_for(
        lambda: slack.views_opened("carol")[opened:] and slack.views_opened("carol")[-1]
    )
    await driver.submit("carol", view, {"comment": "not this quarter"})
    await driver.wait_for(lambda: limits.limits["L-4"].status == "REJECTED")
    await driver.wait_for(lambda: "Rejected* by <@U0CAROL>" in card_of(slack, shared))
    assert card_buttons(slack.workspace.find(shared.channel, shared.ts), "L-4") == []
    executed = limits.requests_to("POST", EXECUTE)
    assert len(executed) == 1 and clicker(executed[0]) == "carol"

    # A late Slack retry of Alice's approval changes nothing: it is over.
    assert approved is not None
    await driver.redeliver(approved, retry_num=2, retry_reason="http_timeout")
    await driver.wait_for(lambda: "Already rejected by <@U0CAROL>" in seen_by(slack, "alice"))
    assert len(limits.requests_to("POST", EXECUTE)) == 1


async def expire_and_click(driver, slack, limits, clock, settings, *, sweep: bool) -> None:
    await link_three(driver, slack)
    one = await share_pending(driver, slack)
    two = await share_pending(driver, slack)
    await driver.click("alice", one, action_id="limits_approve", value=approve(one, "L-4"))
    await driver.wait_for(lambda: "*1 of 2*" in card_of(slack, two))
    # Lists only their caller sees (not recorded copies): they keep their buttons.
    carols = await reply_to(driver, slack, "carol", "/limits", "pending", expect="waiting for")
    alices = await reply_to(driver, slack, "alice", "/limits", "pending", expect="waiting for")
    limits.requests.clear()

    clock.ahead = timedelta(hours=1, minutes=1)
    if sweep:  # the leader's sweep finds it first: every copy, nobody clicking
        for copy in (one, two):
            await shown(driver, slack, copy, "*Expired* at <!date^")
    since = slack.last_seq
    await driver.click("carol", carols, action_id="limits_approve", value=approve(carols, "L-4"))
    await driver.wait_for(lambda: "expired at" in seen_by(slack, "carol", since=since))
    assert "nothing was done" in seen_by(slack, "carol", since=since)
    for copy in (one, two):
        await shown(driver, slack, copy, "*Expired* at <!date^")
        current = slack.workspace.find(copy.channel, copy.ts)
        assert card_buttons(current, "L-4") == []
        assert "Expires at" not in card_text(current, "L-4")
        assert card_buttons(current, "L-17") == ["Approve", "Reject"] or "Expired" in card_text(
            current, "L-17"
        )
    # Nothing reached the platform, and no vote was added.
    assert limits.requests_to("POST", EXECUTE) == []
    assert limits.limits["L-4"].status == "PENDING"
    assert rows(settings, "select user_id from approval_votes") == [("U0ALICE",)]
    assert rows(
        settings, "select state from approvals where target = ?", ["L-4:firstApproval"]
    ) == [("expired",)]
    # A reject on the stale card is refused too, before any modal.
    await driver.click("alice", alices, action_id="limits_reject", value=button("L-4"))
    await driver.wait_for(lambda: "expired at" in seen_by(slack, "alice", since=since))
    assert limits.requests_to("POST", EXECUTE) == []


@on_both_engines
async def test_an_approval_expires_on_every_copy_and_a_late_click_acts_on_nothing(
    driver, slack, limits, bot, clock, settings
):
    await expire_and_click(driver, slack, limits, clock, settings, sweep=True)


@pytest.mark.parametrize("sweep_every", [3600.0])  # only the start-up sweep, before expiry
async def test_a_late_click_before_any_sweep_expires_it_itself(
    driver, slack, limits, bot, clock, settings
):
    await expire_and_click(driver, slack, limits, clock, settings, sweep=False)


async def test_the_limits_end_date_wins_when_earlier(driver, slack, limits, bot, clock, settings):
    today = clock().date()
    limits.limits["L-4"].end = (today - timedelta(days=1)).isoformat()  # ended yesterday
    await link_three(driver, slack)
    since = slack.last_seq
    await driver.command("alice", "/limits", "pending share", channel="C0OPS")
    shared = (await driver.wait_for(lambda: posted_since(slack, "C0OPS", since)))[0]
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    assert rows(
        settings, "select expires_at from approvals where target = ?", ["L-4:firstApproval"]
    ) == [(midnight.isoformat(timespec="seconds"),)]
    # L-17 ends later than the rule's hour: the hour wins there.
    (l17,) = rows(
        settings, "select expires_at from approvals where target = ?", ["L-17:firstApproval"]
    )
    assert l17[0] > clock().isoformat()
    await driver.wait_for(lambda: "*Expired* at <!date^" in card_of(slack, shared))
    assert "Expires at <!date^" in texts(
        [
            b
            for b in slack.workspace.find(shared.channel, shared.ts).blocks
            if "L-17" in str(b.get("block_id"))
        ]
    )
