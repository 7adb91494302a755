"""The official `im-squonk2-client` (squonk2.auth.Auth, squonk2.dm_api.DmApi) against our
emulators, for every operation Switchboard uses: the emulators speak what the client expects
(paths, form bodies, status codes, shapes), so the bot's client, tested against the same
emulators, speaks the real protocol.

The official client is synchronous (requests); it runs here in the test thread while the
emulators serve on their own threads.
"""

from __future__ import annotations

import pytest
from squonk2.auth import Auth
from squonk2.dm_api import DmApi

from emulators.keycloak import DEMO, DEMO_CLIENT_SECRET, DEMO_CONFIDENTIAL_CLIENT
from emulators.squonk import REMOVAL_SECONDS


@pytest.fixture
def official(dm, kc, monkeypatch):
    """The official client pointed at the emulators; returns a token getter."""
    # set_api_url stores the URL on the class; monkeypatch restores it after the test.
    monkeypatch.setattr(DmApi, "_DmApi__dm_api_url", dm.dm_api_url)
    monkeypatch.setattr(DmApi, "_DmApi__verify_ssl_cert", False)

    def token(who: str = "bob", **extra) -> str | None:
        return Auth.get_access_token(
            keycloak_url=kc.keycloak_url,
            keycloak_realm=kc.realm,
            keycloak_client_id=extra.pop("client_id", "data-manager-api"),
            username=DEMO[who]["username"],
            password=DEMO[who]["password"],
            **extra,
        )

    return token


def test_official_auth_gets_a_token_the_dm_accepts(official, dm):
    token = official("bob")
    assert token
    assert DmApi.ping(token).success
    assert DmApi.get_version().msg == {"version": "3.7.2"}


def test_official_auth_with_a_confidential_client(official):
    token = official(
        "bob", client_id=DEMO_CONFIDENTIAL_CLIENT, keycloak_client_secret=DEMO_CLIENT_SECRET
    )
    assert token and DmApi.get_available_projects(token).success


def test_official_auth_reuses_a_prior_token_verified_with_the_realm_key(official, kc):
    first = official("bob")
    again = official("bob", prior_token=first)
    assert again == first  # authlib verified our RS256 signature with the realm public_key
    assert kc.issued("password") == 1


def test_projects(official, dm):
    rv = DmApi.get_available_projects(official("bob"))
    assert rv.success and rv.http_status_code == 200
    assert {p["name"] for p in rv.msg["projects"]} == {"demo", "bob-sandbox"}
    rv = DmApi.get_project(official("bob"), project_id=dm.project_named("demo").id)
    assert rv.success and rv.msg["name"] == "demo"


def test_instances(official, dm):
    token = official("bob")
    rv = DmApi.get_available_instances(token)
    assert rv.success and rv.msg["count"] == len(rv.msg["instances"]) == 4
    demo = dm.project_named("demo").id
    rv = DmApi.get_project_instances(token, project_id=demo)
    assert rv.success and {i["project_id"] for i in rv.msg["instances"]} == {demo}
    some = rv.msg["instances"][0]["id"]
    rv = DmApi.get_instance(token, instance_id=some)
    assert rv.success and rv.msg["project_id"] == demo and "id" not in rv.msg


def test_start_job_instance_runs_and_delete_instance_removes_it(official, dm, squonk_clock):
    token = official("bob")
    spec = {"collection": "im-test", "job": "nop", "version": "1.0.0", "variables": {"x": 7}}
    rv = DmApi.start_job_instance(
        token, project_id=dm.project_named("demo").id, name="My Job", specification=spec
    )
    assert rv.success and rv.http_status_code == 201
    instance_id, task_id = rv.msg["instance_id"], rv.msg["task_id"]
    squonk_clock.advance(10)
    rv = DmApi.get_instance(token, instance_id=instance_id)
    assert rv.msg["phase"] == "RUNNING" and "started" in rv.msg and "stopped" not in rv.msg
    rv = DmApi.get_task(token, task_id=task_id, event_prior_ordinal=1, event_limit=5)
    assert rv.success and rv.msg["done"] is False
    assert [e["ordinal"] for e in rv.msg["events"]] == [2]
    rv = DmApi.delete_instance(token, instance_id=instance_id)
    assert rv.success and rv.http_status_code == 200 and rv.msg["task_id"].startswith("task-")
    squonk_clock.advance(REMOVAL_SECONDS)
    rv = DmApi.get_instance(token, instance_id=instance_id)
    assert not rv.success and rv.http_status_code == 404


def test_start_job_instance_with_callback_gets_a_callback_token(official, dm):
    rv = DmApi.start_job_instance(
        official("bob"),
        project_id=dm.project_named("demo").id,
        name="cb run",
        specification={"collection": "im-test", "job": "nop", "version": "1.0.0"},
        callback_url="http://127.0.0.1:9/cb",
        callback_context="ctx",
        generate_callback_token=True,
    )
    assert rv.success and len(rv.msg["callback_token"]) == 22


def test_tasks(official):
    token = official("bob")
    rv = DmApi.get_tasks(
        token, exclude_done=True, exclude_removal=True, exclude_purpose="FILE.DATASET"
    )
    assert rv.success and all(not t["done"] for t in rv.msg["tasks"])
    rv = DmApi.get_available_tasks(token)
    assert rv.success and rv.msg["count"] == len(rv.msg["tasks"]) == 4
    rv = DmApi.get_task(token, task_id=rv.msg["tasks"][0]["id"])
    assert rv.success and "states" in rv.msg and "id" not in rv.msg


def test_jobs(official):
    token = official("bob")
    rv = DmApi.get_available_jobs(token)
    assert rv.success and len(rv.msg["jobs"]) == 7
    assert DmApi.get_jobs(token).msg == rv.msg
    rv = DmApi.get_job_by_version(
        token, job_collection="im-test", job_job="nop", job_version="1.0.0"
    )
    assert rv.success and rv.msg["id"] == 12
    assert DmApi.get_job(token, job_id=12).msg["job"] == "nop"


def test_errors_are_seen_as_failures_with_the_real_status(official):
    token = official("bob")
    rv = DmApi.get_instance(token, instance_id="instance-nope")
    assert (rv.success, rv.http_status_code) == (False, 404)
    rv = DmApi.get_available_projects("not-a-token")
    assert (rv.success, rv.http_status_code) == (False, 401)


@pytest.mark.official_client_bug
def test_official_client_bug_special_character_password(official, kc):
    """Documents a bug of im-squonk2-client 7.0.0: Auth.get_access_token builds the token
    request body by string concatenation without URL-encoding, so a password containing `&`,
    `+` or `=` reaches Keycloak mangled and is refused. (Our client, next test, works.)"""
    assert official("alice") is None
    sent = kc.requests_to("POST", "/token")[-1].body
    assert DEMO["alice"]["password"].encode() in sent  # the raw password went on the wire


async def test_our_client_links_the_same_special_character_password(platform, kc):
    verified = await platform.verify("main", dict(DEMO["alice"]))
    assert verified.account == "alice"
    assert kc.tokens_issued[-1].username == "alice"


def test_official_auth_is_refused_for_a_federated_account_until_it_has_a_password(kc):
    kc.add_user("dora", None, identity_provider="google")

    def token(password: str) -> str | None:
        return Auth.get_access_token(
            keycloak_url=kc.keycloak_url,
            keycloak_realm=kc.realm,
            keycloak_client_id="data-manager-api",
            username="dora",
            password=password,
        )

    assert token("anything") is None  # refused like a wrong password
    kc.set_password("dora", "dora-set-1")
    assert token("dora-set-1")
