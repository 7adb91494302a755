"""The Limits emulator speaks the wire protocol of the spec: Basic auth, ProblemDetail errors,
incidents, unknown paths. These tests change nothing, so they share one emulator."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest

from emulators.limits import BUSY_DATE, DEMO, LATEST_DATE

ALICE = (DEMO["alice"]["username"], DEMO["alice"]["password"])
BOB = (DEMO["bob"]["username"], DEMO["bob"]["password"])
EXECUTE = "/activeviam/limits/rest/v2/workflow-service/execute-task-action"


def execute(web: httpx.Client, auth, **dto) -> httpx.Response:
    part = (None, json.dumps({"workflowType": "LIMIT", **dto}).encode(), "application/json")
    return web.post(EXECUTE, auth=auth, files={"workflowTaskActionExecutionDTO": part})


def incidents(web: httpx.Client, auth, *conditions) -> list[dict]:
    r = web.post(
        "/limits/rest/v2/incidents/all/filter",
        auth=auth,
        json={"incidentConditions": list(conditions)},
    )
    r.raise_for_status()
    return r.json()


@pytest.fixture
def emulator(shared_emulator):
    return shared_emulator


@pytest.fixture
def web(emulator):
    with httpx.Client(base_url=emulator.url) as client:
        yield client


def test_no_credentials_get_401_problem_detail_with_basic_challenge(web):
    r = web.get("/limits/rest/v2/settings")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Basic")
    body = r.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized"
    assert body["instance"] == "/limits/rest/v2/settings"


def test_a_wrong_password_is_refused(web):
    r = web.get("/limits/rest/v2/settings", auth=("alice", "nope"))
    assert r.status_code == 401 and r.json()["detail"] == "Bad credentials"


def test_a_user_without_the_limits_role_is_forbidden(web, emulator):
    emulator.add_user("guest", "guest", ["ROLE_USER"])
    r = web.get("/limits/rest/v2/settings", auth=("guest", "guest"))
    assert r.status_code == 403 and "ROLE_LIMITS" in r.json()["detail"]


def test_the_busy_date_has_120_breaches_and_warnings_in_title_case(web):
    rows = incidents(web, BOB, {"fieldName": "As Of Date", "possibleValues": [BUSY_DATE]})
    assert len(rows) == 120
    kinds = Counter(r["incidentType"] for r in rows)
    assert set(kinds) == {"Breach", "Warning"} and min(kinds.values()) > 10
    dates = web.get("/limits/rest/v2/incidents/as-of-dates", auth=BOB).json()
    assert dates[-1] == LATEST_DATE and BUSY_DATE in dates


def test_incident_values_agree_with_their_type(web):
    for row in incidents(web, BOB, {"fieldName": "Incident Type", "possibleValues": ["Breach"]}):
        assert row["measureValue"] / row["limitValue"] >= 0.999
    for row in incidents(web, BOB, {"fieldName": "Incident Type", "possibleValues": ["Warning"]}):
        assert row["measureValue"] / row["limitValue"] < 1


def test_an_unknown_incident_filter_field_is_a_400(web):
    r = web.post(
        "/limits/rest/v2/incidents/all/filter",
        auth=BOB,
        json={"incidentConditions": [{"fieldName": "Colour", "possibleValues": []}]},
    )
    assert r.status_code == 400 and "Colour" in r.json()["detail"]


def test_task_actions_must_be_multipart(web):
    r = web.post(
        EXECUTE,
        auth=ALICE,
        json={"taskKey": "firstApproval", "actionName": "Approve", "keys": ["L-4"]},
    )
    assert r.status_code == 415


def test_an_ordinary_user_sees_disabled_actions_and_cannot_approve(web, emulator):
    limit = web.get("/limits/rest/v2/limitDefinition/limits/get/L-4", auth=BOB).json()
    assert [a["enabled"] for a in limit["workflowActions"]] == [False, False]
    r = execute(web, BOB, taskKey="firstApproval", actionName="Approve", keys=["L-4"])
    assert r.status_code == 403 and "ROLE_MANAGERS" in r.json()["detail"]
    assert emulator.limits["L-4"].status == "PENDING"


def test_unknown_paths_get_spring_default_404_after_authentication(web):
    assert web.get("/limits/rest/v2/nothing").status_code == 401
    r = web.get("/limits/rest/v2/nothing", auth=BOB)
    assert r.status_code == 404 and r.json()["error"] == "Not Found"


def test_an_injected_fault_answers_with_a_problem_detail(web, emulator):
    emulator.faults.set(status=503, remaining=1)
    r = web.get("/limits/rest/v2/settings", auth=BOB)
    assert r.status_code == 503 and r.json()["title"] == "Service Unavailable"


# -- what the official UI (source maps in PyPI atoti-server-limits 6.2.2) does and expects -------
def test_versions_are_public(web):
    # limits-app-extension src/index.tsx: fetch(`${url}/versions/rest`) with no credentials.
    r = web.get("/versions/rest")
    assert r.status_code == 200
    body = r.json()
    assert body["serverVersion"] == "6.2.2"
    assert (
        body["apis"]["activeviam/pivot"]["versions"][0]["restPath"] == "/activeviam/pivot/rest/v10"
    )


def test_incidents_are_filtered_on_the_columns_the_ui_sends(web):
    latest = incidents(
        web,
        BOB,
        {"fieldName": "As Of Date", "possibleValues": [LATEST_DATE]},
        {"fieldName": "Incident Type", "possibleValues": ["Breach", "Warning"]},
    )
    chosen = [latest[0]["incidentId"], latest[1]["incidentId"]]
    by_id = incidents(web, BOB, {"fieldName": "Incident ID", "possibleValues": chosen})
    assert [i["incidentId"] for i in by_id] == chosen
    r = web.post(
        "/limits/rest/v2/incidents/all/filter",
        auth=BOB,
        json={"incidentConditions": [{"fieldName": "Limit ID", "possibleValues": ["L-6"]}]},
    )
    assert r.status_code == 400  # a column the UI never sends is not one to rely on


def test_the_task_action_part_must_be_typed_json(web):
    dto = json.dumps(
        {
            "workflowType": "LIMIT",
            "taskKey": "firstApproval",
            "actionName": "Approve",
            "keys": ["L-4"],
        }
    ).encode()
    r = web.post(EXECUTE, auth=ALICE, files={"workflowTaskActionExecutionDTO": ("blob", dto)})
    assert r.status_code == 415


def test_structure_workflow_variables_are_full_definitions(web, emulator):
    sid = next(iter(emulator.structures))
    r = web.get(f"/limits/rest/v2/limitDefinition/structure/get/{sid}", auth=BOB)
    variables = r.json()["workflowsByBusinessFunction"]["Limit Changes"]["variablesByName"]
    for name, variable in variables.items():
        assert {"name", "type", "options", "required"} <= set(variable)
        assert variable["name"] == name and variable["value"] in variable["options"]
