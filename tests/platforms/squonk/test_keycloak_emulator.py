"""The Keycloak emulator: grants, offline tokens, expiry on the clock, revocation, errors."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from emulators.base import FakeClock
from emulators.keycloak import (
    DEMO,
    DEMO_CLIENT_SECRET,
    DEMO_CONFIDENTIAL_CLIENT,
    DEMO_PUBLIC_CLIENT,
    KeycloakEmulator,
)


def token_url(kc: KeycloakEmulator) -> str:
    return f"{kc.keycloak_url}/realms/{kc.realm}/protocol/openid-connect/token"


def password_grant(kc, who="alice", *, scope=None, client=DEMO_PUBLIC_CLIENT, **extra):
    form = {"client_id": client, "grant_type": "password", **DEMO[who], **extra}
    if scope:
        form["scope"] = scope
    return httpx.post(token_url(kc), data=form)


def refresh(kc, refresh_token, client=DEMO_PUBLIC_CLIENT):
    return httpx.post(
        token_url(kc),
        data={"client_id": client, "grant_type": "refresh_token", "refresh_token": refresh_token},
    )


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_password_grant_with_special_characters_gives_a_signed_rs256_token(kc, squonk_clock):
    assert set("&+=€") <= set(DEMO["alice"]["password"])
    r = password_grant(kc, "alice")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    token = body["access_token"]
    # The realm's bare base64 DER public key verifies the signature (what authlib does).
    der = base64.b64decode(httpx.get(f"{kc.keycloak_url}/realms/squonk").json()["public_key"])
    key = serialization.load_der_public_key(der)
    head, payload, sig = token.split(".")
    key.verify(
        base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)),
        f"{head}.{payload}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert json.loads(base64.urlsafe_b64decode(head + "=="))["alg"] == "RS256"
    c = claims(token)
    assert c["preferred_username"] == "alice" and c["exp"] == int(squonk_clock()) + 300


def test_an_unencoded_password_is_split_by_the_form_parser_and_refused(kc):
    raw = (
        f"client_id={DEMO_PUBLIC_CLIENT}&grant_type=password&username=alice&password="
        f"{DEMO['alice']['password']}"
    )
    r = httpx.post(
        token_url(kc),
        content=raw.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}


def test_wrong_password_and_unknown_user_are_invalid_grant(kc):
    assert password_grant(kc, "bob", password="nope").json()["error"] == "invalid_grant"
    r = password_grant(kc, "bob", username="mallory")
    assert (r.status_code, r.json()["error"]) == (401, "invalid_grant")


def test_confidential_client_needs_its_secret_by_form_or_basic_auth(kc):
    r = password_grant(kc, "bob", client=DEMO_CONFIDENTIAL_CLIENT)
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized_client")
    r = password_grant(kc, "bob", client=DEMO_CONFIDENTIAL_CLIENT, client_secret=DEMO_CLIENT_SECRET)
    assert r.status_code == 200
    form = {"grant_type": "password", **DEMO["bob"]}
    r = httpx.post(token_url(kc), data=form, auth=(DEMO_CONFIDENTIAL_CLIENT, DEMO_CLIENT_SECRET))
    assert r.status_code == 200
    r = password_grant(kc, "bob", client="no-such-client")
    assert r.json()["error"] == "invalid_client"


def test_offline_scope_gives_an_offline_token_that_outlives_the_sso_session(kc, squonk_clock):
    body = password_grant(kc, "bob", scope="openid offline_access").json()
    assert "offline_access" in body["scope"].split()
    assert claims(body["refresh_token"])["typ"] == "Offline"
    squonk_clock.advance(kc.refresh_lifetime + 60)
    assert refresh(kc, body["refresh_token"]).status_code == 200


def test_plain_refresh_token_expires_on_the_clock(kc, squonk_clock):
    body = password_grant(kc, "bob").json()
    assert claims(body["refresh_token"])["typ"] == "Refresh"
    assert refresh(kc, body["refresh_token"]).status_code == 200
    squonk_clock.advance(kc.refresh_lifetime + 1)
    r = refresh(kc, body["refresh_token"])
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_offline_access_can_be_refused_by_the_realm():
    with KeycloakEmulator(clock=FakeClock(), offline_access=False) as kc:
        r = password_grant(kc, "bob", scope="openid offline_access")
        assert (r.status_code, r.json()["error"]) == (400, "not_allowed")
        assert password_grant(kc, "bob", scope="openid").status_code == 200


def test_revoke_user_ends_sessions_so_refresh_tokens_are_refused(kc):
    body = password_grant(kc, "bob", scope="openid offline_access").json()
    assert kc.revoke_user("bob") == 1
    r = refresh(kc, body["refresh_token"])
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant", "error_description": "Session not active"}


def test_logout_and_revoke_endpoints_end_the_session(kc):
    oidc = f"{kc.keycloak_url}/realms/squonk/protocol/openid-connect"
    first = password_grant(kc, "bob").json()["refresh_token"]
    r = httpx.post(f"{oidc}/logout", data={"client_id": DEMO_PUBLIC_CLIENT, "refresh_token": first})
    assert r.status_code == 204
    assert refresh(kc, first).status_code == 400
    assert (
        httpx.post(
            f"{oidc}/logout", data={"client_id": DEMO_PUBLIC_CLIENT, "refresh_token": first}
        ).status_code
        == 400
    )
    second = password_grant(kc, "bob").json()["refresh_token"]
    r = httpx.post(
        f"{oidc}/revoke",
        data={"client_id": DEMO_PUBLIC_CLIENT, "token": second, "token_type_hint": "refresh_token"},
    )
    assert r.status_code == 200
    assert refresh(kc, second).status_code == 400
    assert kc.active_sessions("bob") == 0


def test_single_use_refresh_tokens_rotate():
    with KeycloakEmulator(clock=FakeClock(), single_use_refresh_tokens=True) as kc:
        first = password_grant(kc, "bob").json()["refresh_token"]
        second = refresh(kc, first).json()["refresh_token"]
        assert second != first
        assert refresh(kc, first).status_code == 400
        assert refresh(kc, second).status_code == 200


def test_refresh_token_of_another_client_is_refused(kc):
    token = password_grant(kc, "bob").json()["refresh_token"]
    r = httpx.post(
        token_url(kc),
        data={
            "client_id": DEMO_CONFIDENTIAL_CLIENT,
            "client_secret": DEMO_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": token,
        },
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_bad_requests_have_oauth_error_bodies(kc):
    r = httpx.post(
        token_url(kc), data={"client_id": DEMO_PUBLIC_CLIENT, "grant_type": "client_credentials"}
    )
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")
    r = refresh(kc, "not-a-jwt")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    assert httpx.get(f"{kc.keycloak_url}/realms/other").status_code == 404


def test_certs_and_tokens_issued_log(kc):
    jwks = httpx.get(f"{kc.keycloak_url}/realms/squonk/protocol/openid-connect/certs").json()
    assert jwks["keys"][0]["kid"] == kc.kid and jwks["keys"][0]["alg"] == "RS256"
    password_grant(kc, "bob")
    password_grant(kc, "bob", password="wrong")
    assert [(t.grant_type, t.username) for t in kc.tokens_issued] == [("password", "bob")]


@pytest.mark.parametrize("lifetime", [60, 300])
def test_access_token_lifetime_is_configurable(lifetime):
    clock = FakeClock()
    with KeycloakEmulator(clock=clock, access_lifetime=lifetime) as kc:
        token = password_grant(kc, "bob").json()["access_token"]
        assert kc.validate_access_token(token)["preferred_username"] == "bob"
        clock.advance(lifetime)
        assert kc.validate_access_token(token) is None
