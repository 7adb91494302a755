"""Atoti Limits breaches in conversing alerts (issue #14), end to end through signed Slack
requests: a breach is one parent message; its workflow status moving on is a reply in its
thread, a new evaluation of the same breach is no news, and once the server no longer reports
it, "Cleared" is told in the thread and the parent's state line says so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.limits import DEMO as LIMITS_DEMO
from emulators.limits import LimitsEmulator
from emulators.slack import SlackEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, reply_to, texts
from tests.support.bot import make_settings

ALICE_DM = "D0ALICE"


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:  # its incidents are changed here: one per test
        yield emulator


@pytest.fixture
def platforms(limits: LimitsEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"limits": [{"name": "risk", "url": limits.url}]}


@pytest.fixture
def settings(tmp_path, slack, platforms):
    return make_settings(tmp_path, slack, platforms=platforms, slack_channel_interval=0.05)


def alert_messages(slack: SlackEmulator) -> list[Message]:
    return [
        m
        for m in slack.messages(ALICE_DM)
        if (m.metadata or {}).get("event_type") == "switchboard_digest"
    ]


def parents(slack: SlackEmulator) -> list[Message]:
    return [m for m in alert_messages(slack) if m.thread_ts is None]


def replies(slack: SlackEmulator, parent: Message) -> list[Message]:
    return [m for m in slack.messages(ALICE_DM) if m.thread_ts == parent.ts and m.ts != parent.ts]


def now(slack: SlackEmulator, message: Message) -> Message:
    found = slack.workspace.find(message.channel, message.ts)
    assert found is not None
    return found


def state_line(message: Message) -> str:
    [line] = [b for b in message.blocks if b.get("block_id") == "alert_state"]
    return texts([line])


async def poll(driver, slack) -> None:
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")


async def test_a_breach_is_one_thread_until_it_clears(driver, slack, limits, bot):
    values = {k: LIMITS_DEMO["alice"][k] for k in ("username", "password")}
    assert "Linked" in await link(driver, slack, "alice", "limits", values)
    await reply_to(
        driver, slack, "alice", "/ops", "alert add limits.breaches", expect="Alert added"
    )
    await poll(driver, slack)
    first = parents(slack)
    assert first and all(replies(slack, p) == [] for p in first)
    latest = max(i["asOfDate"] for i in limits.incidents)
    breach = next(
        i for i in limits.incidents if i["incidentType"] == "Breach" and i["asOfDate"] == latest
    )
    parent = next(p for p in first if breach["incidentId"] in p.metadata["event_payload"]["run"])
    assert "State: *breach, open*" in state_line(parent)

    # Evaluated again (a new incident of the same limit at the same place): no news.
    limits.record_incident(breach["limitId"], as_of=latest, measure_value=breach["measureValue"])
    await poll(driver, slack)
    assert parents(slack) == first and replies(slack, parent) == []

    # Its workflow moves on: a reply in its thread, not broadcast; the state line follows.
    same = [
        i
        for i in limits.incidents
        if i["limitId"] == breach["limitId"] and i["location"] == breach["location"]
    ]
    for incident in same:
        incident["status"] = "ACKNOWLEDGED"
    await poll(driver, slack)
    [acknowledged] = replies(slack, parent)
    assert not acknowledged.reply_broadcast
    assert "State: *breach, acknowledged*" in state_line(now(slack, parent))

    # The server no longer reports it: cleared, told once in its thread.
    for incident in same:
        limits.incidents.remove(incident)
    await poll(driver, slack)
    await poll(driver, slack)
    assert [m for m in replies(slack, parent) if m.ts != acknowledged.ts] == [
        replies(slack, parent)[-1]
    ]
    cleared = replies(slack, parent)[-1]
    assert texts(cleared.blocks).startswith("*Cleared*") and not cleared.reply_broadcast
    assert "State: *cleared*" in state_line(now(slack, parent))
    assert now(slack, parent).edited
    # The other breaches were not touched: still one message each, no reply.
    assert parents(slack) == [p if p.ts != parent.ts else now(slack, parent) for p in first]
    assert all(replies(slack, p) == [] for p in first if p.ts != parent.ts)


async def test_a_subject_its_new_filters_leave_out_is_not_told_as_gone(driver, slack, limits, bot):
    """Narrowing an alert (`/ops alert edit`) is not the platform clearing what it no longer
    shows: the threads of the breaches filtered out get no "Cleared", then or once the
    filters are lifted again (listed again: no news), and one that then really goes is."""
    values = {k: LIMITS_DEMO["alice"][k] for k in ("username", "password")}
    assert "Linked" in await link(driver, slack, "alice", "limits", values)
    await reply_to(
        driver, slack, "alice", "/ops", "alert add limits.breaches", expect="Alert added"
    )
    await poll(driver, slack)
    first = parents(slack)
    latest = max(i["asOfDate"] for i in limits.incidents)
    kept, other = [
        i for i in limits.incidents if i["incidentType"] == "Breach" and i["asOfDate"] == latest
    ][:2]
    assert kept["limitId"] != other["limitId"] and len(first) > 2

    await reply_to(
        driver, slack, "alice", "/ops", f"alert edit 1 name~{kept['limitId']}", expect="#1"
    )
    await poll(driver, slack)
    await reply_to(driver, slack, "alice", "/ops", "alert edit 1 clear", expect="#1")
    await poll(driver, slack)
    assert parents(slack) == first
    assert all(replies(slack, p) == [] for p in first)

    # Still followed: a breach the server really stops reporting is told as cleared.
    parent = next(p for p in first if other["incidentId"] in p.metadata["event_payload"]["run"])
    for incident in [
        i
        for i in limits.incidents
        if i["limitId"] == other["limitId"] and i["location"] == other["location"]
    ]:
        limits.incidents.remove(incident)
    await poll(driver, slack)
    [cleared] = replies(slack, parent)
    assert texts(cleared.blocks).startswith("*Cleared*")
