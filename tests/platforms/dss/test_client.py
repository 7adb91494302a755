"""The bot's async DSS client against the emulator over loopback HTTP."""

from __future__ import annotations

import base64
import socket

import pytest

from bot import errors
from bot.platforms.dss.client import DSSClient

from .conftest import ALICE, BAD_KEY, BOB, GLOBAL_ADMIN


# -- identity --------------------------------------------------------------------------------
async def test_auth_info_and_the_wire_form_of_the_key(client, dss):
    info = await client.auth_info(api_key=BOB)
    assert info.login == "bob" and info.groups == ["analysts"]
    assert info.profile == "DATA_SCIENTIST" and info.auth_source == "PERSONAL_API_KEY"
    sent = dss.requests_to("GET", "/auth/info")[-1]
    assert sent.path == "/public/api/auth/info" and sent.query == {"withSecrets": "False"}
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(f"{BOB}:".encode()).decode()


async def test_global_key_without_user_is_named_by_its_id(client):
    info = await client.auth_info(api_key=GLOBAL_ADMIN)
    assert info.login == "k7Hq2ChatOps" and info.auth_source == "GLOBAL_API_KEY"


async def test_is_admin_probe(client):
    assert await client.is_admin(api_key=ALICE) is True
    assert await client.is_admin(api_key=GLOBAL_ADMIN) is True
    assert await client.is_admin(api_key=BOB) is False
    with pytest.raises(errors.Unauthorized):
        await client.is_admin(api_key=BAD_KEY)


# -- futures ---------------------------------------------------------------------------------
async def test_list_futures_own_and_all_users(client):
    mine = await client.list_futures(api_key=BOB)
    assert [f.job_id for f in mine] == ["Ex9bB0bZ"]
    export = mine[0]
    assert export.status == "running" and export.owner == "bob"
    assert export.elapsed_text == "5m 00s" and export.elapsed.total_seconds() == 300
    assert export.progress_text.startswith("Reading (step 1/3) · ")
    everyone = await client.list_futures(api_key=ALICE, all_users=True)
    assert {"Ex9bB0bZ", "Zq3xT9aB", "Fm7pQ2rL", "Ce4nV8wK"} == {f.job_id for f in everyone}
    scenario = next(f for f in everyone if f.job_id == "Zq3xT9aB")
    assert scenario.scenario == ("SALES", "NIGHTLY_BUILD")
    no_scenarios = await client.list_futures(api_key=ALICE, with_scenarios=False)
    assert "Zq3xT9aB" not in {f.job_id for f in no_scenarios}
    with pytest.raises(errors.Forbidden):
        await client.list_futures(api_key=BOB, all_users=True)


async def test_future_progress_then_done_with_result(client, dss, clock):
    job = dss.add_future(
        owner="alice",
        display_name="Compute",
        duration=200,
        steps=("A", "B"),
        result={"success": True, "n": 3},
    )
    clock.advance(150)
    state = await client.get_future(api_key=ALICE, job_id=job)
    assert state.status == "running" and state.percent == 75
    assert state.progress_text == "B (step 2/2) · 75%" and state.elapsed_text == "2m 30s"
    clock.advance(60)
    peek = await client.get_future(api_key=ALICE, job_id=job)
    assert peek.status == "done" and peek.result is None and peek.elapsed_text == "3m 20s"
    full = await client.get_future(api_key=ALICE, job_id=job, peek=False)
    assert full.status == "done" and full.result == {"success": True, "n": 3}


async def test_thrown_and_business_failures_are_failed_with_a_reason(client, dss, clock):
    thrown = await client.get_future(api_key=BOB, job_id="Fa1LdSyn", peek=False)
    assert thrown.status == "failed" and "authentication failed" in thrown.error
    assert (await client.get_future(api_key=BOB, job_id="Fa1LdSyn")).status == "failed"
    job = dss.add_future(owner="bob", duration=1, result={"success": False, "messages": []})
    clock.advance(2)
    assert (await client.get_future(api_key=BOB, job_id=job, peek=False)).status == "failed"


async def test_final_state_reads_in_full_only_once_stopped(client, dss, clock):
    running = await client.final_state(api_key=ALICE, job_id="Fm7pQ2rL")
    assert running.status == "running" and running.outcome_text == ""
    assert [r.query["peek"] for r in dss.requests_to("GET", "/futures/Fm7pQ2rL")] == ["True"]
    clock.advance(20 * 60)
    done = await client.final_state(api_key=ALICE, job_id="Fm7pQ2rL")
    assert done.status == "done" and done.outcome_text == "computed: 12"
    thrown = await client.final_state(api_key=BOB, job_id="Fa1LdSyn")
    assert thrown.outcome_text == "Connection 'snowflake_prod' refused: authentication failed"
    business = await client.final_state(api_key=ALICE, job_id="Up2dF4il")
    assert business.status == "failed"
    assert business.outcome_text == "Plugin snowflake-connector 3.0.1 needs DSS 14.0 or later"


async def test_abort_rights_and_aborted_state(client, dss):
    with pytest.raises(errors.Forbidden):
        await client.abort_future(api_key=BOB, job_id="Fm7pQ2rL")
    assert (await client.get_future(api_key=ALICE, job_id="Fm7pQ2rL")).status == "running"
    await client.abort_future(api_key=BOB, job_id="Ex9bB0bZ")
    assert (await client.get_future(api_key=BOB, job_id="Ex9bB0bZ")).status == "aborted"
    aborted = await client.get_future(api_key=BOB, job_id="Ex9bB0bZ", peek=False)
    assert aborted.status == "aborted"
    with pytest.raises(errors.NotFound):
        await client.get_future(api_key=BOB, job_id="missing")


async def test_a_server_500_is_not_taken_for_a_failed_task(client, dss):
    dss.faults.set(status=500)
    with pytest.raises(errors.Unavailable):
        await client.get_future(api_key=ALICE, job_id="Fm7pQ2rL", peek=False)


# -- jobs, scenarios -------------------------------------------------------------------------
async def test_running_jobs_everywhere_and_per_project(client):
    everywhere = await client.running_jobs(api_key=ALICE)
    assert {(j.project_key, j.state) for j in everywhere} == {
        ("SALES", "RUNNING"),
        ("CHURN", "RUNNING"),
        ("CHURN", "NOT_STARTED"),
        ("FINANCE", "RUNNING"),
    }
    bob_sees = await client.running_jobs(api_key=BOB)
    assert {j.project_key for j in bob_sees} == {"SALES", "CHURN"}
    sales = await client.running_jobs(api_key=BOB, project_key="SALES")
    assert len(sales) == 1 and sales[0].initiator == "alice" and sales[0].outputs == ["orders"]
    assert sales[0].job_id.startswith("build_orders_") and sales[0].running
    with pytest.raises(errors.Forbidden):
        await client.running_jobs(api_key=BOB, project_key="FINANCE")
    with pytest.raises(errors.NotFound) as caught:
        await client.running_jobs(api_key=BOB, project_key="NOPE")
    assert caught.value.detail == "Project NOPE not found"


async def test_scenarios_and_last_runs_newest_first(client):
    scenarios = await client.list_scenarios(api_key=BOB, project_key="CHURN")
    assert {s.id: s.active for s in scenarios} == {"RETRAIN_MODEL": True, "DAILY_SCORING": False}
    runs = await client.last_runs(api_key=BOB, project_key="CHURN", scenario_id="RETRAIN_MODEL")
    assert [r.outcome for r in runs] == ["FAILED", "FAILED", "SUCCESS"]
    assert runs[0].start > runs[1].start and not runs[0].running and runs[0].duration_text
    sales = await client.last_runs(
        api_key=ALICE, project_key="SALES", scenario_id="NIGHTLY_BUILD", limit=2
    )
    assert sales[0].running and sales[0].outcome is None and len(sales) == 2
    finished = await client.last_runs(
        api_key=ALICE, project_key="SALES", scenario_id="NIGHTLY_BUILD", only_finished=True
    )
    assert all(not r.running for r in finished)


async def test_run_scenario_pending_running_then_outcome(client, clock):
    fire = await client.run_scenario(api_key=BOB, project_key="CHURN", scenario_id="RETRAIN_MODEL")
    assert fire.trigger_id == "manual" and not fire.cancelled
    assert await client.scenario_run_for_trigger(api_key=BOB, fire=fire) is None
    clock.advance(5)
    run = await client.scenario_run_for_trigger(api_key=BOB, fire=fire)
    assert run is not None and run.running and run.scenario_id == "RETRAIN_MODEL"
    futures = await client.list_futures(api_key=BOB)
    assert ("CHURN", "RETRAIN_MODEL") in [f.scenario for f in futures]
    clock.advance(60)
    done = await client.scenario_run_for_trigger(api_key=BOB, fire=fire)
    assert done is not None and done.run_id == run.run_id
    assert done.outcome == "FAILED" and done.duration_text == "45s"


# -- notebooks -------------------------------------------------------------------------------
async def test_notebooks_sessions_and_unload(client):
    every = await client.list_notebooks(api_key=BOB, project_key="CHURN")
    assert {n.name for n in every} == {"feature_analysis", "scratch"}
    live = await client.live_notebooks(api_key=BOB, project_key="CHURN")
    assert [n.name for n in live] == ["feature_analysis"]
    sessions = {s.creator: s for s in live[0].sessions}
    assert sessions["bob"].execution_state == "busy" and sessions["alice"].kernel_pid
    with pytest.raises(errors.Forbidden):
        await client.unload_session(
            api_key=BOB,
            project_key="CHURN",
            notebook="feature_analysis",
            session_id=sessions["alice"].session_id,
        )
    await client.unload_session(
        api_key=BOB,
        project_key="CHURN",
        notebook="feature_analysis",
        session_id=sessions["bob"].session_id,
    )
    left = await client.notebook_sessions(
        api_key=BOB, project_key="CHURN", notebook="feature_analysis"
    )
    assert [s.creator for s in left] == ["alice"]


# -- keys ------------------------------------------------------------------------------------
async def test_keys_never_keep_the_secret(client, dss):
    assert not dss.hashed_keys  # the emulator does send `key` here
    keys = await client.list_global_keys(api_key=ALICE)
    by_label = {k.label: k for k in keys}
    assert by_label["chatops"].admin and by_label["etl-readonly"].user == "svc_etl"
    assert by_label["reporting"].groups == ["finance"]
    for key in keys + await client.list_all_personal_keys(api_key=ALICE):
        dumped = key.model_dump_json() + repr(key) + str(key)
        assert "dkuaps-" not in dumped and not hasattr(key, "key")


async def test_global_keys_admin_only_and_delete(client, dss):
    with pytest.raises(errors.Forbidden):
        await client.list_global_keys(api_key=BOB)
    await client.delete_global_key(api_key=ALICE, key_id="k7Hq2Rep0001")
    assert "k7Hq2Rep0001" not in {k.id for k in await client.list_global_keys(api_key=ALICE)}
    with pytest.raises(errors.NotFound):
        await client.delete_global_key(api_key=ALICE, key_id="k7Hq2Rep0001")


async def test_personal_keys_own_all_and_delete(client):
    mine = await client.list_personal_keys(api_key=BOB)
    assert {k.label for k in mine} == {"bob-cli", "old laptop"}
    assert all(k.kind == "personal" and k.user == "bob" for k in mine)
    everyone = await client.list_all_personal_keys(api_key=ALICE)
    assert {k.user for k in everyone} == {"alice", "bob", "carol"}
    with pytest.raises(errors.Forbidden):
        await client.list_all_personal_keys(api_key=BOB)
    with pytest.raises(errors.Forbidden):
        await client.delete_personal_key(api_key=BOB, key_id="p9ZtAl1ce002")
    await client.delete_personal_key(api_key=BOB, key_id="p9ZtB0b00002")
    assert {k.label for k in await client.list_personal_keys(api_key=BOB)} == {"bob-cli"}


# -- admin -----------------------------------------------------------------------------------
async def test_usage_summary(client):
    usage = await client.usage_summary(api_key=ALICE)
    assert (usage.projects, usage.datasets, usage.recipes) == (3, 29, 22)
    assert (usage.jupyter_notebooks, usage.sql_notebooks) == (5, 4)
    assert (usage.scenarios, usage.active_scenarios_with_triggers) == (5, 4)
    with pytest.raises(errors.Forbidden):
        await client.usage_summary(api_key=BOB)


async def test_set_variables_is_read_modify_write_of_the_whole_object(client, dss):
    before = await client.get_variables(api_key=ALICE)
    assert before["env"] == "prod"
    saved = await client.set_variables(
        api_key=ALICE, changes={"env": "staging", "new": 1}, remove=["smtp_host"]
    )
    assert dss.variables == saved
    assert saved == {
        "env": "staging",
        "new": 1,
        "retention_days": 30,
        "snowflake_warehouse": "ANALYTICS_WH",
    }
    put = dss.requests_to("PUT", "/admin/variables")[-1]
    assert put.path == "/public/api/admin/variables" and put.json() == saved
    with pytest.raises(errors.Forbidden):
        await client.set_variables(api_key=BOB, changes={"x": 1})


async def test_impersonation_rules(client):
    rules = await client.impersonation_rules(api_key=ALICE)
    assert [r.type for r in rules.user_rules] == ["IDENTITY", "SINGLE_MAPPING"]
    mapping = rules.user_rules[1]
    assert (mapping.project_key, mapping.dss_user, mapping.target_unix) == (
        "SALES",
        "alice",
        "svc_sales",
    )
    assert rules.group_rules[0].source == "/^team_(.*)$/"
    assert rules.group_rules[1].source == "finance"
    with pytest.raises(errors.Forbidden):
        await client.impersonation_rules(api_key=BOB)


# -- failures --------------------------------------------------------------------------------
async def test_refused_key_is_unauthorized_with_dss_reason_and_no_secret(client):
    with pytest.raises(errors.Unauthorized) as caught:
        await client.auth_info(api_key=BAD_KEY)
    assert caught.value.detail == "Invalid API key" and caught.value.status == 401
    assert BAD_KEY not in str(caught.value) and BAD_KEY not in repr(caught.value)


async def test_server_errors_are_unavailable(client, dss):
    dss.faults.set(status=503, remaining=1)
    with pytest.raises(errors.Unavailable) as caught:
        await client.list_futures(api_key=ALICE)
    assert caught.value.detail == "injected fault 503"
    assert len(await client.list_futures(api_key=ALICE)) == 3


async def test_hang_is_unavailable_after_the_timeout(dss):
    dss.faults.set(hang=True)
    c = DSSClient(instance="main", base_url=dss.url, timeout=0.3)
    try:
        with pytest.raises(errors.Unavailable) as caught:
            await c.auth_info(api_key=ALICE)
        assert "no answer within 0.3 s" in str(caught.value)
    finally:
        await c.aclose()


async def test_connection_refused_is_unavailable():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = DSSClient(instance="main", base_url=f"http://127.0.0.1:{port}", timeout=2)
    try:
        with pytest.raises(errors.Unavailable) as caught:
            await c.auth_info(api_key=ALICE)
        assert ALICE not in str(caught.value)
    finally:
        await c.aclose()


async def test_dip_publicapi_base_path_works_too(dss):
    c = DSSClient(instance="main", base_url=dss.url + "/", base_path="/dip/publicapi")
    try:
        assert (await c.auth_info(api_key=ALICE)).login == "alice"
        assert dss.requests[-1].path == "/dip/publicapi/auth/info"
    finally:
        await c.aclose()


async def test_live_notebooks_everywhere_admin_listing_or_per_project(client, dss):
    admin = await client.all_live_notebooks(api_key=ALICE)
    assert {(n.project_key, n.name, len(n.sessions)) for n in admin} == {
        ("SALES", "explore_orders", 1),
        ("CHURN", "feature_analysis", 2),
        ("FINANCE", "ledger_checks", 1),
    }
    assert not dss.requests_to("GET", "/jupyter-notebooks")  # one admin call
    bob = await client.all_live_notebooks(api_key=BOB)
    assert {(n.project_key, n.name) for n in bob} == {
        ("SALES", "explore_orders"),
        ("CHURN", "feature_analysis"),
    }
