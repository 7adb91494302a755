"""The DSS emulator speaks the protocol: auth forms, paths, errors, futures, rights, keys."""

from __future__ import annotations

import base64

import httpx
import pytest

from emulators.dss import DSS_VERSION, DSSEmulator

from .conftest import ALICE, BAD_KEY, BOB, GLOBAL_ADMIN

API = "/dip/publicapi"
# One client for the module: a new httpx client per call costs an SSL context each time.
WEB = httpx.Client(timeout=5)


def get(dss, path, key=ALICE, **kw):
    return WEB.get(f"{dss.url}{API}{path}", auth=(key, ""), **kw)


def assert_dss_error(response, status):
    assert response.status_code == status
    body = response.json()
    assert body["errorType"].startswith("com.dataiku.")
    assert body["message"] and body["detailedMessage"] == body["message"]
    assert response.headers["DSS-Version"] == DSS_VERSION
    assert response.headers["DSS-API-Version"]
    return body


# -- transport and authentication ------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic " + base64.b64encode(f"{ALICE}:".encode()).decode()},
        {"Authorization": "Basic " + base64.b64encode(f":{ALICE}".encode()).decode()},
        {"Authorization": f"Bearer {ALICE}"},
    ],
)
def test_all_three_key_forms_authenticate(dss, headers):
    r = WEB.get(f"{dss.url}{API}/auth/info", headers=headers)
    assert r.status_code == 200
    assert r.json()["associatedDSSUser"] == "alice"
    assert r.headers["DSS-Version"] == DSS_VERSION


def test_missing_or_bad_key_is_401_with_dss_error_body_that_never_echoes_the_key(dss):
    assert_dss_error(WEB.get(f"{dss.url}{API}/auth/info"), 401)
    r = get(dss, "/auth/info", key=BAD_KEY)
    assert_dss_error(r, 401)
    assert BAD_KEY not in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/dip/publicapi/auth/info",
        "/public/api/auth/info",
        "//dip/publicapi/auth/info/",
        "/public/api//auth//info/",
    ],
)
def test_both_prefixes_double_and_trailing_slashes_reach_the_same_route(dss, path):
    r = WEB.get(f"{dss.url}{path}", auth=(BOB, ""))
    assert r.status_code == 200 and r.json()["authIdentifier"] == "bob"


def test_auth_info_for_users_and_a_global_key(dss):
    alice = get(dss, "/auth/info").json()
    assert alice["authSource"] == "PERSONAL_API_KEY"
    assert set(alice["groups"]) == {"administrators", "data_team"}
    bob = get(dss, "/auth/info", key=BOB).json()
    assert bob["userProfile"] == "DATA_SCIENTIST"
    glob = get(dss, "/auth/info", key=GLOBAL_ADMIN).json()
    assert glob["authSource"] == "GLOBAL_API_KEY" and "associatedDSSUser" not in glob


def test_admin_key_may_impersonate_others_may_not(dss):
    r = get(dss, "/auth/info", headers={"X-DKU-ProxyUser": "bob"})
    assert r.json()["authIdentifier"] == "bob" and r.json()["via"] == ["alice"]
    # acting as bob, alice's admin rights are gone
    assert_dss_error(get(dss, "/admin/variables/", headers={"X-DKU-ProxyUser": "bob"}), 403)
    assert_dss_error(get(dss, "/auth/info", key=BOB, headers={"X-DKU-ProxyUser": "alice"}), 403)


def test_every_error_carries_the_body_and_version_headers(dss):
    assert_dss_error(get(dss, "/no/such/endpoint"), 404)
    assert_dss_error(WEB.get(f"{dss.url}/elsewhere"), 404)
    assert_dss_error(WEB.post(f"{dss.url}{API}/auth/info", auth=(ALICE, "")), 405)
    assert_dss_error(get(dss, "/projects/NOPE/scenarios/"), 404)
    dss.faults.set(status=503, remaining=1)
    assert_dss_error(get(dss, "/auth/info"), 503)


def test_admin_paths_are_403_for_non_admins_even_unknown_ones(dss):
    for path in (
        "/admin/general-settings",
        "/admin/variables/",
        "/admin/global-api-keys/",
        "/admin/whatever",
    ):
        assert_dss_error(get(dss, path, key=BOB), 403)
    assert get(dss, "/admin/general-settings").status_code == 200


def test_put_body_without_content_type_is_read_as_json(dss):
    r = WEB.put(f"{dss.url}{API}/admin/variables/", auth=(ALICE, ""), content=b'{"only": 1}')
    assert r.status_code < 300
    assert get(dss, "/admin/variables").json() == {"only": 1}
    assert dss.variables == {"only": 1}


def test_general_settings_put_replaces_and_keeps_impersonation(dss):
    settings = get(dss, "/admin/general-settings").json()
    settings["impersonation"]["groupRules"] = []
    assert (
        WEB.put(
            f"{dss.url}{API}/admin/general-settings", auth=(ALICE, ""), json=settings
        ).status_code
        < 300
    )
    assert get(dss, "/admin/general-settings").json()["impersonation"]["groupRules"] == []
    r = WEB.put(f"{dss.url}{API}/admin/general-settings", auth=(ALICE, ""), json={"x": 1})
    assert_dss_error(r, 400)


# -- futures ---------------------------------------------------------------------------------
def test_future_progresses_with_the_clock_and_finishes_with_a_result(dss, clock):
    job = dss.add_future(
        owner="bob",
        display_name="Build",
        duration=100,
        steps=("Read", "Write"),
        result={"success": True, "rows": 7},
    )
    state = get(dss, f"/futures/{job}?peek=True", key=BOB).json()
    assert state["alive"] and not state["hasResult"] and state["runningTime"] == 0
    assert state["progress"]["states"][0]["name"] == "Read"
    clock.advance(60)
    state = get(dss, f"/futures/{job}?peek=True", key=BOB).json()
    assert state["runningTime"] == 60_000
    assert state["progress"]["states"][0]["name"] == "Write"
    assert state["progress"]["states"][0]["cur"] == 1
    clock.advance(50)
    peek = get(dss, f"/futures/{job}?peek=True", key=BOB).json()
    assert not peek["alive"] and peek["hasResult"] and "result" not in peek
    assert peek["runningTime"] == 100_000
    full = get(dss, f"/futures/{job}?peek=False", key=BOB).json()
    assert full["result"] == {"success": True, "rows": 7}
    listed = get(
        dss, "/futures/?withScenarios=True&withNotScenarios=True&allUsers=False", key=BOB
    ).json()
    assert job not in [f["jobId"] for f in listed]  # only running tasks are listed


def test_failed_future_is_http_500_on_non_peek_get(dss, clock):
    job = dss.add_future(owner="bob", duration=10, outcome="failed", error="Disk full")
    clock.advance(11)
    body = assert_dss_error(get(dss, f"/futures/{job}?peek=False", key=BOB), 500)
    assert body["message"] == "Disk full"
    peek = get(dss, f"/futures/{job}?peek=True", key=BOB).json()
    assert peek["alive"] is False and peek["hasResult"] is False and peek["aborted"] is False


def test_list_filters_and_all_users_needs_admin(dss):
    def ids(query, key):
        return {f["jobId"] for f in get(dss, f"/futures/?{query}", key=key).json()}

    mine = ids("withScenarios=False&withNotScenarios=True&allUsers=False", ALICE)
    assert mine == {"Fm7pQ2rL", "Ce4nV8wK"}
    scenarios = ids("withScenarios=True&withNotScenarios=False&allUsers=False", ALICE)
    assert scenarios == {"Zq3xT9aB"}
    everyone = ids("withScenarios=true&withNotScenarios=TRUE&allUsers=True", ALICE)
    assert {"Ex9bB0bZ", "Zq3xT9aB", "Fm7pQ2rL"} <= everyone
    assert ids("withScenarios=True&withNotScenarios=True&allUsers=False", BOB) == {"Ex9bB0bZ"}
    assert_dss_error(get(dss, "/futures/?allUsers=True", key=BOB), 403)
    item = get(dss, "/futures/?withScenarios=True&withNotScenarios=False", key=ALICE).json()[0]
    assert item["payload"]["targets"][0] == {"projectKey": "SALES", "objectId": "NIGHTLY_BUILD"}


def test_abort_only_by_owner_or_admin(dss):
    url = f"{dss.url}{API}/futures/Fm7pQ2rL"  # alice's
    assert_dss_error(WEB.delete(url, auth=(BOB, "")), 403)
    assert dss.future("Fm7pQ2rL").status(dss.clock()) == "running"
    assert WEB.delete(f"{dss.url}{API}/futures/Ex9bB0bZ", auth=(ALICE, "")).status_code < 300
    assert WEB.delete(url, auth=(ALICE, "")).status_code < 300
    peek = get(dss, "/futures/Fm7pQ2rL?peek=True").json()
    assert peek["aborted"] and not peek["alive"]
    assert_dss_error(get(dss, "/futures/Fm7pQ2rL?peek=False"), 500)  # no endless polling
    assert get(dss, "/futures/Ex9bB0bZ?peek=True", key=BOB).json()["aborted"]
    assert_dss_error(WEB.delete(f"{dss.url}{API}/futures/nope", auth=(ALICE, "")), 404)


# -- projects, scenarios, notebooks ----------------------------------------------------------
def test_project_rights(dss):
    assert {p["projectKey"] for p in get(dss, "/projects/", key=BOB).json()} == {"SALES", "CHURN"}
    assert_dss_error(get(dss, "/projects/FINANCE/jobs/", key=BOB), 403)
    assert get(dss, "/projects/FINANCE/jobs/").status_code == 200


def test_scenario_run_is_pending_then_running_then_finished_as_seeded(dss, clock):
    base = f"{dss.url}{API}/projects/CHURN/scenarios/RETRAIN_MODEL"
    fire = WEB.post(f"{base}/run", auth=(BOB, ""), content=b"{}").json()
    params = {"triggerId": fire["trigger"]["id"], "triggerRunId": fire["runId"]}
    assert WEB.get(f"{base}/get-run-for-trigger", params=params, auth=(BOB, "")).json() == {}
    clock.advance(3)
    run = WEB.get(f"{base}/get-run-for-trigger", params=params, auth=(BOB, "")).json()[
        "scenarioRun"
    ]
    assert "result" not in run and run["end"] == 0
    clock.advance(60)
    last = WEB.get(f"{base}/get-last-runs?limit=2&onlyFinishedRuns=False", auth=(BOB, "")).json()
    assert last[0]["runId"] == run["runId"] and last[0]["result"]["outcome"] == "FAILED"
    assert len(last) == 2 and last[0]["end"] > 0


def test_notebook_unload_by_creator_or_admin_only(dss):
    base = f"{dss.url}{API}/projects/CHURN/jupyter-notebooks"
    active = WEB.get(f"{base}/?active=True", auth=(BOB, "")).json()
    assert [n["name"] for n in active] == ["feature_analysis"]
    sessions = WEB.get(f"{base}/feature_analysis/sessions", auth=(BOB, "")).json()
    by = {s["sessionCreator"]: s["sessionId"] for s in sessions}
    assert_dss_error(
        WEB.delete(f"{base}/feature_analysis/sessions/{by['alice']}", auth=(BOB, "")), 403
    )
    r = WEB.delete(f"{base}/feature_analysis/sessions/{by['bob']}", auth=(ALICE, ""))
    assert r.status_code == 200 and r.json() == {}
    left = WEB.get(f"{base}/feature_analysis/sessions", auth=(BOB, "")).json()
    assert [s["sessionCreator"] for s in left] == ["alice"]


# -- API keys --------------------------------------------------------------------------------
def test_keys_show_their_secret_unless_hashed_and_create_always_shows_it(clock):
    with DSSEmulator(clock=clock, hashed_keys=True) as dss:
        listed = get(dss, "/admin/global-api-keys/").json()
        assert listed and all("key" not in k and k["id"] for k in listed)
        assert all("key" not in k for k in get(dss, "/personal-api-keys/", key=BOB).json())
        created = WEB.post(
            f"{dss.url}{API}/admin/global-api-keys/",
            auth=(ALICE, ""),
            content=b'{"label": "new", "globalPermissions": {"admin": false}}',
        )
        new = created.json()
        assert new["key"].startswith("dkuaps-") and new["id"]
        assert get(dss, "/auth/info", key=new["key"]).json()["authIdentifier"] == new["id"]
    with DSSEmulator(clock=clock) as dss:
        assert all("key" in k for k in get(dss, "/admin/global-api-keys/").json())


def test_personal_keys_own_listing_admin_listing_and_delete_rights(dss):
    own = get(dss, "/personal-api-keys/", key=BOB).json()
    assert {k["user"] for k in own} == {"bob"} and len(own) == 2
    everyone = get(dss, "/admin/personal-api-keys/").json()
    assert {k["user"] for k in everyone} == {"alice", "bob", "carol"}
    alice_key = next(k["id"] for k in everyone if k["user"] == "alice")
    assert_dss_error(
        WEB.delete(f"{dss.url}{API}/personal-api-keys/{alice_key}", auth=(BOB, "")), 403
    )
    assert (
        WEB.delete(f"{dss.url}{API}/personal-api-keys/p9ZtB0b00002", auth=(ALICE, "")).status_code
        < 300
    )
    assert len(get(dss, "/personal-api-keys/", key=BOB).json()) == 1


def test_usage_summary_has_the_keys_the_client_reads(dss):
    body = get(dss, "/admin/monitoring/global-usage-summary?withPerProject=False").json()
    assert body["projects"] == 3
    assert body["notebooks"]["nbJupyterNotebooks"] == 5
    assert body["scenarios"] == {"all": 5, "activeWithTriggers": 4}
    assert body["datasets"]["all"] == 29 and body["recipes"]["all"] == 22
