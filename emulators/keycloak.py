"""A Keycloak realm server, enough for Squonk2: password and refresh grants, offline tokens,
the realm's public key, logout and revocation, all timed on the emulator's clock.

Paths keep the legacy `/auth` prefix that Squonk2 deployments use, so the Keycloak URL given
to clients is `emulator.keycloak_url` (= `{url}/auth`). Access tokens are RS256 JWTs signed with
a per-emulator RSA key (made with `cryptography`), which the official client verifies with
authlib against `GET /auth/realms/{realm}`'s bare base64 `public_key`.

Refresh and offline tokens are RS256 JWTs too (real Keycloak signs them HS256 with a realm
secret; clients never look inside them, so the choice does not show). Every token belongs to
a session: logout, revocation and `revoke_user()` end sessions, which refuses their refresh
tokens with `invalid_grant`, as Keycloak does.

Form bodies are decoded by the standard rules (UTF-8, `+` is a space, `%XX` escapes), as
Keycloak does. A client that does not URL-encode a password containing `&`, `+` or `=` (the
official `im-squonk2-client`) therefore sends a different password, and is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulators.base import Emulator

PREFIX = "/auth"  # legacy Keycloak path prefix kept by Squonk2 sites (protocol 1.1, 6.2.3)

# --- Inferred Keycloak behaviour (protocol 2.1 marks error bodies as [INF]) -------------------
# Correct these here only; the bot's client keeps its own copy in bot/platforms/squonk/auth.py.
BAD_CREDENTIALS = (401, "invalid_grant", "Invalid user credentials")
BAD_CLIENT = (401, "unauthorized_client", "Invalid client or Invalid client credentials")
UNKNOWN_CLIENT = (401, "invalid_client", "Invalid client or Invalid client credentials")
REFRESH_EXPIRED = (400, "invalid_grant", "Token is not active")
REFRESH_SESSION_ENDED = (400, "invalid_grant", "Session not active")
REFRESH_INVALID = (400, "invalid_grant", "Invalid refresh token")
REFRESH_WRONG_CLIENT = (
    400,
    "invalid_grant",
    "Invalid refresh token. Token client and authorized client don't match",
)
OFFLINE_NOT_ALLOWED = (400, "not_allowed", "Offline tokens not allowed for the user or client")
UNSUPPORTED_GRANT = (400, "unsupported_grant_type", "Unsupported grant_type")
MISSING_PARAMETER = (400, "invalid_request", "Missing form parameter: {name}")
# Lifetimes in seconds (Keycloak defaults: access 5 min, SSO idle 30 min, offline idle 30 d).
ACCESS_LIFETIME = 300
REFRESH_LIFETIME = 1800
OFFLINE_LIFETIME = 30 * 24 * 3600
# ---------------------------------------------------------------------------------------------

# Demo users: alice's password has &, + and = and a non-ASCII letter on purpose (the official
# client sends it unencoded; ours must not). alice is the privileged user.
DEMO: dict[str, dict[str, str]] = {
    "alice": {"username": "alice", "password": "Sq&onk+2=Grün€"},
    "bob": {"username": "bob", "password": "bob-data-42"},
}
DEMO_REALM = "squonk"
DEMO_PUBLIC_CLIENT = "data-manager-api"
DEMO_CONFIDENTIAL_CLIENT = "data-manager-bot"
DEMO_CLIENT_SECRET = "bot-client-secret-0c9f"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_form(body: bytes) -> dict[str, str]:
    """Standard `application/x-www-form-urlencoded` decoding (UTF-8; `+` is a space)."""
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


@dataclass
class Session:
    id: str
    username: str
    client_id: str
    offline: bool
    scope: str
    active: bool = True
    # jti of the refresh token last issued: with `single_use_refresh_tokens` only it works.
    current_refresh_jti: str = ""


@dataclass(frozen=True)
class TokenIssue:
    """One answer of the token endpoint that carried tokens (for tests to count)."""

    grant_type: str
    username: str
    client_id: str
    offline: bool
    at: float


@dataclass
class User:
    username: str
    password: str | None  # None: a federated account that has never set a Keycloak password
    email: str = ""
    offline_access: bool = True  # holds the realm's `offline_access` role
    identity_provider: str = ""  # e.g. "google": signs in through that provider


@dataclass
class _State:
    users: dict[str, User] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)


class KeycloakEmulator(Emulator):
    """One realm of a Keycloak server.

    clients: client id -> secret (None for a public client).
    single_use_refresh_tokens: Keycloak's "Revoke Refresh Token" realm option: each refresh
        answers with a new refresh token and the old one stops working.
    """

    name = "keycloak"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        realm: str = DEMO_REALM,
        clients: dict[str, str | None] | None = None,
        users: dict[str, dict[str, str]] | None = None,
        access_lifetime: float = ACCESS_LIFETIME,
        refresh_lifetime: float = REFRESH_LIFETIME,
        offline_lifetime: float = OFFLINE_LIFETIME,
        offline_access: bool = True,
        single_use_refresh_tokens: bool = False,
    ) -> None:
        super().__init__(clock=clock)
        self.realm = realm
        self.clients: dict[str, str | None] = (
            dict(clients)
            if clients is not None
            else {
                DEMO_PUBLIC_CLIENT: None,
                DEMO_CONFIDENTIAL_CLIENT: DEMO_CLIENT_SECRET,
            }
        )
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.offline_lifetime = offline_lifetime
        self.single_use_refresh_tokens = single_use_refresh_tokens
        self.tokens_issued: list[TokenIssue] = []
        self._lock = threading.Lock()
        self._state = _State()
        for name, spec in (users if users is not None else DEMO).items():
            self.add_user(
                spec.get("username", name), spec["password"], offline_access=offline_access
            )
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:16]

    # -- test helpers ----------------------------------------------------------------------
    @property
    def keycloak_url(self) -> str:
        """What clients are configured with: the server URL including `/auth`."""
        return self.url + PREFIX

    def add_user(
        self,
        username: str,
        password: str | None,
        *,
        offline_access: bool = True,
        identity_provider: str = "",
    ) -> None:
        """A realm user. With `identity_provider` and no password, a federated account: it
        signs in through that provider and the password grant refuses it, as Keycloak does."""
        with self._lock:
            self._state.users[username] = User(
                username,
                password,
                f"{username}@example.org",
                offline_access,
                identity_provider,
            )

    def set_password(self, username: str, password: str) -> None:
        """What the person does on the account console (Signing in > Set up password)."""
        with self._lock:
            self._state.users[username].password = password

    def reset(self) -> None:
        """Forget sessions, issued tokens, the request log and faults (users and the key stay),
        so one running server can serve many tests."""
        with self._lock:
            self._state.sessions.clear()
        self.tokens_issued.clear()
        self.requests.clear()
        self.faults.clear()

    def revoke_user(self, username: str) -> int:
        """End every session of the user (admin "sign out"): their refresh tokens stop
        working. Access tokens already issued stay valid until they expire, as in Keycloak."""
        with self._lock:
            ended = 0
            for session in self._state.sessions.values():
                if session.username == username and session.active:
                    session.active = False
                    ended += 1
            return ended

    def issued(self, grant_type: str) -> int:
        return sum(1 for t in self.tokens_issued if t.grant_type == grant_type)

    def active_sessions(self, username: str) -> int:
        with self._lock:
            return sum(
                1 for s in self._state.sessions.values() if s.username == username and s.active
            )

    @property
    def public_key_der_b64(self) -> str:
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    # -- JWT ---------------------------------------------------------------------------------
    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self._key.sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        return signing_input + "." + b64url(signature)

    def decode(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this realm signed, or None if it is not one (bad signature,
        garbage). Expiry is not checked here."""
        try:
            head, body, sig = token.split(".")
            self._key.public_key().verify(
                b64url_decode(sig),
                f"{head}.{body}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(b64url_decode(body))
        except (ValueError, binascii.Error, UnicodeEncodeError, InvalidSignature):
            return None
        return claims if isinstance(claims, dict) else None

    def validate_access_token(self, token: str) -> dict[str, Any] | None:
        """Claims of a live access token of this realm (what a resource server checks)."""
        claims = self.decode(token)
        if not claims or claims.get("typ") != "Bearer":
            return None
        if claims.get("exp", 0) <= self.clock():
            return None
        return claims

    # -- routes ------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        base = f"{PREFIX}/realms/{{realm}}"
        oidc = f"{base}/protocol/openid-connect"
        return [
            Route(base, self._realm_info, methods=["GET"]),
            Route(f"{base}/.well-known/openid-configuration", self._discovery, methods=["GET"]),
            Route(f"{oidc}/certs", self._certs, methods=["GET"]),
            Route(f"{oidc}/token", self._token, methods=["POST"]),
            Route(f"{oidc}/logout", self._logout, methods=["POST"]),
            Route(f"{oidc}/revoke", self._revoke, methods=["POST"]),
            Route(f"{base}/account", self._account, methods=["GET"]),
        ]

    def error_response(self, status: int, message: str) -> Response:
        return JSONResponse(
            {"error": "server_error", "error_description": message}, status_code=status
        )

    @staticmethod
    def oauth_error(spec: tuple[int, str, str], **fmt: str) -> Response:
        status, error, description = spec
        return JSONResponse(
            {"error": error, "error_description": description.format(**fmt)}, status_code=status
        )

    def _issuer(self, request: Request) -> str:
        return f"{str(request.base_url).rstrip('/')}{PREFIX}/realms/{self.realm}"

    def _known_realm(self, request: Request) -> bool:
        return request.path_params["realm"] == self.realm

    async def _realm_info(self, request: Request) -> Response:
        if not self._known_realm(request):
            return JSONResponse({"error": "Realm does not exist"}, status_code=404)
        issuer = self._issuer(request)
        return JSONResponse(
            {
                "realm": self.realm,
                "public_key": self.public_key_der_b64,
                "token-service": f"{issuer}/protocol/openid-connect",
                "account-service": f"{issuer}/account",
                "tokens-not-before": 0,
            }
        )

    async def _account(self, request: Request) -> Response:
        """The account console's entry page (a single-page app in Keycloak; a stub here),
        so that a link the bot shows leads somewhere real."""
        if not self._known_realm(request):
            return JSONResponse({"error": "Realm does not exist"}, status_code=404)
        return HTMLResponse(
            f"<html><head><title>Keycloak account console</title></head>"
            f"<body><h1>{self.realm}: Signing in</h1>"
            "<p>Set up a password</p></body></html>"
        )

    async def _discovery(self, request: Request) -> Response:
        if not self._known_realm(request):
            return JSONResponse({"error": "Realm does not exist"}, status_code=404)
        issuer = self._issuer(request)
        oidc = f"{issuer}/protocol/openid-connect"
        return JSONResponse(
            {
                "issuer": issuer,
                "token_endpoint": f"{oidc}/token",
                "end_session_endpoint": f"{oidc}/logout",
                "revocation_endpoint": f"{oidc}/revoke",
                "jwks_uri": f"{oidc}/certs",
                "grant_types_supported": ["password", "refresh_token"],
            }
        )

    async def _certs(self, request: Request) -> Response:
        if not self._known_realm(request):
            return JSONResponse({"error": "Realm does not exist"}, status_code=404)
        numbers = self._key.public_key().public_numbers()

        def as_b64(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return JSONResponse(
            {
                "keys": [
                    {
                        "kid": self.kid,
                        "kty": "RSA",
                        "alg": "RS256",
                        "use": "sig",
                        "n": as_b64(numbers.n),
                        "e": as_b64(numbers.e),
                    }
                ]
            }
        )

    def _client(self, request: Request, form: dict[str, str]) -> tuple[str | None, Response | None]:
        """Authenticate the client (form fields or HTTP Basic); (client_id, error response)."""
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, binascii.Error):
                return None, self.oauth_error(BAD_CLIENT)
        if client_id not in self.clients:
            return None, self.oauth_error(UNKNOWN_CLIENT)
        expected = self.clients[client_id]
        if expected is not None and secret != expected:
            return None, self.oauth_error(BAD_CLIENT)
        return client_id, None

    async def _token(self, request: Request) -> Response:
        if not self._known_realm(request):
            return JSONResponse({"error": "Realm does not exist"}, status_code=404)
        form = parse_form(await request.body())
        client_id, failure = self._client(request, form)
        if failure is not None:
            return failure
        assert client_id is not None
        grant = form.get("grant_type", "")
        if grant == "password":
            return self._password_grant(request, client_id, form)
        if grant == "refresh_token":
            return self._refresh_grant(request, client_id, form)
        if not grant:
            return self.oauth_error(MISSING_PARAMETER, name="grant_type")
        return self.oauth_error(UNSUPPORTED_GRANT)

    def _password_grant(self, request: Request, client_id: str, form: dict[str, str]) -> Response:
        username, password = form.get("username", ""), form.get("password", "")
        scopes = form.get("scope", "").split()
        with self._lock:
            user = self._state.users.get(username)
            if user is None or user.password is None or user.password != password:
                return self.oauth_error(BAD_CREDENTIALS)
            offline = "offline_access" in scopes
            if offline and not user.offline_access:
                return self.oauth_error(OFFLINE_NOT_ALLOWED)
            granted = " ".join(dict.fromkeys(["openid", "profile", "email", *scopes]))
            session = Session(uuid.uuid4().hex, username, client_id, offline, granted)
            self._state.sessions[session.id] = session
            return self._tokens(request, session, "password")

    def _refresh_grant(self, request: Request, client_id: str, form: dict[str, str]) -> Response:
        token = form.get("refresh_token", "")
        if not token:
            return self.oauth_error(MISSING_PARAMETER, name="refresh_token")
        claims = self.decode(token)
        if not claims or claims.get("typ") not in ("Refresh", "Offline"):
            return self.oauth_error(REFRESH_INVALID)
        with self._lock:
            session = self._state.sessions.get(str(claims.get("sid")))
            if session is None or not session.active:
                return self.oauth_error(REFRESH_SESSION_ENDED)
            if claims.get("azp") != client_id:
                return self.oauth_error(REFRESH_WRONG_CLIENT)
            if claims.get("exp", 0) <= self.clock():
                return self.oauth_error(REFRESH_EXPIRED)
            if self.single_use_refresh_tokens and claims.get("jti") != session.current_refresh_jti:
                return self.oauth_error(REFRESH_INVALID)
            return self._tokens(request, session, "refresh_token")

    def _tokens(self, request: Request, session: Session, grant: str) -> Response:
        """Issue an access token and a new refresh/offline token for the session."""
        now = self.clock()
        issuer = self._issuer(request)
        access = self.sign(
            {
                "exp": int(now + self.access_lifetime),
                "iat": int(now),
                "jti": str(uuid.uuid4()),
                "iss": issuer,
                "sub": _user_sub(session.username),
                "typ": "Bearer",
                "azp": session.client_id,
                "sid": session.id,
                "scope": session.scope,
                "preferred_username": session.username,
                "email": f"{session.username}@example.org",
            }
        )
        refresh_life = self.offline_lifetime if session.offline else self.refresh_lifetime
        refresh_jti = str(uuid.uuid4())
        session.current_refresh_jti = refresh_jti
        refresh = self.sign(
            {
                "exp": int(now + refresh_life),
                "iat": int(now),
                "jti": refresh_jti,
                "iss": issuer,
                "aud": issuer,
                "sub": _user_sub(session.username),
                "typ": "Offline" if session.offline else "Refresh",
                "azp": session.client_id,
                "sid": session.id,
                "scope": session.scope,
            }
        )
        self.tokens_issued.append(
            TokenIssue(grant, session.username, session.client_id, session.offline, now)
        )
        return JSONResponse(
            {
                "access_token": access,
                "expires_in": int(self.access_lifetime),
                "refresh_expires_in": int(refresh_life),
                "refresh_token": refresh,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "session_state": session.id,
                "scope": session.scope,
            }
        )

    def _end_session_of(self, token: str, client_id: str) -> bool:
        claims = self.decode(token)
        if not claims or claims.get("azp") != client_id:
            return False
        with self._lock:
            session = self._state.sessions.get(str(claims.get("sid")))
            if session is None or not session.active:
                return False
            session.active = False
            return True

    async def _logout(self, request: Request) -> Response:
        """OIDC back-channel logout with a refresh token: 204, or 400 invalid_grant."""
        form = parse_form(await request.body())
        client_id, failure = self._client(request, form)
        if failure is not None:
            return failure
        assert client_id is not None
        token = form.get("refresh_token", "")
        if not token:
            return self.oauth_error(MISSING_PARAMETER, name="refresh_token")
        if not self._end_session_of(token, client_id):
            return self.oauth_error(REFRESH_SESSION_ENDED)
        return Response(status_code=204)

    async def _revoke(self, request: Request) -> Response:
        """RFC 7009 revocation: 200 whether or not the token was still valid."""
        form = parse_form(await request.body())
        client_id, failure = self._client(request, form)
        if failure is not None:
            return failure
        assert client_id is not None
        token = form.get("token", "")
        if not token:
            return self.oauth_error(MISSING_PARAMETER, name="token")
        self._end_session_of(token, client_id)
        return Response(status_code=200)


def _user_sub(username: str) -> str:
    """A stable user id per name, like Keycloak's user UUIDs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"keycloak-user:{username}"))
