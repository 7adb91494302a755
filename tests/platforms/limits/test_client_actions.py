"""LimitsClient workflow actions and failures against a fresh emulator per test: approve,
reject, conflicts, permissions, faults."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot import errors
from bot.platforms.base import InstanceConfig
from bot.platforms.limits.platform import LimitsPlatform
from emulators.limits import LATEST_DATE


async def test_a_server_with_structures_but_no_connection_is_shown_disconnected(
    client, bob, emulator
):
    del emulator.servers["atoti"]
    servers = {s.name: s for s in (await client.status(bob)).servers}
    assert not servers["atoti"].connected and servers["atoti"].structures == 1


async def test_a_new_breach_appears(client, bob, emulator):
    before = (await client.breaches(bob)).breach_count
    emulator.record_incident("L-1", as_of=LATEST_DATE, measure_value=48_000)
    assert (await client.breaches(bob)).breach_count == before + 1


async def test_approve_changes_the_status_and_leaves_the_pending_list(client, alice, emulator):
    outcome = await client.approve(alice, limit_id="L-4", comment="ok for Q1")
    assert (outcome.status_before, outcome.status, outcome.still_pending) == (
        "PENDING",
        "APPROVED",
        False,
    )
    assert "L-4" not in {p.limit_id for p in await client.pending(alice)}
    requested, entry = await client.history(alice, limit_id="L-4")
    assert (requested.user, requested.activity, requested.status) == (
        "bob",
        "startEvent",
        "PENDING",
    )
    assert (entry.user, entry.action, entry.status) == ("alice", "Approve", "APPROVED")
    assert entry.variables == (("Comment", "ok for Q1"),)
    assert emulator.limits["L-4"].comment == "ok for Q1"


async def test_approving_twice_is_a_conflict(client, alice):
    await client.approve(alice, limit_id="L-17")
    with pytest.raises(errors.Conflict, match="already handled"):
        await client.approve(alice, limit_id="L-17")


async def test_two_simultaneous_approvals_one_wins_one_conflicts(client, alice, manager1):
    results = await asyncio.gather(
        client.approve(alice, limit_id="L-22"),
        client.approve(manager1, limit_id="L-22"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "TaskOutcome"]


async def test_a_workflow_that_lost_its_task_between_read_and_act_is_a_conflict(
    client, alice, emulator
):
    emulator.faults.set(
        path_prefix="/activeviam/limits/rest/v2/workflow-service", status=409, remaining=1
    )
    with pytest.raises(errors.Conflict):
        await client.approve(alice, limit_id="L-4")


async def test_bob_approving_is_forbidden_and_nothing_changes(client, bob, emulator):
    with pytest.raises(errors.Forbidden, match="ROLE_MANAGERS"):
        await client.approve(bob, limit_id="L-4")
    assert emulator.limits["L-4"].status == "PENDING"


async def test_reject_marks_a_new_limit_rejected(client, alice):
    outcome = await client.reject(alice, limit_id="L-22", comment="too high")
    assert (outcome.action, outcome.status) == ("Reject", "REJECTED")


async def test_six_eyes_reports_the_second_step_and_a_stale_button_conflicts(
    client, alice, manager1
):
    first = await client.approve(alice, limit_id="L-10", task_key="firstApproval")
    assert first.still_pending and first.status == "PENDING"
    with pytest.raises(errors.Conflict, match="moved on"):
        await client.approve(manager1, limit_id="L-10", task_key="firstApproval")
    with pytest.raises(errors.Forbidden):
        await client.approve(alice, limit_id="L-10")  # the same person cannot give both
    second = await client.approve(manager1, limit_id="L-10")
    assert (second.task_key, second.status, second.still_pending) == (
        "secondApproval",
        "APPROVED",
        False,
    )


async def test_approving_a_deletion_deletes(client, alice):
    outcome = await client.approve(alice, limit_id="L-16")
    assert outcome.status == "DELETED"
    assert not (await client.limit(alice, limit_id="L-16")).alive


async def test_the_action_goes_as_a_multipart_json_part(client, alice, emulator):
    await client.approve(alice, limit_id="L-4", comment="fine")
    [sent] = emulator.requests_to("POST", "execute-task-action")
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="workflowTaskActionExecutionDTO"' in sent.body
    dto = json.loads(sent.body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0])
    assert dto == {
        "taskKey": "firstApproval",
        "actionName": "Approve",
        "workflowType": "LIMIT",
        "keys": ["L-4"],
        "taskVariables": {"Comment": "fine"},
    }


async def test_a_hung_server_is_unavailable_after_the_timeout(emulator, bob):
    platform = LimitsPlatform([InstanceConfig(name="prod", url=emulator.url, timeout=0.3)])
    emulator.faults.set(hang=True)
    try:
        with pytest.raises(errors.Unavailable, match="no answer"):
            await platform.client().pending(bob)
    finally:
        emulator.faults.clear()
        await platform.aclose()


async def test_a_stopped_server_is_unavailable(emulator, bob):
    platform = LimitsPlatform([InstanceConfig(name="prod", url=emulator.url)])
    emulator.stop()
    try:
        with pytest.raises(errors.Unavailable, match="could not connect"):
            await platform.client().status(bob)
    finally:
        await platform.aclose()


async def test_task_variables_come_from_the_offered_input_fields(
    client, alice, emulator, monkeypatch
):
    # A workflow whose text field is named "Justification", with a required choice.
    original = emulator._limit_json

    def renamed(limit, user):
        body = original(limit, user)
        for action in body["workflowActions"]:
            action["taskInputFields"] = [
                {
                    "label": "Why",
                    "taskVariable": "Justification",
                    "inputType": "TEXT",
                    "required": False,
                    "hidden": False,
                    "options": [],
                },
                {
                    "label": "Desk head",
                    "taskVariable": "Escalate",
                    "inputType": "SELECT",
                    "required": True,
                    "hidden": False,
                    "options": ["no", "yes"],
                    "defaultValue": "no",
                },
            ]
        return body

    monkeypatch.setattr(emulator, "_limit_json", renamed)
    await client.approve(alice, limit_id="L-4", comment="ok for Q1")
    [sent] = [r for r in emulator.requests if r.path.endswith("/execute-task-action")]
    assert b'"taskVariables": {"Justification": "ok for Q1", "Escalate": "no"}' in sent.body
    # The part as the UI's FormData sends a JSON Blob: named, typed, with the file name "blob".
    assert (
        b'Content-Disposition: form-data; name="workflowTaskActionExecutionDTO"; filename="blob"'
    ) in sent.body
    assert b"Content-Type: application/json" in sent.body
