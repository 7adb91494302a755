"""App Home is the dashboard: the approvals waiting on the viewer, from every platform they
linked, with their buttons and the same one-click claim as everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from bot.demo import DEMO_LINKS, DemoPlatforms
from tests.e2e.helpers import link, reply_to, seen_by, texts


@pytest.fixture(scope="module")
def fresh_world() -> Iterator[DemoPlatforms]:
    # Not the shared demo world: these tests act on Limits approvals, and Limits cannot be
    # reset, so this module starts its own emulators (clean Limits seed) once.
    with ExitStack() as stack:
        yield DemoPlatforms.start(stack)


@pytest.fixture
def world(fresh_world: DemoPlatforms) -> DemoPlatforms:
    for emulator in fresh_world.emulators.values():
        reset = getattr(emulator, "reset", None)
        if reset is not None:
            reset()
    return fresh_world


@pytest.fixture
def platforms(world: DemoPlatforms) -> dict[str, list[dict[str, Any]]]:
    return {key: [dict(i) for i in instances] for key, instances in world.platforms.items()}


def buttons(view, action_id: str) -> list[dict[str, Any]]:
    return [
        e
        for blk in view.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == action_id
    ]


async def test_home_shows_what_waits_on_the_viewer_with_working_buttons(driver, slack, bot, world):
    for user, platform, values in DEMO_LINKS:
        if user == "alice":
            assert "Linked" in await link(driver, slack, user, platform, values)
    published = len(slack.calls("views.publish"))
    await driver.home_opened("alice")
    home = await driver.wait_for(
        lambda: len(slack.calls("views.publish")) > published and slack.home("alice")
    )
    body = texts(home.blocks)
    assert "Waiting on you" in body
    # Astakos commissions (alice holds the service token) and Limits approvals, with buttons.
    assert "*Synnefo Astakos (okeanos)*" in body and "*Atoti Limits (risk)*" in body
    approve = buttons(home, "limits_approve")
    assert approve and buttons(home, "astakos_act")
    waiting = int(body.split(" approval(s) waiting on you.")[0].rsplit("\n", 1)[-1])
    limits = world.emulators["limits"]
    before = {k: v.status for k, v in limits.limits.items()}
    # The same approval, also shown by `/limits pending` (another copy of its card).
    listed = await reply_to(
        driver, slack, "alice", "/limits", "pending", expect="waiting for approval"
    )

    # Approve one limit from the Home tab: the platform acts, the tab is drawn again.
    published = len(slack.calls("views.publish"))
    await driver.click("alice", home, action_id="limits_approve", value=approve[0]["value"])
    await driver.wait_for(lambda: len(slack.calls("views.publish")) > published)
    changed = [k for k, v in limits.limits.items() if v.status != before[k]]
    assert len(changed) == 1
    again = texts(slack.home("alice").blocks)
    assert f"{waiting - 1} approval(s) waiting on you." in again

    # A click on the other copy: the same claim says who already acted; nothing runs twice.
    await driver.click("alice", listed, action_id="limits_approve", value=approve[0]["value"])
    await driver.wait_for(lambda: "Already approved by <@U0ALICE>" in seen_by(slack, "alice"))
    assert [k for k, v in limits.limits.items() if v.status != before[k]] == changed


async def test_nothing_waiting_says_so(driver, slack, bot, world):
    for user, platform, values in DEMO_LINKS:
        if user == "alice" and platform == "dss":
            await link(driver, slack, user, platform, values)
    await driver.home_opened("alice")
    home = await driver.wait_for(lambda: slack.home("alice"))
    assert "Waiting on you" not in texts(home.blocks)  # no platform with approvals linked


def resolve_all_label(message) -> str:
    return next(
        (
            e["text"]["text"]
            for blk in message.blocks
            if blk.get("type") == "actions"
            for e in blk["elements"]
            if e.get("action_id") == "astakos_resolve_all"
        ),
        "",
    )


async def test_after_a_click_the_shared_list_counts_agree(driver, slack, bot, world):
    for user, platform, values in DEMO_LINKS:
        if user == "alice" and platform in ("astakos", "limits"):
            assert "Linked" in await link(driver, slack, user, platform, values)
    since = slack.last_seq
    await driver.command("alice", "/astakos", "commissions share", channel="C0OPS")
    post = await driver.wait_for(
        lambda: next(
            (
                m
                for m in slack.messages("C0OPS")
                if m.ts and "Pending commissions" in texts(m.blocks) and slack.events_since(since)
            ),
            None,
        )
    )
    label = resolve_all_label(post)
    n = int(label.split("(")[1].rstrip(")"))
    assert n >= 2
    accept = next(
        e
        for blk in post.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == "astakos_act"
    )
    await driver.click("alice", post, action_id="astakos_act", value=accept["value"])
    now = await driver.wait_for(
        lambda: (
            (m := slack.workspace.find(post.channel, post.ts))
            and "Accepted* by <@U0ALICE>" in texts(m.blocks)
            and m
        )
    )
    assert resolve_all_label(now) == f"Resolve all ({n - 1})"

    # A digest's "n limit(s) waiting" line follows a click on one of its cards.
    await reply_to(
        driver, slack, "alice", "/ops", "digest add limits every 30m", expect="Digest added"
    )
    await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")
    digest = await driver.wait_for(
        lambda: next(
            (m for m in slack.messages("D0ALICE") if "limit(s) waiting" in texts(m.blocks)), None
        )
    )
    line = next(t for t in texts(digest.blocks).splitlines() if "limit(s) waiting" in t)
    waiting = int(line.split("*")[1])
    approve = next(
        e
        for blk in digest.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == "limits_approve"
    )
    await driver.click("alice", digest, action_id="limits_approve", value=approve["value"])
    await driver.wait_for(
        lambda: (
            f"*{waiting - 1}* limit(s) waiting"
            in texts(slack.workspace.find(digest.channel, digest.ts).blocks)
        )
    )


async def test_reject_from_home_asks_a_comment_then_rejects_and_draws_the_tab_again(
    driver, slack, bot, world
):
    for user, platform, values in DEMO_LINKS:
        if user == "alice" and platform == "limits":
            assert "Linked" in await link(driver, slack, user, platform, values)
    await driver.home_opened("alice")
    home = await driver.wait_for(lambda: slack.home("alice"))
    # L-22 waits on alice's approval (the demo's others may be hers to submit, not decide).
    limit_id = "L-22"
    [reject] = [
        e
        for e in buttons(home, "limits_reject")
        if json.loads(e["value"])["approval"].split(":")[3] == limit_id
    ]
    limits = world.emulators["limits"]
    opened = len(slack.views_opened("alice"))
    await driver.click("alice", home, action_id="limits_reject", value=reject["value"])
    modal = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    assert f"Reject limit *{limit_id}*" in texts(modal.blocks)

    published = len(slack.calls("views.publish"))
    await driver.submit("alice", modal, {"comment": "not this quarter"})
    await driver.wait_for(lambda: limits.limits[limit_id].status == "REJECTED")
    assert limits.limits[limit_id].comment == "not this quarter"
    # The tab is drawn again without that card's buttons.
    await driver.wait_for(lambda: len(slack.calls("views.publish")) > published)
    assert reject["value"] not in [
        b["value"] for b in buttons(slack.home("alice"), "limits_reject")
    ]
