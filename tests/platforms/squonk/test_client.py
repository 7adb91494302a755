"""SquonkPlatform and SquonkClient against the Keycloak and DM emulators."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot import errors
from bot.platforms.squonk.platform import SquonkInstance, SquonkPlatform
from emulators.keycloak import DEMO, KeycloakEmulator
from emulators.squonk import REMOVAL_SECONDS, SquonkEmulator
from tests.platforms.squonk.conftest import SavedSecrets, link

UNKNOWN_PROJECT_ID = "project-00000000-0000-4000-8000-000000000000"


# -- linking -----------------------------------------------------------------------------------
async def test_link_with_a_special_character_password_keeps_only_an_offline_token(platform, kc):
    password = DEMO["alice"]["password"]
    verified = await platform.verify("main", {"username": "alice", "password": password})
    assert verified.account == "alice"
    assert verified.kind == "offline token" and verified.details["offline"] is True
    assert verified.secret != password and password not in verified.secret
    assert kc.issued("password") == 1
    # The password went on the wire URL-encoded, so Keycloak saw exactly what was typed.
    body = kc.requests_to("POST", "/token")[0].body
    assert b"%26" in body and b"%2B" in body and b"%3D" in body and b"%E2%82%AC" in body


async def test_a_wrong_password_is_refused_without_echoing_it(platform):
    with pytest.raises(errors.Unauthorized) as caught:
        await platform.verify("main", {"username": "alice", "password": "Wr&ng+pw="})
    assert "Invalid user credentials" in str(caught.value)
    assert "Wr&ng" not in str(caught.value) and "Wr&ng" not in repr(caught.value)


async def test_a_dm_outage_at_link_time_leaves_no_keycloak_session(platform, dm, kc):
    dm.faults.set(status=503, path_prefix="/data-manager-api/account-server")
    with pytest.raises(errors.Unavailable):
        await platform.verify("main", dict(DEMO["bob"]))
    assert kc.issued("password") == 1 and kc.active_sessions("bob") == 0


async def test_missing_fields_are_a_user_error(platform):
    with pytest.raises(errors.UserError):
        await platform.verify("main", {"username": "alice", "password": ""})


async def test_where_offline_tokens_are_not_allowed_a_refresh_token_is_kept(squonk_clock):
    with (
        KeycloakEmulator(clock=squonk_clock, offline_access=False) as kc,
        SquonkEmulator(keycloak=kc) as dm,
    ):
        p = SquonkPlatform([SquonkInstance(**dm.instance_settings())], clock=squonk_clock)
        verified = await p.verify("main", dict(DEMO["bob"]))
        assert verified.kind == "refresh token" and verified.details["offline"] is False
        assert [r.headers.get("content-type") for r in kc.requests_to("POST", "/token")] == [
            "application/x-www-form-urlencoded"
        ] * 2
        await p.aclose()


async def test_a_confidential_client_links_and_refreshes(dm, kc, squonk_clock):
    p = SquonkPlatform(
        [SquonkInstance(**dm.instance_settings(confidential=True))], clock=squonk_clock
    )
    assert "bot-client-secret" not in repr(p.instances["main"])
    cred = await link(p, "bob")
    squonk_clock.advance(301)
    assert [x.name for x in await p.client().projects(cred)] == ["demo", "bob-sandbox"]
    assert kc.tokens_issued[-1].client_id == "data-manager-bot"
    await p.aclose()


async def test_a_misconfigured_client_is_not_blamed_on_the_user(dm, squonk_clock):
    settings = {**dm.instance_settings(), "client_id": "no-such-client"}
    p = SquonkPlatform([SquonkInstance(**settings)], clock=squonk_clock)
    with pytest.raises(errors.Rejected) as caught:
        await p.verify("main", dict(DEMO["bob"]))
    assert not isinstance(caught.value, errors.Unauthorized)
    assert "client id" in str(caught.value)
    await p.aclose()


# -- reading -----------------------------------------------------------------------------------
async def test_projects_instances_and_jobs(platform, alice, bob):
    client = platform.client("main")
    assert [p.name for p in await client.projects(bob)] == ["demo", "bob-sandbox"]
    demo = await client.instances(alice, project="demo")
    assert {i.name: i.phase for i in demo} == {
        "nightly-props": "RUNNING",
        "qc-batch-7": "COMPLETED",
        "events-check": "COMPLETED",
    }
    assert all(i.project_id == demo[0].project_id for i in demo)
    every = await client.instances(alice)
    failed = next(i for i in every if i.phase == "FAILED")
    assert failed.done and not failed.succeeded and failed.error_message
    assert failed.job_label == "im-virtual-screening/smina-docking@2.1.0"
    rdkit = await client.jobs(alice, filter="RDKIT")
    assert [j.label for j in rdkit] == ["rdkit/rdkit-molprops@1.2.0", "rdkit/max-min-picker@1.0.1"]
    assert len(await client.jobs(alice)) == 7


async def test_unknown_project_is_not_found_naming_it(platform, alice, bob, dm):
    client = platform.client()
    with pytest.raises(errors.NotFound) as caught:
        await client.instances(alice, project="no-such-project")
    assert "no-such-project" in str(caught.value)
    with pytest.raises(errors.NotFound) as caught:
        await client.start(
            alice,
            collection="im-test",
            job="nop",
            version="1.0.0",
            project=UNKNOWN_PROJECT_ID,
            name="run-1",
            variables={},
        )
    assert UNKNOWN_PROJECT_ID in str(caught.value)
    with pytest.raises(errors.Forbidden):  # exists, but private to alice
        await client.project(bob, project=dm.project_named("chem-screening").id)


async def test_unknown_instance_and_task_are_not_found(platform, alice):
    client = platform.client()
    with pytest.raises(errors.NotFound) as caught:
        await client.instance(alice, instance_id="instance-nope")
    assert "instance-nope" in str(caught.value)
    with pytest.raises(errors.NotFound):
        await client.task(alice, task_id="task-nope")


# -- running -----------------------------------------------------------------------------------
async def test_run_a_job_to_completion(platform, bob, squonk_clock, dm):
    client = platform.client()
    started = await client.start(
        bob,
        collection="im-test",
        job="nop",
        version="1.0.0",
        project="demo",
        name="nightly nop",
        variables={"x": 7},
    )
    instance_id, task_id = started.instance_id, started.task_id
    first = await client.instance(bob, instance_id=instance_id)
    assert (first.id, first.name, first.phase, first.owner) == (
        instance_id,
        "nightly nop",
        "PENDING",
        "bob",
    )
    assert first.started is None and not first.done
    assert [t.purpose for t in first.tasks] == ["CREATE"]
    squonk_clock.advance(10)
    assert (await client.instance(bob, instance_id=instance_id)).phase == "RUNNING"
    squonk_clock.advance(60)
    final = await client.instance(bob, instance_id=instance_id)
    assert (final.phase, final.done, final.succeeded) == ("COMPLETED", True, True)
    task = await client.task(bob, task_id=task_id)
    assert task.done and task.exit_code == 0 and task.state == "SUCCESS"
    assert task.events[-1].message == "Job finished"
    newer = await client.task(bob, task_id=task_id, event_prior_ordinal=3)
    assert [e.ordinal for e in newer.events] == [4]
    assert task_id in {t.id for t in await client.tasks(bob)}
    assert task_id not in {t.id for t in await client.tasks(bob, exclude_done=True)}
    sent = dm.requests_to("POST", "/instance")[0]
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"


async def test_a_failing_job_reports_failed(platform, alice, squonk_clock):
    client = platform.client()
    started = await client.start(
        alice,
        collection="im-test",
        job="fail",
        version="1.0.0",
        project="demo",
        name="will-fail",
        variables={},
    )
    instance_id, task_id = started.instance_id, started.task_id
    squonk_clock.advance(60)
    instance = await client.instance(alice, instance_id=instance_id)
    assert (instance.phase, instance.succeeded) == ("FAILED", False)
    assert (await client.task(alice, task_id=task_id)).exit_code == 1


async def test_launch_refusals_carry_the_dm_reason(platform, alice, bob, dm):
    client = platform.client()
    with pytest.raises(errors.Forbidden) as caught:
        await client.start(
            alice,
            collection="im-test",
            job="nope",
            version="1",
            project="demo",
            name="x1",
            variables={},
        )
    assert "im-test/nope@1" in str(caught.value)
    with pytest.raises(errors.Forbidden) as caught:  # alice only observes bob's sandbox
        await client.start(
            alice,
            collection="im-test",
            job="nop",
            version="1.0.0",
            project="bob-sandbox",
            name="x2",
            variables={},
        )
    assert "not an editor" in str(caught.value)
    with pytest.raises(errors.UserError):
        await client.start(
            bob,
            collection="im-test",
            job="nop",
            version="1.0.0",
            project="demo",
            name="-bad-",
            variables={},
        )
    assert len(dm.requests_to("POST", "/instance")) == 2  # the bad name never left the bot


async def test_stop_an_instance(platform, alice, squonk_clock):
    client = platform.client()
    started = await client.start(
        alice,
        collection="rdkit",
        job="rdkit-molprops",
        version="1.2.0",
        project="demo",
        name="to-stop",
        variables={},
    )
    instance_id = started.instance_id
    squonk_clock.advance(10)
    removal = await client.stop_instance(alice, instance_id=instance_id)
    assert removal.startswith("task-")
    stopping = await client.instance(alice, instance_id=instance_id)
    assert {(t.id, t.purpose) for t in stopping.tasks} >= {(removal, "DELETE")}
    assert stopping.done
    squonk_clock.advance(REMOVAL_SECONDS)
    with pytest.raises(errors.NotFound):
        await client.instance(alice, instance_id=instance_id)
    assert (await client.task(alice, task_id=removal)).done


# -- tokens ------------------------------------------------------------------------------------
async def test_access_tokens_are_cached_and_refreshed_transparently(
    platform, alice, kc, squonk_clock
):
    client = platform.client()
    await client.projects(alice)
    await client.instances(alice)
    assert kc.issued("refresh_token") == 0  # the link's access token is reused
    squonk_clock.advance(280)  # inside the safety margin before the 300 s expiry
    await client.projects(alice)
    assert kc.issued("refresh_token") == 1
    for _ in range(3):
        await client.projects(alice)
    assert kc.issued("refresh_token") == 1
    squonk_clock.advance(301)
    await client.jobs(alice)
    assert kc.issued("refresh_token") == 2
    assert kc.issued("password") == 1


async def test_concurrent_commands_share_one_refresh(platform, alice, kc, squonk_clock):
    squonk_clock.advance(600)
    client = platform.client()
    await asyncio.gather(*(client.projects(alice) for _ in range(5)))
    assert kc.issued("refresh_token") == 1


async def test_a_rotated_refresh_token_is_saved_and_the_old_credential_still_works(squonk_clock):
    with (
        KeycloakEmulator(clock=squonk_clock, single_use_refresh_tokens=True) as kc,
        SquonkEmulator(keycloak=kc) as dm,
    ):
        p = SquonkPlatform([SquonkInstance(**dm.instance_settings())], clock=squonk_clock)
        saved = p.save_secret = SavedSecrets()
        cred = await link(p, "bob")
        squonk_clock.advance(301)
        await p.client().projects(cred)
        assert len(saved) == 1
        assert saved[0][0].user_id == "U-bob" and saved[0][1] != cred.secret
        squonk_clock.advance(301)
        await p.client().projects(cred)  # the caller still holds the old Credential
        assert len(saved) == 2
        reloaded = dataclasses.replace(cred, secret=saved[-1][1])  # as the store would give
        squonk_clock.advance(301)
        await p.client().projects(reloaded)
        assert kc.issued("refresh_token") == 3
        await p.aclose()


async def test_a_revoked_refresh_token_raises_unauthorized_once_per_command(
    platform, alice, kc, squonk_clock
):
    client = platform.client()
    kc.revoke_user("alice")
    await client.projects(alice)  # the cached access token is still valid at the DM
    squonk_clock.advance(301)
    with pytest.raises(errors.Unauthorized) as caught:
        await client.projects(alice)
    assert caught.value.platform == "squonk" and caught.value.instance == "main"
    refreshes = len(kc.requests_to("POST", "/token"))
    with pytest.raises(errors.Unauthorized):
        await client.instances(alice)
    assert len(kc.requests_to("POST", "/token")) == refreshes  # a dead token is not retried


async def test_an_expired_plain_refresh_token_raises_unauthorized(squonk_clock):
    with (
        KeycloakEmulator(clock=squonk_clock, offline_access=False) as kc,
        SquonkEmulator(keycloak=kc) as dm,
    ):
        p = SquonkPlatform([SquonkInstance(**dm.instance_settings())], clock=squonk_clock)
        cred = await link(p, "bob")
        squonk_clock.advance(kc.refresh_lifetime + 1)
        with pytest.raises(errors.Unauthorized):
            await p.client().projects(cred)
        await p.aclose()


async def test_a_dm_401_on_a_cached_token_refreshes_once_and_retries(platform, bob, dm, kc):
    dm.faults.set(status=401, remaining=1)
    assert [p.name for p in await platform.client().projects(bob)] == ["demo", "bob-sandbox"]
    assert kc.issued("refresh_token") == 1


async def test_keycloak_down_at_refresh_is_unavailable(platform, bob, kc, squonk_clock):
    squonk_clock.advance(301)
    kc.faults.set(status=503)
    with pytest.raises(errors.Unavailable):
        await platform.client().projects(bob)
    kc.faults.clear()
    assert await platform.client().projects(bob)  # not remembered as refused


# -- status, unlink, secrets ---------------------------------------------------------------------
async def test_status_reports_version_and_outages(platform, dm):
    status = await platform.status("main")
    assert (status.reachable, status.version) == (True, "3.7.2")
    assert status.latency_ms is not None and status.latency_ms >= 0
    dm.faults.set(status=503)
    down = await platform.status("main")
    assert down.reachable is False and "503" in down.detail


async def test_unlink_logs_the_token_out_at_keycloak(platform, alice, kc, squonk_clock):
    assert kc.active_sessions("alice") == 1
    await platform.revoke(alice)
    assert kc.active_sessions("alice") == 0
    await platform.revoke(alice)  # already gone: not an error
    squonk_clock.advance(301)
    with pytest.raises(errors.Unauthorized):
        await platform.client().projects(alice)


async def test_secrets_stay_out_of_reprs(platform, alice, dm):
    config = SquonkInstance(**dm.instance_settings(confidential=True))
    assert "bot-client-secret" not in repr(config) and "bot-client-secret" not in str(config)
    assert alice.secret not in repr(alice)
    client = platform.client()
    assert alice.secret not in repr(client) and alice.secret not in repr(client.auth)
    assert alice.secret not in repr(client.auth._sessions)


async def test_unknown_instance_name_is_a_user_error(platform):
    with pytest.raises(errors.UserError):
        platform.client("nowhere")
    assert [f.name for f in platform.link_fields(platform.instance())] == ["username", "password"]
    assert platform.link_fields(platform.instance())[1].secret is True
