"""Keycloak tokens for Squonk2: the password grant once at link time, refresh grants after.

The stored secret is the refresh (preferably offline) token, never the password. Access tokens
live only in memory, one per stored token, and are refreshed shortly before `expires_in` runs
out, measured on an injectable clock. One lock per stored token makes concurrent commands share
one refresh, which matters where Keycloak makes refresh tokens single-use.

When Keycloak answers a refresh with a new refresh token, `on_rotate(credential, new)` saves
it (the platform wires that to `Platform.save_secret`); the old token keeps working in memory
for callers that still hold the previous `Credential`. A refused refresh token raises
`errors.Unauthorized` (the core sends one re-link DM) and is remembered as dead, so repeated
commands do not hammer Keycloak with it.

Bodies are built by httpx from dicts, so they are URL-encoded (UTF-8): passwords with `&`,
`+`, `=` or non-ASCII letters reach Keycloak intact (the official client does not encode them).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from bot import errors
from bot.platforms.answers import checked
from bot.platforms.base import Credential
from bot.platforms.http import PlatformHTTP, default_reason
from bot.platforms.squonk.models import TokenResponse

_LOG = logging.getLogger(__name__)

# --- Keycloak choices that are inferred, not seen on the wire (protocol 2.1 [INF]) ----------
# Correct them here only; the emulator keeps its copy in emulators/keycloak.py.
TOKEN_PATH = "/realms/{realm}/protocol/openid-connect/token"
LOGOUT_PATH = "/realms/{realm}/protocol/openid-connect/logout"
OFFLINE_SCOPE = "openid offline_access"
PLAIN_SCOPE = "openid"
# OAuth `error` codes meaning "no offline tokens here": fall back to a plain refresh token.
OFFLINE_REFUSALS = frozenset({"not_allowed", "invalid_scope"})
# Codes meaning the user's grant is bad (password wrong, token expired or revoked): re-link.
USER_REFUSALS = frozenset({"invalid_grant"})
# Codes meaning the bot's own client is misconfigured: the operator must fix it.
CLIENT_REFUSALS = frozenset({"invalid_client", "unauthorized_client"})
# ---------------------------------------------------------------------------------------------

EXPIRY_MARGIN_S = 30.0  # refresh this long before the access token expires
_HASHES_KEPT = 4  # secrets remembered per session (the current one and a few rotated ones)

OnRotate = Callable[[Credential, str], Awaitable[None]]


class _OfflineRefused(errors.Rejected):
    """Keycloak will not issue an offline token for this user or client."""


def oauth_error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _error_class(response: httpx.Response) -> type[errors.PlatformError] | None:
    code = oauth_error_code(response)
    if response.status_code == 400 and code in OFFLINE_REFUSALS:
        return _OfflineRefused
    if code in USER_REFUSALS:
        return errors.Unauthorized
    if code in CLIENT_REFUSALS:
        return errors.Rejected
    return None


def _reason(response: httpx.Response) -> str:
    """Keycloak's `error_description` (never echoes the request), with a hint for clients."""
    reason = default_reason(response)
    if oauth_error_code(response) in CLIENT_REFUSALS:
        return f"{reason} (the operator should check this instance's client id and secret)"
    return reason


def keycloak_http(
    *,
    platform: str,
    instance: str,
    keycloak_url: str,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> PlatformHTTP:
    """A PlatformHTTP for the Keycloak server with OAuth errors mapped to the error tree."""
    return PlatformHTTP(
        platform=platform,
        instance=instance,
        base_url=keycloak_url,
        timeout=timeout,
        reason=_reason,
        error_class=_error_class,
        transport=transport,
        ssl_context=ssl_context,
    )


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: only for display (the DM verifies the signature)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class _Session:
    """What the bot knows about one stored token (in memory only)."""

    refresh_token: str
    access_token: str = ""
    expires_at: float = 0.0
    refused: bool = False
    digests: list[str] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __repr__(self) -> str:  # never print tokens
        return f"_Session(expires_at={self.expires_at}, refused={self.refused})"


@checked
class KeycloakAuth:
    """Token grants and the access-token cache for one Squonk2 instance."""

    def __init__(
        self,
        *,
        http: PlatformHTTP,
        realm: str,
        client_id: str,
        client_secret: str | None = None,
        clock: Callable[[], float] = time.time,
        on_rotate: OnRotate | None = None,
    ) -> None:
        self.http = http
        self.realm = realm
        self.client_id = client_id
        self._client_secret = client_secret
        self.clock = clock
        self._on_rotate = on_rotate
        self._sessions: dict[str, _Session] = {}

    def __repr__(self) -> str:
        return f"KeycloakAuth(realm={self.realm!r}, client_id={self.client_id!r})"

    # -- grants ------------------------------------------------------------------------------
    def _client_fields(self) -> dict[str, str]:
        fields = {"client_id": self.client_id}
        if self._client_secret:
            fields["client_secret"] = self._client_secret
        return fields

    async def _token(self, form: dict[str, str]) -> TokenResponse:
        body = await self.http.json("POST", TOKEN_PATH.format(realm=self.realm), data=form)
        try:
            return TokenResponse.model_validate(body)
        except ValidationError:
            # The validation text would quote the body, tokens included: say less.
            raise self.http.error(
                errors.BadAnswer, "Keycloak answered the token request with an unexpected body"
            ) from None

    async def password_grant(self, *, username: str, password: str) -> TokenResponse:
        """Exchange a username and password for tokens, asking for an offline token first and
        settling for a plain refresh token where the realm does not allow offline access."""
        form = {
            **self._client_fields(),
            "grant_type": "password",
            "username": username,
            "password": password,
        }
        try:
            return await self._token({**form, "scope": OFFLINE_SCOPE})
        except _OfflineRefused:
            return await self._token({**form, "scope": PLAIN_SCOPE})

    async def refresh_grant(self, *, refresh_token: str) -> TokenResponse:
        return await self._token(
            {**self._client_fields(), "grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    async def logout(self, *, refresh_token: str) -> None:
        """End the Keycloak session of a refresh/offline token; an already-dead one is fine."""
        form = {**self._client_fields(), "refresh_token": refresh_token}
        try:
            await self.http.request("POST", LOGOUT_PATH.format(realm=self.realm), data=form)
        except errors.Unauthorized:
            return  # invalid_grant: the session had already ended

    # -- the cache ---------------------------------------------------------------------------
    def _session(self, secret: str) -> _Session:
        digest = _digest(secret)
        session = self._sessions.get(digest)
        if session is None:
            session = _Session(refresh_token=secret, digests=[digest])
            self._sessions[digest] = session
        return session

    def _adopt(self, session: _Session, refresh_token: str) -> None:
        """Make `refresh_token` the session's current token, remembering a few old ones."""
        session.refresh_token = refresh_token
        digest = _digest(refresh_token)
        self._sessions[digest] = session
        session.digests.append(digest)
        while len(session.digests) > _HASHES_KEPT:
            self._sessions.pop(session.digests.pop(0), None)

    def remember(self, tokens: TokenResponse, *, started: float | None = None) -> None:
        """Cache the access token of a fresh grant (link time), keyed by its refresh token."""
        if not tokens.refresh_token:
            return
        session = self._session(tokens.refresh_token)
        session.access_token = tokens.access_token
        session.expires_at = (self.clock() if started is None else started) + tokens.expires_in

    def current_refresh_token(self, credential: Credential) -> str:
        """The newest refresh token known for this credential (it may have rotated)."""
        session = self._sessions.get(_digest(credential.secret))
        return session.refresh_token if session else credential.secret

    def invalidate(self, credential: Credential) -> None:
        """Drop the cached access token (the DM refused it): the next call refreshes."""
        session = self._sessions.get(_digest(credential.secret))
        if session is not None:
            session.access_token, session.expires_at = "", 0.0

    def forget(self, credential: Credential) -> None:
        session = self._sessions.get(_digest(credential.secret))
        if session is not None:
            for digest in session.digests:
                self._sessions.pop(digest, None)

    async def access_token(self, credential: Credential) -> str:
        """A live access token for the credential, refreshing it when near expiry."""
        session = self._session(credential.secret)
        async with session.lock:
            if session.refused:
                raise self.http.error(
                    errors.Unauthorized, "the stored Squonk2 sign-in was refused; link again"
                )
            if session.access_token and self.clock() < session.expires_at - EXPIRY_MARGIN_S:
                return session.access_token
            started = self.clock()
            try:
                tokens = await self.refresh_grant(refresh_token=session.refresh_token)
            except errors.Unauthorized:
                session.refused, session.access_token = True, ""
                raise
            session.access_token = tokens.access_token
            session.expires_at = started + tokens.expires_in
            if tokens.refresh_token and tokens.refresh_token != session.refresh_token:
                self._adopt(session, tokens.refresh_token)
                await self._save_rotated(credential, tokens.refresh_token)
            return session.access_token

    async def _save_rotated(self, credential: Credential, new_secret: str) -> None:
        if self._on_rotate is None:
            return
        try:
            await self._on_rotate(credential, new_secret)
        except Exception as exc:  # the token works in memory; a failed save must not fail
            # the user's command. Log the kind of failure only: never the token.
            _LOG.warning(
                "could not save the rotated Squonk2 token for %r: %s",
                credential,
                type(exc).__name__,
            )
