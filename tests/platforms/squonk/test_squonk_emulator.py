"""The DM API emulator over raw HTTP: auth, visibility, the instance timeline, errors."""

from __future__ import annotations

import json

import httpx
import pytest

from emulators.keycloak import DEMO, DEMO_PUBLIC_CLIENT
from emulators.squonk import REMOVAL_SECONDS


class DM:
    """A tiny raw client: one user's bearer token against the emulators."""

    def __init__(self, dm, who: str) -> None:
        kc = dm.keycloak
        r = httpx.post(
            f"{kc.keycloak_url}/realms/{kc.realm}/protocol/openid-connect/token",
            data={"client_id": DEMO_PUBLIC_CLIENT, "grant_type": "password", **DEMO[who]},
        )
        self.base = dm.dm_api_url
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def get(self, path, **params):
        return httpx.get(self.base + path, headers=self.headers, params=params)

    def post(self, path, data):
        return httpx.post(self.base + path, headers=self.headers, data=data)

    def delete(self, path):
        return httpx.delete(self.base + path, headers=self.headers)

    def launch(self, project_id, collection, job, version, name="my-run", **variables):
        spec = {"collection": collection, "job": job, "version": version}
        if variables:
            spec["variables"] = variables
        return self.post(
            "/instance",
            {
                "application_id": "datamanagerjobs.squonk.it",
                "as_name": name,
                "project_id": project_id,
                "specification": json.dumps(spec),
            },
        )


@pytest.fixture
def alice_dm(dm):
    return DM(dm, "alice")


@pytest.fixture
def bob_dm(dm):
    return DM(dm, "bob")


def test_version_needs_no_token_and_everything_else_does(dm, squonk_clock, bob_dm):
    assert httpx.get(f"{dm.dm_api_url}/version").json() == {"version": "3.7.2"}
    r = httpx.get(f"{dm.dm_api_url}/project")
    assert (r.status_code, r.content) == (401, b"")
    r = httpx.get(f"{dm.dm_api_url}/project", headers={"Authorization": "Bearer forged.x.y"})
    assert r.status_code == 401
    assert bob_dm.get("/project").status_code == 200
    squonk_clock.advance(301)  # the access token expired on the shared clock
    assert bob_dm.get("/project").status_code == 401


def test_projects_visibility_and_errors(dm, alice_dm, bob_dm):
    assert {p["name"] for p in alice_dm.get("/project").json()["projects"]} == {
        "demo",
        "chem-screening",
        "bob-sandbox",
    }
    bobs = bob_dm.get("/project").json()
    assert {p["name"] for p in bobs["projects"]} == {"demo", "bob-sandbox"}
    assert bobs["count"] == 2
    chem = dm.project_named("chem-screening").id
    r = bob_dm.get(f"/project/{chem}")
    assert r.status_code == 403 and "error" in r.json()
    r = bob_dm.get("/project/project-00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404
    assert r.json() == {
        "error": "Project project-00000000-0000-4000-8000-000000000000 does not exist"
    }
    assert [p["name"] for p in bob_dm.get("/project", project_name="demo").json()["projects"]] == [
        "demo"
    ]


def test_seeded_instances_are_in_every_phase(alice_dm):
    phases = {i["name"]: i["phase"] for i in alice_dm.get("/instance").json()["instances"]}
    assert phases == {
        "nightly-props": "RUNNING",
        "qc-batch-7": "COMPLETED",
        "events-check": "COMPLETED",
        "dock-ligands-a": "FAILED",
        "picker-run": "PENDING",
    }


def test_a_launched_job_runs_to_completion_on_the_clock(dm, squonk_clock, bob_dm):
    demo = dm.project_named("demo").id
    r = bob_dm.launch(demo, "im-test", "nop", "1.0.0", x=7)
    assert r.status_code == 201
    body = r.json()
    assert body["instance_id"].startswith("instance-") and body["task_id"].startswith("task-")
    assert body["command"] == "echo hello --x 7"
    path = f"/instance/{body['instance_id']}"
    detail = bob_dm.get(path).json()
    assert "id" not in detail
    assert detail["phase"] == "PENDING" and "started" not in detail and "stopped" not in detail
    assert detail["owner"] == "bob"
    assert detail["tasks"] == [{"id": body["task_id"], "purpose": "CREATE"}]
    assert json.loads(detail["application_specification"])["variables"] == {"x": 7}

    squonk_clock.advance(6)
    detail = bob_dm.get(path).json()
    assert detail["phase"] == "RUNNING" and "started" in detail and "stopped" not in detail
    task = bob_dm.get(f"/task/{body['task_id']}").json()
    assert task["done"] is False and "exit_code" not in task
    assert [s["state"] for s in task["states"]] == ["PENDING", "STARTED"]

    squonk_clock.advance(40)
    detail = bob_dm.get(path).json()
    assert detail["phase"] == "COMPLETED" and "stopped" in detail
    assert detail["run_time"] == "0:00:30"
    task = bob_dm.get(f"/task/{body['task_id']}").json()
    assert "id" not in task
    assert (task["done"], task["exit_code"]) == (True, 0)
    assert [s["state"] for s in task["states"]] == ["PENDING", "STARTED", "SUCCESS"]
    assert [e["ordinal"] for e in task["events"]] == [1, 2, 3, 4]
    assert task["events"][-1]["message"] == "Job finished"
    later = bob_dm.get(f"/task/{body['task_id']}", event_prior_ordinal=2, event_limit=1)
    assert [e["ordinal"] for e in later.json()["events"]] == [3]


def test_a_failing_job_ends_failed_with_its_exit_code(dm, squonk_clock, alice_dm):
    r = alice_dm.launch(dm.project_named("demo").id, "im-test", "fail", "1.0.0")
    squonk_clock.advance(60)
    detail = alice_dm.get(f"/instance/{r.json()['instance_id']}").json()
    assert detail["phase"] == "FAILED"
    assert detail["error_message"] == "Exited with status 1"
    task = alice_dm.get(f"/task/{r.json()['task_id']}").json()
    assert (task["done"], task["exit_code"], task["states"][-1]["state"]) == (True, 1, "FAILURE")


def test_launch_errors_have_dm_error_bodies(dm, alice_dm, bob_dm):
    demo = dm.project_named("demo").id
    unknown = "project-00000000-0000-4000-8000-000000000000"
    r = alice_dm.launch(unknown, "im-test", "nop", "1.0.0")
    assert r.status_code == 403 and unknown in r.json()["error"]
    r = alice_dm.launch(demo, "im-test", "nope", "9.9.9")
    assert r.status_code == 403 and r.json()["error"] == "Job im-test/nope@9.9.9 does not exist"
    r = alice_dm.launch(demo, "im-virtual-screening", "shape-align", "0.9.0")
    assert r.status_code == 403 and "disabled" in r.json()["error"]
    assert alice_dm.launch(demo, "im-test", "nop", "1.0.0", name="-bad-").status_code == 400
    r = bob_dm.launch(dm.project_named("chem-screening").id, "im-test", "nop", "1.0.0")
    assert r.status_code == 403  # bob is not an editor there
    r = alice_dm.post(
        "/instance",
        {
            "application_id": "datamanagerjobs.squonk.it",
            "as_name": "x1",
            "project_id": demo,
            "specification": "{not json",
        },
    )
    assert r.status_code == 400


def test_delete_stops_the_job_and_removes_the_instance(dm, squonk_clock, alice_dm, bob_dm):
    r = alice_dm.launch(dm.project_named("demo").id, "rdkit", "rdkit-molprops", "1.2.0")
    ids = r.json()
    squonk_clock.advance(10)
    r = alice_dm.delete(f"/instance/{ids['instance_id']}")
    assert r.status_code == 200
    removal = r.json()["task_id"]
    detail = alice_dm.get(f"/instance/{ids['instance_id']}").json()
    assert {"id": removal, "purpose": "DELETE"} in detail["tasks"]
    assert detail["phase"] == "FAILED" and "stopped" in detail
    tasks = alice_dm.get("/task", exclude_removal="True").json()["tasks"]
    assert removal not in {t["id"] for t in tasks}
    squonk_clock.advance(REMOVAL_SECONDS)
    assert alice_dm.get(f"/instance/{ids['instance_id']}").status_code == 404
    assert alice_dm.get(f"/task/{removal}").json()["done"] is True
    assert bob_dm.delete(f"/instance/{ids['instance_id']}").status_code == 404


def test_only_owner_or_editor_may_delete(dm, bob_dm):
    chem_instance = next(i for i in dm.instances.values() if i.name == "dock-ligands-a")
    r = bob_dm.delete(f"/instance/{chem_instance.id}")
    assert r.status_code == 403 and "error" in r.json()


def test_tasks_filters_and_jobs_catalogue(dm, alice_dm):
    every = alice_dm.get("/task").json()
    assert every["count"] == 5
    running = alice_dm.get("/task", exclude_done="True").json()["tasks"]
    assert {t["purpose_id"] for t in running} == {
        dm.instances[i].id
        for i in dm.instances
        if dm.instances[i].name in ("nightly-props", "picker-run")
    }
    assert alice_dm.get("/task", exclude_purpose="FILE.INSTANCE").json()["count"] == 0
    jobs = alice_dm.get("/job").json()
    assert jobs["count"] == len(jobs["jobs"]) == 7
    nop = alice_dm.get(
        "/job/get-by-version", collection="im-test", job="nop", version="1.0.0"
    ).json()
    assert nop["id"] == 12 and nop["application"]["application_id"] == "datamanagerjobs.squonk.it"
    assert alice_dm.get("/job/12").json()["job"] == "nop"
    assert alice_dm.get("/job/999").status_code == 404
    r = alice_dm.get("/instance", project_id="project-00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404 and "error" in r.json()
