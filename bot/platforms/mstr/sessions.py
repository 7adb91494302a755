"""Strategy One logins and the per-user session cache.

A Strategy One session is two things that must travel together: the `X-MSTR-AuthToken` and the
servlet cookies (`JSESSIONID`, load-balancer cookies) the token is bound to. `MstrSession` keeps
both, per user, so one user's cookies never reach another user's request.

Timing is done on an injectable clock with real elapsed seconds (mstrio compares
`timedelta.seconds`, which wraps after 24 h; we do not). The cache only decides; the client does
the HTTP (`StrategyOneClient._session`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie

import httpx

from bot import errors
from bot.platforms.base import Credential

LOGIN_STANDARD, LOGIN_LDAP, LOGIN_API_TOKEN = 1, 16, 4096
MODE_NAMES = {LOGIN_STANDARD: "standard", LOGIN_LDAP: "LDAP", LOGIN_API_TOKEN: "API token"}

KIND_API_TOKEN = "API token"
KIND_PASSWORD = "password"


@dataclass(frozen=True)
class Login:
    """How to log one user in. Stored (encrypted) as the credential's JSON secret:
    `{"mode": 4096, "username": ..., "api_token": ...}` or `{"mode", "username", "password"}`.
    """

    mode: int
    username: str = ""
    password: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODE_NAMES:
            raise errors.UserError(
                "Login mode must be standard (1), LDAP (16) or API token (4096)."
            )
        if self.mode == LOGIN_API_TOKEN and not self.api_token:
            raise errors.UserError("API token login needs the token in the secret field.")
        if self.mode != LOGIN_API_TOKEN and not (self.username and self.password):
            raise errors.UserError(
                f"{MODE_NAMES[self.mode].capitalize()} login needs a username and a password."
            )

    @classmethod
    def from_secret(cls, secret: str) -> Login:
        try:
            data = json.loads(secret)
            return cls(
                mode=int(data["mode"]),
                username=str(data.get("username") or ""),
                password=data.get("password"),
                api_token=data.get("api_token"),
            )
        except (ValueError, KeyError, TypeError):
            # Never echo the secret: say only that it is unreadable.
            raise errors.UserError(
                "The stored Strategy One credential is unreadable; link the account again."
            ) from None

    def to_secret(self) -> str:
        data: dict[str, object] = {"mode": self.mode, "username": self.username}
        if self.mode == LOGIN_API_TOKEN:
            data["api_token"] = self.api_token
        else:
            data["password"] = self.password
        return json.dumps(data)

    @property
    def kind(self) -> str:
        """What is kept: "API token" or "password" (shown in /ops links)."""
        return KIND_API_TOKEN if self.mode == LOGIN_API_TOKEN else KIND_PASSWORD

    def body(self, application_type: int) -> dict[str, object]:
        """The JSON login body (spec §1; mode 4096 sends the token as `username`)."""
        body: dict[str, object] = {"loginMode": self.mode, "applicationType": application_type}
        if self.mode == LOGIN_API_TOKEN:
            body["username"] = self.api_token
        else:
            body["username"] = self.username
            body["password"] = self.password
        return body


@dataclass(repr=False)
class MstrSession:
    """One open I-Server session: the token, its cookies and when it was last renewed."""

    token: str
    cookies: dict[str, str]
    timeout: int  # the I-Server idle timeout in seconds (GET /api/sessions)
    last_active: float  # clock time of the last login or renewal

    def __repr__(self) -> str:  # never print the token or cookies
        return f"MstrSession(timeout={self.timeout}, last_active={self.last_active})"

    def headers(self, project_id: str | None = None) -> dict[str, str]:
        headers = {"X-MSTR-AuthToken": self.token}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if project_id:
            headers["X-MSTR-ProjectID"] = project_id
        return headers

    def absorb(self, response: httpx.Response) -> None:
        """Keep every cookie the server sets (JSESSIONID and any load-balancer cookie)."""
        self.cookies.update(cookies_from(response))
        for name in _deleted_cookies(response):
            self.cookies.pop(name, None)


def cookies_from(response: httpx.Response) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        try:
            parsed = SimpleCookie(header)
        except CookieError:
            continue
        for name, morsel in parsed.items():
            if morsel.value and morsel["max-age"] not in ("0", 0):
                found[name] = morsel.value
    return found


def _deleted_cookies(response: httpx.Response) -> list[str]:
    gone = []
    for header in response.headers.get_list("set-cookie"):
        try:
            parsed = SimpleCookie(header)
        except CookieError:
            continue
        gone += [n for n, m in parsed.items() if not m.value or m["max-age"] in ("0", 0)]
    return gone


SessionKey = tuple[str, str]


class SessionCache:
    """Open sessions per (Slack user, credential fingerprint), with one lock per key.

    The fingerprint (a hash, never the secret) makes a re-linked account start a new session.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.time, renew_fraction: float = 0.75
    ) -> None:
        self.clock = clock
        self.renew_fraction = renew_fraction
        self._sessions: dict[SessionKey, MstrSession] = {}
        self._locks: dict[SessionKey, asyncio.Lock] = {}

    @staticmethod
    def key(credential: Credential) -> SessionKey:
        digest = hashlib.sha256(credential.secret.encode()).hexdigest()[:16]
        return (credential.user_id, digest)

    def lock(self, key: SessionKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def get(self, key: SessionKey) -> MstrSession | None:
        return self._sessions.get(key)

    def put(self, key: SessionKey, session: MstrSession) -> None:
        self._sessions[key] = session

    def pop(self, key: SessionKey) -> MstrSession | None:
        return self._sessions.pop(key, None)

    def pop_user(self, user_id: str) -> list[MstrSession]:
        keys = [k for k in self._sessions if k[0] == user_id]
        return [s for k in keys if (s := self._sessions.pop(k, None)) is not None]

    def drain(self) -> list[MstrSession]:
        sessions = list(self._sessions.values())
        self._sessions.clear()
        return sessions

    def elapsed(self, session: MstrSession) -> float:
        """Real seconds since the last login or renewal (no 24 h wrap-around)."""
        return self.clock() - session.last_active

    def expires_in(self, session: MstrSession) -> float:
        return session.timeout - self.elapsed(session)

    def state(self, session: MstrSession) -> str:
        """ "fresh", "renew" (past the renew fraction of the timeout) or "expired"."""
        elapsed = self.elapsed(session)
        if elapsed >= session.timeout:
            return "expired"
        if elapsed >= session.timeout * self.renew_fraction:
            return "renew"
        return "fresh"

    def touch(self, session: MstrSession) -> None:
        session.last_active = self.clock()

    def __len__(self) -> int:
        return len(self._sessions)
