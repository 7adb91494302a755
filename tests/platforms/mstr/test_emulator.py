"""The Strategy One emulator speaks the wire protocol of shared/protocols/strategy-one.md."""

from __future__ import annotations

import httpx
import pytest

from emulators import mstr as emu
from emulators.mstr import DEMO, SEEDED_API_TOKEN


def login(url: str, *, form: bool = False, **fields) -> httpx.Response:
    body = {"applicationType": 35, **fields}
    if form:
        return httpx.post(f"{url}/MicroStrategyLibrary/api/auth/login", data=body)
    return httpx.post(f"{url}/api/auth/login", json=body)


def session_of(response: httpx.Response) -> dict[str, str]:
    """The headers a well-behaved client sends back: the token and the cookie, together."""
    assert response.status_code == 204, response.text
    return {
        "X-MSTR-AuthToken": response.headers["X-MSTR-AuthToken"],
        "Cookie": f"JSESSIONID={response.cookies['JSESSIONID']}",
    }


def get(url: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers=headers or {})


@pytest.mark.parametrize("form", [True, False], ids=["form", "json"])
@pytest.mark.parametrize(
    "who,full_name",
    [
        ("alice", "Alice Martin"),
        ("alice_ldap", "Alice Martin"),
        ("bob", "Bob Keller"),
        ("carol_ldap", "Carol Nguyen"),
    ],
)
def test_login_in_standard_and_ldap_modes_with_form_or_json_bodies(mstr, form, who, full_name):
    demo = DEMO[who]
    response = login(
        mstr.url,
        form=form,
        loginMode=demo["mode"],
        username=demo["username"],
        password=demo["password"],
    )
    assert response.content == b""
    info = get(mstr.url, "/api/sessions/userInfo", session_of(response)).json()
    assert info["fullName"] == full_name


def test_api_token_and_anonymous_logins(mstr):
    token = login(mstr.url, loginMode=4096, username=SEEDED_API_TOKEN)
    assert (
        get(mstr.url, "/api/sessions/userInfo", session_of(token)).json()["fullName"]
        == "Reports Service"
    )
    anonymous = login(mstr.url, form=True, loginMode=8)
    assert (
        get(mstr.url, "/api/sessions/userInfo", session_of(anonymous)).json()["fullName"] == "Guest"
    )


def test_session_cookie_is_sent_back_over_plain_http(mstr):
    cookie = login(mstr.url, loginMode=1, username="bob", password="bob-pass-123").headers[
        "set-cookie"
    ]
    assert "JSESSIONID=" in cookie and "Path=/" in cookie
    assert "secure" not in cookie.lower()


@pytest.mark.parametrize(
    "mode,username,password",
    [
        (1, "alice", "wrong"),
        (1, "alice", "alice-ldap-pw"),  # the LDAP password is not the standard one
        (16, "bob", "bob-pass-123"),  # bob is not in the directory
        (1, "nobody", "x"),
        (4096, "not-a-token", None),
    ],
)
def test_refused_logins_answer_401_err003_in_the_platform_error_shape(
    mstr, mode, username, password
):
    fields = {"loginMode": mode, "username": username}
    if password is not None:
        fields["password"] = password
    response = login(mstr.url, **fields)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "ERR003" and body["message"] == "Login failed"
    assert len(body["ticketId"]) == 32
    assert "X-MSTR-AuthToken" not in response.headers


def test_a_login_mode_the_server_has_not_enabled_is_refused(mstr):
    mstr.login_modes.discard(16)
    response = login(mstr.url, loginMode=16, username="alice", password="alice-ldap-pw")
    assert response.status_code == emu.MODE_DISABLED_STATUS
    assert response.json()["code"] == "ERR001"
    assert "LDAP" in response.json()["message"]


def test_token_is_bound_to_its_session_cookie(mstr):
    alice = session_of(login(mstr.url, loginMode=1, username="alice", password="alice-S3cret!"))
    bob = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    no_cookie = get(mstr.url, "/api/sessions", {"X-MSTR-AuthToken": alice["X-MSTR-AuthToken"]})
    assert no_cookie.status_code == 401 and no_cookie.json()["code"] == "ERR009"
    wrong_cookie = get(
        mstr.url,
        "/api/sessions",
        {"X-MSTR-AuthToken": alice["X-MSTR-AuthToken"], "Cookie": bob["Cookie"]},
    )
    assert wrong_cookie.status_code == 401
    assert get(mstr.url, "/api/sessions", alice).status_code == 200


def test_session_reports_its_timeout_and_really_expires(mstr, clock):
    headers = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    body = get(mstr.url, "/api/sessions", headers).json()
    assert body["timeout"] == 1800 and body["fullName"] == "Bob Keller"
    clock.advance(1800)
    assert get(mstr.url, "/api/sessions/userInfo", headers).status_code == 200
    clock.advance(1801)  # idle past the timeout since the GET /api/sessions above
    expired = get(mstr.url, "/api/sessions/userInfo", headers)
    assert expired.status_code == 401 and expired.json()["code"] == "ERR009"
    assert get(mstr.url, "/api/sessions", headers).status_code == 401  # gone for good


def test_renew_pushes_the_deadline_back(mstr, clock):
    headers = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    clock.advance(1500)
    renew = httpx.put(f"{mstr.url}/api/sessions", headers=headers)
    assert renew.status_code == 204 and renew.content == b""
    clock.advance(1500)  # 3000 s after login, 1500 s after the renewal
    assert get(mstr.url, "/api/sessions/userInfo", headers).status_code == 200


@pytest.mark.skipif(emu.TOUCH_ON_EVERY_REQUEST, reason="ordinary calls extend the session")
def test_ordinary_calls_do_not_extend_the_session(mstr, clock):
    headers = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    for _ in range(3):
        clock.advance(700)
        get(mstr.url, "/api/projects", headers)
    assert get(mstr.url, "/api/sessions/userInfo", headers).status_code == 401


def test_logout_ends_the_session_and_a_second_logout_is_err009(mstr):
    headers = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    first = httpx.post(f"{mstr.url}/api/auth/logout", headers=headers)
    assert first.status_code == 204
    again = httpx.post(f"{mstr.url}/api/auth/logout", headers=headers)
    assert again.status_code == 401 and again.json()["code"] == "ERR009"
    assert get(mstr.url, "/api/sessions", headers).status_code == 401
    assert mstr.live_sessions("bob") == []


def test_relogin_carrying_a_stale_token_and_cookie_gets_a_new_session(mstr):
    old = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    mstr.drop_sessions("bob")
    response = httpx.post(
        f"{mstr.url}/api/auth/login",
        headers={**old, "X-MSTR-ProjectID": "0" * 32},
        data={"loginMode": "1", "username": "bob", "password": "bob-pass-123"},
    )
    new = session_of(response)
    assert new["X-MSTR-AuthToken"] != old["X-MSTR-AuthToken"]
    assert get(mstr.url, "/api/sessions", new).status_code == 200


def test_status_needs_no_login_and_works_under_the_context_path(mstr):
    for path in ("/api/status", "/MicroStrategyLibrary/api/status"):
        body = get(mstr.url, path).json()
        assert body["iServerVersion"].startswith("11.6.1000")
        assert body["webVersion"] and body["deploymentType"] == "onprem"


def test_unknown_routes_and_missing_objects_use_different_404_messages(mstr):
    headers = session_of(login(mstr.url, loginMode=1, username="alice", password="alice-S3cret!"))
    unknown = get(mstr.url, "/api/no/such/route", headers)
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "HTTP 404 Not Found"
    missing = get(mstr.url, "/api/projects/No%20Such%20Project", headers)
    assert missing.status_code == 404 and missing.json()["code"] == "ERR004"
    assert missing.json()["message"] != "HTTP 404 Not Found"
    found = get(mstr.url, "/api/projects/Sales%20Analytics", headers).json()
    assert found["name"] == "Sales Analytics" and len(found["id"]) == 32


def test_loaded_projects_depend_on_who_asks(mstr):
    alice = session_of(login(mstr.url, loginMode=1, username="alice", password="alice-S3cret!"))
    bob = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    alice_names = {p["name"] for p in get(mstr.url, "/api/projects", alice).json()}
    bob_names = {p["name"] for p in get(mstr.url, "/api/projects", bob).json()}
    assert "HR Insights" not in alice_names  # unloaded on every node
    assert "Finance Reporting" in alice_names and "Finance Reporting" not in bob_names


def test_project_monitor_pages_with_total_count_and_node_status(mstr):
    headers = session_of(login(mstr.url, loginMode=1, username="alice", password="alice-S3cret!"))
    first = get(mstr.url, "/api/monitors/projects?offset=0&limit=2", headers)
    assert first.headers["x-mstr-total-count"] == "5"
    assert len(first.json()["projects"]) == 2
    rest = get(mstr.url, "/api/monitors/projects?offset=2&limit=-1", headers).json()["projects"]
    assert len(rest) == 3
    hr = next(p for p in rest if p["name"] == "HR Insights")
    assert {n["projectStatus"] for n in hr["nodes"]} == {"unloaded"}


def test_project_monitor_needs_an_administrator(mstr):
    bob = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    response = get(mstr.url, "/api/monitors/projects", bob)
    assert response.status_code == 403 and response.json()["code"] == "ERR014"


def test_api_token_exchange_and_its_switch(mstr):
    headers = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    created = httpx.post(f"{mstr.url}/api/auth/apiTokens", headers=headers)
    assert created.status_code == 201
    token = created.json()["apiToken"]
    again = session_of(login(mstr.url, loginMode=4096, username=token))
    assert get(mstr.url, "/api/sessions/userInfo", again).json()["fullName"] == "Bob Keller"

    mstr.allow_api_tokens = False
    refused = httpx.post(f"{mstr.url}/api/auth/apiTokens", headers=headers)
    assert refused.status_code == emu.API_TOKEN_REFUSED_STATUS
    assert login(mstr.url, loginMode=4096, username=token).status_code == 401


def test_identity_token_validate_and_delegate(mstr):
    headers = session_of(login(mstr.url, loginMode=1, username="bob", password="bob-pass-123"))
    created = httpx.post(f"{mstr.url}/api/auth/identityToken", headers=headers)
    assert created.status_code == 201 and created.content == b""
    idtoken = created.headers["X-MSTR-IdentityToken"]
    valid = get(mstr.url, "/api/auth/identityToken", {**headers, "X-MSTR-IdentityToken": idtoken})
    assert valid.json() == {"userId": mstr.users["bob"].id}
    delegated = httpx.post(
        f"{mstr.url}/api/auth/delegate", json={"loginMode": "-1", "identityToken": idtoken}
    )
    shared = session_of(delegated)
    assert get(mstr.url, "/api/sessions/userInfo", shared).json()["fullName"] == "Bob Keller"


@pytest.mark.parametrize("status,code", [(500, "ERR001"), (503, "ERR016"), (401, "ERR009")])
def test_injected_faults_answer_with_the_platform_error_body(mstr, status, code):
    mstr.faults.set(status=status, path_prefix="/api/status", remaining=1)
    response = get(mstr.url, "/api/status")
    assert response.status_code == status
    assert response.json()["code"] == code and "ticketId" in response.json()
    assert get(mstr.url, "/api/status").status_code == 200
