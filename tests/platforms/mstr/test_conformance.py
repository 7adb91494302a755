"""Conformance: the official mstrio-py `Connection` against the emulator, so the emulator
speaks what the real Strategy One Library server speaks (login in each mode, status, renew,
select_project, close)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from emulators.mstr import DEMO, SEEDED_API_TOKEN

mstrio_connection = pytest.importorskip("mstrio.connection")
Connection = mstrio_connection.Connection
get_object_info = pytest.importorskip("mstrio.api.objects").get_object_info


def base_url(mstr) -> str:
    return f"{mstr.url}/MicroStrategyLibrary/api"


@pytest.mark.parametrize("who,mode", [("alice", 1), ("alice_ldap", 16), ("bob", 1)])
def test_login_status_and_close_in_password_modes(mstr, who, mode):
    demo = DEMO[who]
    conn = Connection(
        base_url(mstr), demo["username"], demo["password"], login_mode=mode, verbose=False
    )
    assert conn.token and conn.timeout == 1800
    assert conn.iserver_version == "11.6.1000" and conn.web_version == "11.6.1000"
    assert conn.status() is True
    assert conn.user_full_name == mstr.users[demo["username"]].full_name
    login = mstr.requests_to("POST", "/api/auth/login")[0]
    assert login.headers["content-type"] == "application/x-www-form-urlencoded"
    conn.close()
    assert mstr.live_sessions(demo["username"]) == []
    assert conn.status() is False


def test_login_with_a_seeded_api_token(mstr):
    conn = Connection(base_url(mstr), api_token=SEEDED_API_TOKEN, login_mode=4096, verbose=False)
    assert conn.status() is True and conn.user_full_name == "Reports Service"
    assert mstr.requests_to("POST", "/api/auth/login")[0].json()["loginMode"] == 4096
    conn.close()


def test_api_token_and_identity_token_created_through_mstrio(mstr):
    conn = Connection(mstr.url, "bob", "bob-pass-123", verbose=False)
    token = conn.get_api_token()
    with_token = Connection(mstr.url, api_token=token, verbose=False)
    assert with_token.user_full_name == "Bob Keller"
    conn.identity_token = conn.get_identity_token()
    assert conn.validate_identity_token() is True
    delegated = Connection(mstr.url, identity_token=conn.identity_token, verbose=False)
    assert delegated.status() is True and delegated.user_full_name == "Bob Keller"
    for c in (conn, with_token, delegated):
        c.close()
    assert mstr.live_sessions("bob") == []


def test_bad_credentials_raise(mstr):
    with pytest.raises(Exception, match="Login failed"):
        Connection(mstr.url, "alice", "wrong", verbose=False)


def test_renew_extends_and_relogs_when_the_session_is_gone(mstr, clock):
    conn = Connection(base_url(mstr), "alice", "alice-S3cret!", verbose=False)
    clock.advance(1500)
    conn.renew()  # PUT /api/sessions
    assert len(mstr.requests_to("PUT", "/api/sessions")) == 1
    clock.advance(1500)  # past the timeout since login, not since the renewal
    assert conn.status() is True
    token = conn.token
    mstr.drop_sessions("alice")
    conn.renew()  # PUT fails with 401 ERR009 -> login again
    assert conn.token != token and conn.status() is True
    conn.close()


def test_timer_renewal_before_an_ordinary_request(mstr):
    conn = Connection(mstr.url, "alice", "alice-S3cret!", verbose=False)
    conn.last_active = datetime.now() - timedelta(seconds=conn.timeout + 5)
    response = conn.get(endpoint="/api/sessions/userInfo")
    assert response.ok
    assert [r.path for r in mstr.requests][-2:] == ["/api/sessions", "/api/sessions/userInfo"]
    assert mstr.requests[-2].method == "PUT"
    conn.close()


def test_select_project_by_name_and_id_sends_the_project_header(mstr):
    conn = Connection(base_url(mstr), "alice", "alice-S3cret!", verbose=False)
    conn.select_project(project_name="Sales Analytics")
    sales = next(p for p in mstr.projects if p.name == "Sales Analytics")
    assert conn.project_id == sales.id
    conn.get(endpoint="/api/sessions/userInfo")
    assert mstr.requests[-1].headers["x-mstr-projectid"] == sales.id
    tutorial = next(p for p in mstr.projects if p.name == "MicroStrategy Tutorial")
    conn.select_project(project_id=tutorial.id)
    assert conn.project_id == tutorial.id
    with pytest.raises(ValueError):
        conn.select_project(project_name="No Such Project")
    conn.select_project()  # clears it
    assert conn.project_id is None
    conn.close()


def test_select_project_by_name_at_construction(mstr):
    conn = Connection(
        mstr.url, "alice", "alice-S3cret!", project_name="Finance Reporting", verbose=False
    )
    assert conn.project_id == next(p.id for p in mstr.projects if p.name == "Finance Reporting")
    conn.close()


def test_list_projects_reads_the_monitor_with_its_total_count(mstr):
    from mstrio.server.project import list_projects

    conn = Connection(mstr.url, "alice", "alice-S3cret!", verbose=False)
    with pytest.warns(UserWarning, match="HR Insights"):  # mstrio flags unloaded projects
        names = {p.name for p in list_projects(conn)}
    assert names == {p.name for p in mstr.projects}
    conn.close()


def test_a_dossiers_definition_through_get_object_info(mstr):
    """The call the dossier preview makes: mstrio's `get_object_info` for type 55 with the
    project header; an id that is not there is ERR004 with its own message (not the
    "HTTP 404 Not Found" mstrio reads as an unsupported endpoint)."""
    sales = next(p for p in mstr.projects if p.name == "Sales Analytics")
    conn = Connection(mstr.url, "alice", "alice-S3cret!", verbose=False)
    body = get_object_info(conn, sales.dossiers[0].id, 55, project_id=sales.id).json()
    assert (body["name"], body["type"], body["subtype"]) == (sales.dossiers[0].name, 55, 14081)
    assert body["owner"]["name"] == "Alice Martin"
    assert body["dateModified"] == "2025-09-30T16:20:00.000+0000"
    assert mstr.requests[-1].headers["x-mstr-projectid"] == sales.id
    with pytest.raises(Exception, match="ERR004") as missing:
        get_object_info(conn, "B" * 32, 55, project_id=sales.id)
    assert "HTTP 404 Not Found" not in str(missing.value)
    conn.close()
