"""Astakos requests in conversing alerts (issue #14), end to end through signed Slack
requests: a membership request is one parent message with its card; accepted on Astakos
itself, "Resolved elsewhere" is told once in its thread and its state line says so."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.astakos import CHEM, DEMO, AstakosEmulator
from emulators.slack import SlackEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, reply_to, texts

ALICE_TOKEN = DEMO["alice"]["token"]


@pytest.fixture
def platforms(astakos: AstakosEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"astakos": [{"name": "prod", "url": f"{astakos.url}/identity/v2.0"}]}


def now(slack: SlackEmulator, message: Message) -> Message:
    found = slack.workspace.find(message.channel, message.ts)
    assert found is not None
    return found


def state_line(message: Message) -> str:
    [line] = [b for b in message.blocks if b.get("block_id") == "alert_state"]
    return texts([line])


async def test_a_request_accepted_on_astakos_is_resolved_elsewhere_in_its_thread(
    driver, slack, astakos, bot
):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})  # owns chem and bio
    await reply_to(
        driver, slack, "alice", "/ops", "alert add astakos.memberships", expect="Alert added"
    )
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="2 new item(s)")
    carol = next(
        m for m in astakos.memberships.values() if m.project == CHEM and m.state == "requested"
    )
    [parent] = [
        m
        for m in slack.messages("D0ALICE")
        if m.thread_ts is None and f"membership:{carol.id}" in str(m.metadata)
    ]
    assert "State: *waiting for approval*" in state_line(parent)

    carol.state = "accepted"  # someone accepts it on Astakos itself
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="1 new item(s)")
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="0 new item(s)")
    [told] = [m for m in slack.messages("D0ALICE") if m.thread_ts == parent.ts]
    assert texts(told.blocks).startswith("*Resolved elsewhere*") and not told.reply_broadcast
    assert "State: *resolved elsewhere*" in state_line(now(slack, parent))
    # The other request is still waiting, and nothing was said about it.
    others = [m for m in slack.messages("D0ALICE") if m.thread_ts is None and m.ts != parent.ts]
    assert [m for m in slack.messages("D0ALICE") if m.thread_ts and m.ts != told.ts] == []
    assert all("State: *waiting for approval*" in state_line(m) for m in others if m.metadata)
