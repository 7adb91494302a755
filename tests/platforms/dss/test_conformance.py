"""Conformance: the official `dataikuapi.DSSClient` against the emulator, for every operation
the bot uses. If the emulator drifted from what the real client sends and reads, these fail.
"""

from __future__ import annotations

import pytest
from dataikuapi import DSSClient
from dataikuapi.dss.job import DSSJobWaiter
from dataikuapi.utils import DataikuException

from .conftest import ALICE, BAD_KEY, BOB


@pytest.fixture
def alice(dss):
    # A trailing slash on the host makes the client send `//dip/publicapi/...` (captured).
    return DSSClient(dss.url + "/", ALICE)


@pytest.fixture
def bob(dss):
    return DSSClient(dss.url, BOB)


def test_get_auth_info_and_a_refused_key(alice, dss):
    info = alice.get_auth_info()
    assert info["associatedDSSUser"] == "alice" and "administrators" in info["groups"]
    assert dss.requests[-1].query == {"withSecrets": "False"}
    with pytest.raises(DataikuException, match="Invalid API key"):
        DSSClient(dss.url, BAD_KEY).get_auth_info()


def test_list_futures_own_and_all_users(alice, bob):
    assert [f["jobId"] for f in bob.list_futures()] == ["Ex9bB0bZ"]
    everyone = alice.list_futures(as_objects=True, all_users=True)
    assert {"Ex9bB0bZ", "Fm7pQ2rL", "Ce4nV8wK"} <= {f.job_id for f in everyone}
    with pytest.raises(DataikuException):
        bob.list_futures(all_users=True)
    running = alice.list_running_scenarios()
    assert running[0]["payload"]["targets"][0]["objectId"] == "NIGHTLY_BUILD"


def test_future_peek_get_state_result_and_abort(alice, dss, clock):
    future = alice.get_future("Fm7pQ2rL")
    assert future.peek_state()["alive"] is True
    assert future.get_state()["hasResult"] is False
    clock.advance(15 * 60)
    assert future.get_result()["computed"] == 12
    assert alice.get_future("Dn0nE111").wait_for_result()["installedVersion"] == "1.4.2"
    with pytest.raises(DataikuException, match="authentication failed"):
        alice.get_future("Fa1LdSyn").wait_for_result()  # a thrown task raises, never hangs
    other = alice.get_future("Ce4nV8wK")
    other.abort()
    assert other.peek_state()["aborted"] is True
    with pytest.raises(DataikuException):
        other.wait_for_result()
    with pytest.raises(DataikuException):
        DSSClient(dss.url, BOB).get_future("Fm7pQ2rL").abort()  # not bob's


def test_list_running_jobs(alice, bob):
    jobs = alice.list_running_jobs()
    assert {(j.project_key, j.job_id.split("_20")[0]) for j in jobs} >= {
        ("SALES", "build_orders"),
        ("FINANCE", "close_ledger"),
    }
    assert all(j.start_time is not None for j in jobs)
    assert {j.project_key for j in bob.list_running_jobs()} == {"SALES", "CHURN"}
    project_jobs = bob.get_project("CHURN").list_running_jobs()
    assert {j.job_id.split("_20")[0] for j in project_jobs} == {"train_scores", "prepare_features"}


def test_scenarios_last_runs_and_run_to_completion(bob, clock):
    project = bob.get_project("CHURN")
    items = project.list_scenarios()
    assert {i["id"] for i in items} == {"RETRAIN_MODEL", "DAILY_SCORING"}
    scenario = project.get_scenario("RETRAIN_MODEL")
    runs = scenario.get_last_runs(limit=2)
    assert [r.outcome for r in runs] == ["FAILED", "FAILED"]
    fire = scenario.run()
    assert fire.get_scenario_run() is None  # pending
    clock.advance(3)
    run = fire.get_scenario_run()
    assert run is not None and run.running
    clock.advance(60)
    run.refresh()
    assert not run.running and run.outcome == "FAILED"
    with pytest.raises(DataikuException, match="FAILED"):
        run.wait_for_completion()
    assert scenario.get_last_runs(limit=1)[0].id == run.id


def test_jupyter_notebooks_sessions_and_unload(alice):
    project = alice.get_project("SALES")
    assert {n.notebook_name for n in project.list_jupyter_notebooks()} == {
        "explore_orders",
        "forecast_r",
    }
    active = project.list_jupyter_notebooks(active=True)
    assert [n.notebook_name for n in active] == ["explore_orders"]
    sessions = active[0].get_sessions(as_objects=True)
    assert len(sessions) == 1 and sessions[0].session_creator == "alice"
    active[0].unload()
    assert active[0].get_sessions() == []
    with pytest.raises(Exception, match="isn't running"):
        active[0].unload()


def test_global_api_keys_list_and_delete(alice, dss):
    keys = alice.list_global_api_keys()
    assert {k.label for k in keys} == {"chatops", "etl-readonly", "reporting"}
    assert {k.user_for_impersonation for k in keys} >= {"svc_etl"}
    reporting = next(k for k in keys if k.label == "reporting")
    reporting.to_global_api_key().delete()
    assert {k.label for k in alice.list_global_api_keys()} == {"chatops", "etl-readonly"}
    dss.hashed_keys = True
    hashed = alice.list_global_api_keys()
    with pytest.raises(KeyError):  # what the docs promise with hashed keys
        _ = hashed[0].key


def test_personal_api_keys_own_all_and_delete(alice, bob):
    assert {k.user for k in bob.list_personal_api_keys()} == {"bob"}
    everyone = alice.list_all_personal_api_keys()
    assert {k.user for k in everyone} == {"alice", "bob", "carol"}
    assert all(k.created_by and k.created_on for k in everyone)
    with pytest.raises(DataikuException):
        bob.list_all_personal_api_keys()
    old = next(k for k in everyone if k.label == "old laptop")
    alice.get_personal_api_key(old.id).delete()  # admin deletes bob's key
    assert {k.label for k in bob.list_personal_api_keys()} == {"bob-cli"}


def test_global_usage_summary(alice):
    usage = alice.get_global_usage_summary()
    assert usage.projects_count == 3
    assert usage.total_datasets_count == 29 and usage.total_recipes_count == 22
    assert usage.total_jupyter_notebooks_count == 5 and usage.total_sql_notebooks_count == 4
    assert usage.total_scenarios_count == 5
    assert usage.total_active_with_trigger_scenarios_count == 4


def test_global_variables_read_and_save(alice, bob, dss):
    variables = alice.get_global_variables()
    assert variables["env"] == "prod"
    variables["env"] = "staging"
    variables.save()
    assert dss.variables["env"] == "staging"
    assert alice.get_global_variables()["env"] == "staging"
    with pytest.raises(DataikuException):
        bob.get_global_variables()


def test_general_settings_impersonation_rules_and_save(alice, bob, dss):
    settings = alice.get_general_settings()
    assert len(settings.get_impersonation_rules(is_user=True)) == 2
    assert settings.get_impersonation_rules(dss_user="alice")[0].raw["targetUnix"] == "svc_sales"
    settings.remove_impersonation_rules(dss_group="finance")
    settings.save()
    assert [r.get("dssGroup") for r in dss.general_settings["impersonation"]["groupRules"]] == [
        None
    ]
    with pytest.raises(DataikuException):
        bob.get_general_settings()


def test_impersonated_client_acts_as_the_user(alice):
    as_bob = alice.get_user("bob").get_client_as()
    assert as_bob.get_auth_info()["authIdentifier"] == "bob"
    assert [f["jobId"] for f in as_bob.list_futures()] == ["Ex9bB0bZ"]


def test_list_running_notebooks_across_projects(alice, bob):
    running = alice.list_running_notebooks()
    assert {(n.project_key, n.notebook_name) for n in running} == {
        ("SALES", "explore_orders"),
        ("CHURN", "feature_analysis"),
        ("FINANCE", "ledger_checks"),
    }
    churn = next(n for n in running if n.project_key == "CHURN")
    assert {s["sessionCreator"] for s in churn.get_sessions()} == {"alice", "bob"}
    with pytest.raises(DataikuException):
        bob.list_running_notebooks()  # admin only


def test_a_business_failure_completes_with_its_reason_in_the_result(alice):
    result = alice.get_future("Up2dF4il").wait_for_result()
    assert result["success"] is False
    assert result["messages"]["messages"][0]["message"].startswith("Plugin snowflake-connector")


def test_unsetting_a_variable_saves_the_object_without_it(alice, dss):
    variables = alice.get_global_variables()
    del variables["smtp_host"]
    variables.save()
    assert "smtp_host" not in alice.get_global_variables() and dss.variables["env"] == "prod"


def test_job_status_finished_and_running_and_abort(alice, bob, dss):
    """`job.get_status()` (a finished job's state and its failure, what the DSS job waiter
    reads) and `job.abort()`: its initiator or an admin may."""
    sales = dss.projects["SALES"]
    failed = next(j for j in sales.jobs if j["state"] == "FAILED")["def"]["id"]
    status = alice.get_project("SALES").get_job(failed).get_status()
    assert status["baseStatus"]["state"] == "FAILED" and status["baseStatus"]["endTime"] > 0
    [activity] = status["baseStatus"]["activities"].values()
    assert activity["firstFailure"]["message"].startswith("Job failed: Python process failed")
    assert DSSJobWaiter(alice.get_project("SALES").get_job(failed)).wait(no_fail=True) == "FAILED"
    running = next(j for j in sales.jobs if j["state"] == "RUNNING")  # alice's build_orders
    with pytest.raises(DataikuException, match="may not abort"):
        bob.get_project("SALES").get_job(running["def"]["id"]).abort()
    alice.get_project("SALES").get_job(running["def"]["id"]).abort()
    assert running["state"] == "ABORTED"
    assert dss.requests[-1].path.endswith(f"/projects/SALES/jobs/{running['def']['id']}/abort")
    with pytest.raises(DataikuException):
        alice.get_project("SALES").get_job("no_such_job").get_status()
