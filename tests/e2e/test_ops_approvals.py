"""`/ops approvals`: everything waiting on the caller across the platforms they linked, with
the same cards and buttons as Home's "Waiting on you", for the caller alone. A click acts once
and draws the caller's list again; nothing waiting says so."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from bot.demo import DEMO_LINKS, DemoPlatforms
from emulators.astakos import OTHER_TOKENS
from emulators.slack_models import Message
from tests.e2e.helpers import link, reply_to, seen_by, texts

ACTION = "/account/v1.0/commissions/{serial}/action"
EXECUTE = "/workflow-service/execute-task-action"


@pytest.fixture(scope="module")
def fresh_world() -> Iterator[DemoPlatforms]:
    # Not the shared demo world: these tests approve Limits tasks, and Limits cannot be reset,
    # so this module starts its own emulators (a clean Limits seed) once.
    with ExitStack() as stack:
        yield DemoPlatforms.start(stack)


@pytest.fixture
def world(fresh_world: DemoPlatforms) -> DemoPlatforms:
    for emulator in fresh_world.emulators.values():
        reset = getattr(emulator, "reset", None)
        if reset is not None:
            reset()
        emulator.requests.clear()
    return fresh_world


@pytest.fixture
def platforms(world: DemoPlatforms) -> dict[str, list[dict[str, Any]]]:
    return {key: [dict(i) for i in instances] for key, instances in world.platforms.items()}


async def link_demo(driver, slack, user: str, *platforms: str) -> None:
    for who, platform, values in DEMO_LINKS:
        if who == user and platform in platforms:
            assert "Linked" in await link(driver, slack, user, platform, values)


def buttons(message: Message, action_id: str) -> list[dict[str, Any]]:
    return [
        e
        for blk in message.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == action_id
    ]


def waiting_count(message: Message) -> int:
    line = next(t for t in texts(message.blocks).splitlines() if "waiting on you" in t)
    return int(line.split("*")[1])


def now(slack, message: Message) -> Message:
    return slack.workspace.find(message.channel, message.ts) or message


async def test_lists_astakos_and_limits_with_buttons_that_act_once(driver, slack, bot, world):
    await link_demo(driver, slack, "alice", "astakos", "limits", "dss")
    reply = await reply_to(driver, slack, "alice", "/ops", "approvals", expect="waiting on you")
    body = texts(reply.blocks)
    # Both platforms with approvals, each card headed by its platform; DSS has none to show.
    assert "*Synnefo Astakos (okeanos)*" in body and "*Atoti Limits (risk)*" in body
    accept, approve = buttons(reply, "astakos_act"), buttons(reply, "limits_approve")
    assert accept and approve and buttons(reply, "astakos_ask_reason")
    waiting = waiting_count(reply)
    astakos, limits = world.emulators["astakos"], world.emulators["limits"]
    pending = {k for k, v in limits.limits.items() if v.task}

    # Approve a limit: Atoti Limits acts once, and the list is drawn again in place with the
    # card acted on first (who and when) and one fewer waiting.
    target = json.loads(approve[0]["value"])["approval"].split(":")[3]
    await driver.click("alice", reply, action_id="limits_approve", value=approve[0]["value"])
    await driver.wait_for(lambda: "Approved* by <@U0ALICE>" in texts(now(slack, reply).blocks))
    assert limits.limits[target].task is None or limits.limits[target].task != "firstApproval"
    assert len(limits.requests_to("POST", EXECUTE)) == 1
    again = now(slack, reply)
    assert waiting_count(again) == waiting - 1
    assert approve[0]["value"] not in [e["value"] for e in buttons(again, "limits_approve")]
    assert {k for k, v in limits.limits.items() if v.task} == pending - {target}

    # Accept a commission with a double click: Astakos is asked once; the loser is told.
    serial = int(json.loads(accept[0]["value"])["approval"].split(":")[3])
    since = slack.last_seq
    await asyncio.gather(
        driver.click("alice", again, action_id="astakos_act", value=accept[0]["value"]),
        driver.click("alice", again, action_id="astakos_act", value=accept[0]["value"]),
    )
    await driver.wait_for(lambda: "Accepted* by <@U0ALICE>" in texts(now(slack, reply).blocks))
    await driver.wait_for(
        lambda: (
            "Already accepted by <@U0ALICE>" in seen_by(slack, "alice", since=since)
            or "(<@U0ALICE>) is acting on this" in seen_by(slack, "alice", since=since)
        )
    )
    assert astakos.commission(serial) is None
    assert len(astakos.requests_to("POST", ACTION.format(serial=serial))) == 1
    assert waiting_count(now(slack, reply)) == waiting - 2


async def test_one_platform_only(driver, slack, bot, world):
    await link_demo(driver, slack, "alice", "astakos", "limits")
    reply = await reply_to(
        driver, slack, "alice", "/ops", "approvals limits", expect="waiting on you"
    )
    body = texts(reply.blocks)
    assert "*Atoti Limits (risk)*" in body and "Synnefo Astakos" not in body
    assert buttons(reply, "limits_approve") and not buttons(reply, "astakos_act")


async def test_nothing_waiting_says_so(driver, slack, bot, world):
    # Only DSS linked: no platform with approvals.
    await link_demo(driver, slack, "alice", "dss")
    reply = await reply_to(driver, slack, "alice", "/ops", "approvals", expect="Nothing is")
    assert "none of your linked accounts is on a platform with approvals" in texts(reply.blocks)
    assert not buttons(reply, "astakos_act") and not buttons(reply, "limits_approve")

    # A platform with approvals linked, but nothing of it waits on this account.
    values = {"token": OTHER_TOKENS["astakos"]}
    assert "Linked" in await link(driver, slack, "alice", "astakos", values)
    reply = await reply_to(
        driver, slack, "alice", "/ops", "approvals", expect="Nothing is waiting on you."
    )
    assert "none of your linked accounts" not in texts(reply.blocks)


async def test_a_long_list_is_cut_with_what_is_left(driver, slack, bot, world):
    await link_demo(driver, slack, "alice", "astakos")
    astakos = world.emulators["astakos"]
    alice = astakos.user_by_name("alice").uuid
    for n in range(30):  # 30 more pending commissions of one VM each, forced past the limits
        astakos.issue(
            "cyclades",
            [
                {
                    "holder": f"user:{alice}",
                    "source": f"project:{alice}",
                    "resource": "cyclades.vm",
                    "quantity": 1,
                },
                {
                    "holder": f"project:{alice}",
                    "source": None,
                    "resource": "cyclades.vm",
                    "quantity": 1,
                },
            ],
            name=f"create vm load-{n}",
            force=True,
        )
    reply = await reply_to(driver, slack, "alice", "/ops", "approvals", expect="waiting on you")
    assert len(reply.blocks) <= 50
    total = waiting_count(reply)
    shown = len(buttons(reply, "astakos_act"))
    assert total >= 30 and 0 < shown < total
    assert f"…and {total - shown} more: open Home" in texts(reply.blocks)
