"""The Limits emulator's state: the ping across a restart, Atoti sessions connecting, and the
workflow engine (four-eyes, six-eyes, deletions, history). A fresh emulator per test."""

from __future__ import annotations

import httpx
import pytest

from .test_emulator_protocol import ALICE, BOB, execute


@pytest.fixture
def web(emulator):
    with httpx.Client(base_url=emulator.url) as client:
        yield client


def test_ping_is_a_bare_start_time_that_changes_on_restart(web, emulator, clock):
    url = "/activeviam/limits/rest/v2/startup"
    first = web.get(url, headers={"Authorization": "Jwt machine-token"}).json()
    assert first == int(clock() * 1000)
    assert web.get(url, auth=BOB).json() == first
    clock.advance(60)
    emulator.restart()
    assert web.get(url, auth=BOB).json() == first + 60_000


def test_an_atoti_session_connecting_shows_up_in_settings(web):
    r = web.put(
        "/limits/rest/v2/limits/autoconfig/connect",
        headers={"Authorization": "Jwt machine-token"},
        json={"serverName": "apac", "serverVersion": "6.2.2"},
    )
    assert r.json() is True
    settings = web.get("/limits/rest/v2/settings", auth=BOB).json()
    assert set(settings["asOfDateDimensions"]) == {"atoti", "risk-eu", "apac"}


def test_approving_moves_the_limit_and_a_second_approval_is_a_conflict(web, emulator):
    assert emulator.limits["L-4"].status == "PENDING"
    r = execute(
        web,
        ALICE,
        taskKey="firstApproval",
        actionName="Approve",
        keys=["L-4"],
        taskVariables={"Comment": "fine"},
    )
    assert r.status_code == 200
    limit = web.get("/limits/rest/v2/limitDefinition/limits/get/L-4", auth=ALICE).json()
    assert limit["limitStatus"] == "APPROVED" and limit["workflowActions"] == []
    again = execute(web, ALICE, taskKey="firstApproval", actionName="Approve", keys=["L-4"])
    assert again.status_code == 409 and again.json()["status"] == 409


def test_six_eyes_needs_two_different_approvers(web, emulator):
    structure = emulator.structures[emulator.limits["L-10"].structure_id]
    assert structure.workflow == "limit-process-six-eyes"
    assert (
        execute(
            web, ALICE, taskKey="firstApproval", actionName="Approve", keys=["L-10"]
        ).status_code
        == 200
    )
    assert emulator.limits["L-10"].status == "PENDING"
    same = execute(web, ALICE, taskKey="secondApproval", actionName="Approve", keys=["L-10"])
    assert same.status_code == 403
    assert (
        execute(
            web,
            ("manager1", "manager1"),
            taskKey="secondApproval",
            actionName="Approve",
            keys=["L-10"],
        ).status_code
        == 200
    )
    assert emulator.limits["L-10"].status == "APPROVED"


@pytest.mark.parametrize(
    ("action", "status", "alive"), [("Approve", "DELETED", False), ("Reject", "APPROVED", True)]
)
def test_a_deletion_request_is_approved_or_rejected(web, action, status, alive):
    assert (
        execute(
            web, ALICE, taskKey="deletionApproval", actionName=action, keys=["L-16"]
        ).status_code
        == 200
    )
    limit = web.get("/limits/rest/v2/limitDefinition/limits/get/L-16", auth=ALICE).json()
    assert (limit["limitStatus"], limit["alive"]) == (status, alive)


def test_a_missing_limit_is_404_and_nothing_changes(web, emulator):
    r = execute(web, ALICE, taskKey="firstApproval", actionName="Approve", keys=["L-4", "L-999"])
    assert r.status_code == 404
    assert emulator.limits["L-4"].status == "PENDING"  # all or nothing


def test_history_records_who_did_what_on_the_fake_clock(web, clock):
    clock.now = 1_769_800_000.0  # 2026-01-30T19:06:40Z
    execute(
        web,
        ALICE,
        taskKey="firstApproval",
        actionName="Reject",
        keys=["L-22"],
        taskVariables={"Comment": "too high"},
    )
    history = web.get(
        "/activeviam/limits/rest/v2/workflow-service/workflow-history/LIMIT/L-22", auth=BOB
    ).json()
    # The request that opened the workflow (seeded), then alice's decision.
    assert [(h["user"], h.get("action"), h["status"]) for h in history] == [
        ("bob", None, "PENDING"),
        ("alice", "Reject", "REJECTED"),
    ]
    assert history[1]["timestamp"].startswith("2026-01-30T19:06:40")
    # The shape the UI parses (bas-workflow-actions BasWorkflowAuditHistorySchema): string
    # ids, variables as definitions with their value.
    assert all(isinstance(h["id"], str) for h in history)
    assert history[1]["variables"]["Comment"] == {
        "name": "Comment",
        "type": "TEXT",
        "options": [],
        "required": False,
        "value": "too high",
    }
    assert history[1]["taskName"] == "firstApproval"
    assert history[1]["differences"] == [
        {"fieldName": "limitStatus", "oldValue": "PENDING", "newValue": "REJECTED"}
    ]


def test_pending_counts_per_structure_follow_the_workflow(web):
    def pending() -> int:
        rows = web.post(
            "/limits/rest/v2/limitDefinition/inventory-structures/filter", auth=BOB, json={}
        ).json()
        return sum(r["numberOfPendingApprovals"] for r in rows)

    before = pending()
    assert before == 5
    execute(web, ALICE, taskKey="firstApproval", actionName="Approve", keys=["L-4"])
    assert pending() == before - 1
