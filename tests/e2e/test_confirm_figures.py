"""Confirm dialogs say what a decision changes, in the platform's own figures: Astakos Accept,
each holding's usage before → after against its limit; Atoti Limits Approve, the limit's value
before → after. The figures are read again at the click: when they changed since the card was
drawn, nothing runs and the person is shown the new figures with the button again; when they
cannot be fetched, the dialog says so in one line and the decision still goes ahead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.astakos import ALICE, BOB, CHEM, DEMO, AstakosEmulator, GiB
from emulators.limits import DEMO as LIMITS_DEMO
from emulators.limits import LimitsEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, replies_since, reply_to, texts

SERVICE = DEMO["service"]["token"]
ACTION = "/account/v1.0/commissions/{serial}/action"
EXECUTE = "/workflow-service/execute-task-action"
NO_FIGURES = "I could not fetch what this changes just now; you can still decide."


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:  # a fresh seed per test: approvals cannot be undone
        yield emulator


@pytest.fixture
def platforms(astakos: AstakosEmulator, limits: LimitsEmulator) -> dict[str, list[dict[str, Any]]]:
    return {
        "astakos": [{"name": "prod", "url": f"{astakos.url}/identity/v2.0"}],
        "limits": [{"name": "prod", "url": limits.url}],
    }


def button(message: Message, action_id: str, approval: str) -> dict[str, Any]:
    return next(
        e
        for blk in message.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == action_id and json.loads(e["value"])["approval"] == approval
    )


def dialog(message: Message, action_id: str, approval: str) -> str:
    return button(message, action_id, approval)["confirm"]["text"]["text"]


def now(slack, message: Message) -> Message:
    return slack.workspace.find(message.channel, message.ts) or message


def usage(astakos: AstakosEmulator, user: str, project: str, resource: str) -> tuple[int, int]:
    q = astakos.quota(f"user:{user}", f"project:{project}", resource)
    return q["usage"], q["limit"]


def one_vm(user: str, project: str) -> list[dict[str, Any]]:
    return [
        {
            "holder": f"user:{user}",
            "source": f"project:{project}",
            "resource": "cyclades.vm",
            "quantity": 1,
        },
        {"holder": f"project:{project}", "source": None, "resource": "cyclades.vm", "quantity": 1},
    ]


async def commissions(driver, slack) -> Message:
    return await reply_to(
        driver, slack, "alice", "/astakos", "commissions", expect="Pending commissions"
    )


async def pending_limits(driver, slack) -> Message:
    return await reply_to(driver, slack, "alice", "/limits", "pending", expect="waiting for")


async def asked_again(driver, slack, since: int, expect: str) -> Message:
    """The ephemeral saying the figures changed (and nothing ran), with the button again."""
    return await driver.wait_for(
        lambda: next(
            (m for m in replies_since(slack, "alice", since) if expect in texts(m.blocks)), None
        )
    )


# -- Synnefo Astakos -------------------------------------------------------------------------


async def test_accept_dialog_shows_usage_before_and_after_against_the_limit(
    driver, slack, astakos, bot
):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    reply = await commissions(driver, slack)
    # 56 asks alice's holdings in the chemistry project for 1 VM, 2 CPUs and 2 GiB of RAM.
    shown = dialog(reply, "astakos_act", "astakos:prod:commission:56")
    vm, vm_limit = usage(astakos, ALICE, CHEM, "cyclades.vm")
    cpu, cpu_limit = usage(astakos, ALICE, CHEM, "cyclades.cpu")
    ram, ram_limit = usage(astakos, ALICE, CHEM, "cyclades.ram")
    assert shown.startswith("Accept this commission? It runs with your own linked token.\n")
    assert "alice@example.org from " in shown
    assert f"Virtual Machine: {vm - 1} → {vm} of {vm_limit}" in shown
    assert f"CPU: {cpu - 2} → {cpu} of {cpu_limit}" in shown
    assert f"RAM: {(ram - 2 * GiB) / GiB:g} GiB → {ram / GiB:g} GiB of {ram_limit / GiB:g} GiB" in (
        shown
    )
    # 58 gives back one of alice's VMs and 2 CPUs in her own (system) project.
    released = dialog(reply, "astakos_act", "astakos:prod:commission:58")
    own_vm, own_limit = usage(astakos, ALICE, ALICE, "cyclades.vm")
    assert f"Virtual Machine: {own_vm} → {own_vm - 1} of {own_limit}" in released
    # 59 was forced past bob's limit: the dialog says so.
    forced = dialog(reply, "astakos_act", "astakos:prod:commission:59")
    bob_vm, bob_limit = usage(astakos, BOB, BOB, "cyclades.vm")
    assert f"Virtual Machine: {bob_vm - 2} → {bob_vm} of {bob_limit} :warning: over the limit" in (
        forced
    )

    # The figures did not change: the click accepts at once, once.
    await driver.click(
        "alice",
        reply,
        action_id="astakos_act",
        value=button(reply, "astakos_act", "astakos:prod:commission:56")["value"],
    )
    await driver.wait_for(lambda: "Accepted* by <@U0ALICE>" in texts(now(slack, reply).blocks))
    assert len(astakos.requests_to("POST", ACTION.format(serial=56))) == 1


async def test_usage_changed_since_the_card_was_drawn_is_shown_before_accepting(
    driver, slack, astakos, bot
):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    reply = await commissions(driver, slack)
    vm, limit = usage(astakos, ALICE, CHEM, "cyclades.vm")
    old = button(reply, "astakos_act", "astakos:prod:commission:56")
    assert f"Virtual Machine: {vm - 1} → {vm} of {limit}" in old["confirm"]["text"]["text"]
    # Meanwhile an operator forces one more VM on alice's chemistry holding.
    astakos.issue("cyclades", one_vm(ALICE, CHEM), name="create vm alice-extra", force=True)

    since = slack.last_seq
    await driver.click("alice", reply, action_id="astakos_act", value=old["value"])
    again = await asked_again(driver, slack, since, "Nothing was accepted yet")
    changed = f"Virtual Machine: {vm} → {vm + 1} of {limit} :warning: over the limit"
    assert changed in texts(again.blocks)
    assert astakos.requests_to("POST", ACTION.format(serial=56)) == []
    assert astakos.commission(56) is not None
    fresh = button(again, "astakos_act", "astakos:prod:commission:56")
    assert changed in fresh["confirm"]["text"]["text"]

    # Confirmed with the new figures: accepted, once, and the card says so.
    await driver.click("alice", again, action_id="astakos_act", value=fresh["value"])
    await driver.wait_for(lambda: astakos.commission(56) is None)
    assert len(astakos.requests_to("POST", ACTION.format(serial=56))) == 1
    await driver.wait_for(
        lambda: any(
            "Accepted* by <@U0ALICE>" in texts(m.blocks)
            for m in replies_since(slack, "alice", since)
        )
    )


async def test_figures_that_cannot_be_fetched_are_said_and_the_decision_still_runs(
    driver, slack, astakos, bot
):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    # Astakos answers everything but the service's quotas.
    astakos.faults.set(status=503, path_prefix="/account/v1.0/service_quotas")
    reply = await commissions(driver, slack)
    shown = dialog(reply, "astakos_act", "astakos:prod:commission:56")
    assert NO_FIGURES in shown and "+1 Virtual Machine" in shown  # what it asks, at least
    value = button(reply, "astakos_act", "astakos:prod:commission:56")["value"]
    await driver.click("alice", reply, action_id="astakos_act", value=value)
    await driver.wait_for(lambda: "Accepted* by <@U0ALICE>" in texts(now(slack, reply).blocks))
    assert len(astakos.requests_to("POST", ACTION.format(serial=56))) == 1


async def test_figures_back_at_the_click_are_shown_before_accepting(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    astakos.faults.set(status=503, path_prefix="/account/v1.0/service_quotas")
    reply = await commissions(driver, slack)
    assert NO_FIGURES in dialog(reply, "astakos_act", "astakos:prod:commission:56")
    astakos.faults.clear()  # Astakos answers again before the click
    vm, limit = usage(astakos, ALICE, CHEM, "cyclades.vm")
    since = slack.last_seq
    value = button(reply, "astakos_act", "astakos:prod:commission:56")["value"]
    await driver.click("alice", reply, action_id="astakos_act", value=value)
    again = await asked_again(driver, slack, since, "could not be shown in your confirm dialog")
    assert f"Virtual Machine: {vm - 1} → {vm} of {limit}" in texts(again.blocks)
    assert astakos.requests_to("POST", ACTION.format(serial=56)) == []


# -- Atoti Limits ------------------------------------------------------------------------------


def limit_id(limits: LimitsEmulator, member: str, status: str) -> str:
    return next(k for k, v in limits.limits.items() if v.member == member and v.status == status)


async def link_limits(driver, slack) -> None:
    values = {"username": "alice", "password": LIMITS_DEMO["alice"]["password"]}
    assert "as *alice*" in await link(driver, slack, "alice", "limits", values)


async def test_approve_dialog_shows_the_limit_value_before_and_after(driver, slack, limits, bot):
    civic = limit_id(limits, "Civic", "APPROVED")  # 40,000 in force
    limits.propose(civic, 45_000)  # bob asks to raise it
    await link_limits(driver, slack)
    reply = await pending_limits(driver, slack)

    def approval(lid: str) -> str:
        return f"limits:prod:limit:{lid}:firstApproval"

    assert "Limit value: 40,000 → 45,000" in dialog(reply, "limits_approve", approval(civic))
    corolla = limit_id(limits, "Corolla", "PENDING")  # a new limit of 35,000
    assert "Limit value: none in force → 35,000" in dialog(
        reply, "limits_approve", approval(corolla)
    )
    closing = limit_id(limits, "B-003", "PENDING_DELETION")
    shown = dialog(reply, "limits_approve", f"limits:prod:limit:{closing}:deletionApproval")
    assert "Limit value: 50,000,000 → removed" in shown

    # Unchanged: the click approves at once; the new value is in force.
    value = button(reply, "limits_approve", approval(civic))["value"]
    await driver.click("alice", reply, action_id="limits_approve", value=value)
    await driver.wait_for(lambda: limits.limits[civic].draft is None)
    assert limits.limits[civic].value == 45_000 and limits.limits[civic].status == "APPROVED"
    assert len(limits.requests_to("POST", EXECUTE)) == 1


async def test_a_value_changed_since_the_card_was_drawn_is_shown_before_approving(
    driver, slack, limits, bot
):
    civic = limit_id(limits, "Civic", "APPROVED")
    limits.propose(civic, 45_000)
    await link_limits(driver, slack)
    reply = await pending_limits(driver, slack)
    old = button(reply, "limits_approve", f"limits:prod:limit:{civic}:firstApproval")
    assert "40,000 → 45,000" in old["confirm"]["text"]["text"]
    limits.propose(civic, 60_000)  # bob revises his request before anyone decides

    since = slack.last_seq
    await driver.click("alice", reply, action_id="limits_approve", value=old["value"])
    again = await asked_again(driver, slack, since, "Nothing was approved yet")
    assert "Limit value: 40,000 → 60,000" in texts(again.blocks)
    assert limits.requests_to("POST", EXECUTE) == []
    assert limits.limits[civic].value == 40_000
    fresh = button(again, "limits_approve", f"limits:prod:limit:{civic}:firstApproval")
    assert "Limit value: 40,000 → 60,000" in fresh["confirm"]["text"]["text"]

    await driver.click("alice", again, action_id="limits_approve", value=fresh["value"])
    await driver.wait_for(lambda: limits.limits[civic].draft is None)
    assert limits.limits[civic].value == 60_000
    assert len(limits.requests_to("POST", EXECUTE)) == 1
    # A second click on the first card acts on nothing: approved (or being approved) already.
    await driver.click("alice", reply, action_id="limits_approve", value=old["value"])
    await driver.wait_for(
        lambda: any(
            "Already approved by <@U0ALICE>" in (m.text or "")
            or "(<@U0ALICE>) is acting on this" in (m.text or "")
            for m in replies_since(slack, "alice", since)
        )
    )
    assert len(limits.requests_to("POST", EXECUTE)) == 1
