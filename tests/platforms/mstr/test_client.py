"""StrategyOneClient: per-user sessions (token + cookies) that renew before the timeout,
re-open after expiry or a 401, and the /mstr commands' data. Time moves on a FakeClock."""

from __future__ import annotations

import asyncio

import pytest

from bot import errors
from bot.platforms.mstr import client as client_module
from bot.platforms.mstr.sessions import Login, MstrSession
from emulators.mstr import DEMO
from handlers.mstr import match_project

from .conftest import credential

TIMEOUT = 1800


def logins(mstr, username: str) -> int:
    return sum(1 for who, _ in mstr.logins if who == username)


async def test_first_call_logs_in_and_later_calls_reuse_the_session(mstr, client, alice):
    assert (await client.whoami(credential=alice)).full_name == "Alice Martin"
    assert (await client.whoami(credential=alice)).username == "alice"
    assert logins(mstr, "alice") == 1
    assert mstr.requests_to("POST", "/api/auth/login")[0].json()["loginMode"] == 1


async def test_users_have_their_own_sessions_and_cookies(mstr, client, alice, bob):
    a, b = await asyncio.gather(client.whoami(credential=alice), client.whoami(credential=bob))
    assert (a.full_name, b.full_name) == ("Alice Martin", "Bob Keller")
    alice_cookie = mstr.live_sessions("alice")[0].jsessionid
    bob_calls = [
        r
        for r in mstr.requests_to("GET", "/api/sessions/userInfo")
        if r.headers["x-mstr-authtoken"] == mstr.live_sessions("bob")[0].token
    ]
    assert bob_calls and alice_cookie not in bob_calls[0].headers["cookie"]


async def test_renews_past_three_quarters_of_the_timeout_without_logging_in_again(
    mstr, client, clock, alice
):
    await client.whoami(credential=alice)
    clock.advance(TIMEOUT * 0.5)
    await client.whoami(credential=alice)
    assert mstr.requests_to("PUT", "/api/sessions") == []  # too early to renew
    clock.advance(TIMEOUT * 0.3)  # 80 % of the timeout since login
    await client.whoami(credential=alice)
    assert len(mstr.requests_to("PUT", "/api/sessions")) == 1
    clock.advance(TIMEOUT * 0.8)  # 160 % since login, 80 % since the renewal
    assert (await client.whoami(credential=alice)).full_name == "Alice Martin"
    assert len(mstr.requests_to("PUT", "/api/sessions")) == 2
    assert logins(mstr, "alice") == 1


async def test_an_expired_session_is_reopened_transparently(mstr, client, clock, alice):
    await client.whoami(credential=alice)
    old = mstr.live_sessions("alice")[0].token
    clock.advance(TIMEOUT + 60)
    assert (await client.whoami(credential=alice)).full_name == "Alice Martin"
    assert logins(mstr, "alice") == 2
    assert mstr.requests_to("PUT", "/api/sessions") == []  # no pointless renewal attempt
    assert [s.token for s in mstr.live_sessions("alice")] != [old]


async def test_a_401_mid_session_reopens_once_and_the_command_succeeds(mstr, client, alice):
    await client.whoami(credential=alice)
    mstr.drop_sessions("alice")  # e.g. the I-Server restarted
    projects = await client.projects(credential=alice)
    assert "Sales Analytics" in {p.name for p in projects}
    assert logins(mstr, "alice") == 2
    assert len(mstr.requests_to("GET", "/api/monitors/projects")) == 2  # refused, then retried


async def test_a_401_that_persists_is_raised_after_one_reopen(mstr, client, alice):
    await client.whoami(credential=alice)
    mstr.faults.set(status=401, path_prefix="/api/sessions/userInfo")
    with pytest.raises(errors.Unauthorized):
        await client.whoami(credential=alice)
    assert logins(mstr, "alice") == 2  # one re-open, no loop


async def test_a_changed_password_surfaces_as_unauthorized_without_the_password(
    mstr, client, alice
):
    await client.whoami(credential=alice)
    mstr.users["alice"].password = "rotated"
    mstr.drop_sessions("alice")
    with pytest.raises(errors.Unauthorized) as caught:
        await client.whoami(credential=alice)
    assert "Login failed" in str(caught.value)
    assert DEMO["alice"]["password"] not in str(caught.value)


async def test_sessions_survive_past_24_hours_with_renewals(mstr, client, clock, alice):
    mstr.session_timeout = 4 * 3600  # fewer round trips; the client reads it from the server
    await client.whoami(credential=alice)
    step = mstr.session_timeout * 0.8  # each call comes past the renewal point, in time
    for _ in range(int(25 * 3600 / step) + 1):
        clock.advance(step)
        await client.whoami(credential=alice)
    assert clock.now - mstr.live_sessions("alice")[0].created > 25 * 3600
    assert logins(mstr, "alice") == 1


async def test_idle_for_a_day_and_more_reopens_without_a_failed_call(mstr, client, clock, alice):
    # mstrio's timedelta.seconds check calls this "10 minutes idle"; it is 24 h 10 min.
    await client.whoami(credential=alice)
    clock.advance(24 * 3600 + 600)
    before = len(mstr.requests)
    assert (await client.whoami(credential=alice)).full_name == "Alice Martin"
    after = [(r.method, r.path) for r in mstr.requests[before:]]
    assert after[0] == ("POST", "/api/auth/login")  # straight to a new login, no 401 first
    assert after.count(("GET", "/api/sessions/userInfo")) == 1


async def test_status_reports_versions_session_and_timeout(client, clock, alice):
    first = await client.status(credential=alice)
    assert first.iserver_version.startswith("11.6.1000") and first.web_version
    assert first.alive and first.timeout_s == TIMEOUT and first.reopened
    clock.advance(600)
    second = await client.status(credential=alice)
    assert not second.reopened and second.expires_in_s == TIMEOUT - 600


async def test_project_header_only_where_asked(mstr, client, alice):
    loaded = await client.loaded_projects(credential=alice)
    tutorial = next(p for p in loaded if p.name == "MicroStrategy Tutorial")
    await client.whoami(credential=alice, project_id=tutorial.id)
    info_call = mstr.requests_to("GET", "/api/sessions/userInfo")[-1]
    assert info_call.headers["x-mstr-projectid"] == tutorial.id
    agnostic = [r for r in mstr.requests if r.path in ("/api/sessions", "/api/projects")]
    assert agnostic
    assert all("x-mstr-projectid" not in r.headers for r in agnostic)


async def test_projects_with_node_status_for_an_admin(client, alice):
    projects = {p.name: p for p in await client.projects(credential=alice)}
    assert len(projects) == 5
    assert not projects["HR Insights"].loaded
    assert projects["Sales Analytics"].loaded
    assert projects["Sales Analytics"].not_loaded_on == ["iserver-02"]


async def test_projects_page_through_the_monitor(mstr, client, alice, monkeypatch):
    monkeypatch.setattr(client_module, "MONITOR_PAGE", 2)
    assert len(await client.projects(credential=alice)) == 5
    assert [r.query["offset"] for r in mstr.requests_to("GET", "/api/monitors/projects")] == [
        "0",
        "2",
        "4",
    ]


async def test_projects_for_a_user_without_the_monitor_privilege(client, bob):
    projects = await client.projects(credential=bob)
    names = {p.name for p in projects}
    assert "Finance Reporting" not in names and "HR Insights" not in names
    assert "MicroStrategy Tutorial" in names
    assert all(p.loaded and p.nodes == () for p in projects)


async def test_a_loaded_project_is_found_by_name_alias_or_id(client, alice):
    loaded = await client.loaded_projects(credential=alice)
    exact = match_project(loaded, "Sales Analytics", "prod")
    assert match_project(loaded, "sales", "prod").id == exact.id
    assert match_project(loaded, exact.id, "prod").name == "Sales Analytics"
    with pytest.raises(errors.UserError):
        match_project(loaded, "HR Insights", "prod")  # not loaded


async def test_logout_of_one_user_leaves_the_others(mstr, client, alice, bob):
    await client.whoami(credential=alice)
    await client.whoami(credential=bob)
    assert await client.logout(user_id=alice.user_id) == 1
    assert mstr.live_sessions("alice") == [] and len(mstr.live_sessions("bob")) == 1


async def test_aclose_logs_every_session_out(mstr, client, alice, bob):
    await client.whoami(credential=alice)
    await client.whoami(credential=bob)
    await client.aclose()
    assert mstr.live_sessions() == []
    assert len(mstr.requests_to("POST", "/api/auth/logout")) == 2


async def test_an_api_token_credential_logs_in_with_mode_4096(mstr, client):
    token = credential("reports_token")
    assert (await client.whoami(credential=token)).full_name == "Reports Service"
    body = mstr.requests_to("POST", "/api/auth/login")[0].json()
    assert body["loginMode"] == 4096 and "password" not in body


async def test_an_outage_is_unavailable(mstr, client, alice):
    mstr.faults.set(status=503)
    with pytest.raises(errors.Unavailable) as caught:
        await client.status(credential=alice)
    assert "ERR016" in str(caught.value)


def test_secrets_stay_out_of_reprs():
    login = Login(mode=1, username="alice", password="alice-S3cret!")
    token = Login(mode=4096, api_token="tok-123")
    session = MstrSession(
        token="abc123token", cookies={"JSESSIONID": "C00K1E"}, timeout=1800, last_active=0
    )
    assert "alice-S3cret!" not in repr(login) and "tok-123" not in repr(token)
    assert "abc123token" not in repr(session) and "C00K1E" not in repr(session)
    assert "alice-S3cret!" not in repr(credential("alice"))


def test_an_unreadable_stored_secret_is_a_user_error_without_the_secret():
    with pytest.raises(errors.UserError) as caught:
        Login.from_secret("hunter2-not-json")
    assert "hunter2" not in str(caught.value)


async def test_concurrent_first_calls_share_one_login(mstr, client, alice):
    names = await asyncio.gather(*(client.whoami(credential=alice) for _ in range(3)))
    assert {n.full_name for n in names} == {"Alice Martin"}
    assert logins(mstr, "alice") == 1


async def test_a_refused_renewal_logs_in_again_before_the_call(mstr, client, clock, alice):
    await client.whoami(credential=alice)
    clock.advance(TIMEOUT * 0.8)
    mstr.drop_sessions("alice")
    before = len(mstr.requests)
    assert (await client.whoami(credential=alice)).full_name == "Alice Martin"
    sent = [(r.method, r.path) for r in mstr.requests[before:]]
    assert sent[:2] == [("PUT", "/api/sessions"), ("POST", "/api/auth/login")]
    assert sent.count(("GET", "/api/sessions/userInfo")) == 1  # the call itself went once
