"""Async Strategy One (MicroStrategy Library REST) client for one instance, per the spec
(shared/protocols/strategy-one.md), over `PlatformHTTP`.

Each user's calls run in that user's own I-Server session (`sessions.py`): opened on first use,
renewed with `PUT /api/sessions` once a call comes in past `RENEW_FRACTION` of the timeout,
re-opened when it has timed out, and re-opened once when the server answers 401 mid-session
(then the call is retried once). Sessions are logged out on unlink and at shutdown.

Handlers call the methods taking `credential=`; `verify_login` is for linking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from bot import errors
from bot.platforms.answers import checked
from bot.platforms.base import Credential, InstanceConfig
from bot.platforms.http import PlatformHTTP
from bot.platforms.mstr import models
from bot.platforms.mstr.sessions import (
    LOGIN_API_TOKEN,
    Login,
    MstrSession,
    SessionCache,
    SessionKey,
)

log = logging.getLogger(__name__)

PLATFORM_KEY = "mstr"

# -- Inferred / unverified choices (the spec leaves these open) ------------------------------
# applicationType in the login body: 35 (Library/Web) is what the official REST docs show;
# mstrio sends 76 and falls back to 35.
APPLICATION_TYPE = 35
# Renew when a call comes in past this fraction of the I-Server timeout.
RENEW_FRACTION = 0.75
# If GET /api/sessions gives no timeout (spec: it always should), assume a short one.
FALLBACK_TIMEOUT_S = 300
# Errors of POST /api/auth/apiTokens (or of the trial token login) that mean "this server does
# not let you exchange a login for an API token": keep the password instead. The real server's
# status for a disabled feature is unverified; a 5xx or timeout is not among them (retry later).
NO_TOKEN_EXCHANGE = (errors.Forbidden, errors.NotFound, errors.Rejected, errors.Unauthorized)
# The project monitor page size (spec §10).
MONITOR_PAGE = 1000
# EnumDSSXMLObjectTypes: a document definition, which a dossier is (subtype 14081).
DOCUMENT_TYPE = 55
# --------------------------------------------------------------------------------------------


def api_base(url: str) -> str:
    """The base URL as mstrio normalises it: everything from the first `/api` is cut off."""
    url = url.strip()
    cut = url.find("/api")
    if cut != -1:
        url = url[:cut]
    return url.rstrip("/")


def mstr_reason(response: httpx.Response) -> str:
    """The platform's own reason: `message (code)`, from a plain or `errors: [...]` body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        body = body["errors"][0]
    if isinstance(body, dict):
        try:
            error = models.ErrorBody.model_validate(body)
        except ValidationError:
            error = None
        if error is not None and error.message:
            code = f" ({error.code})" if error.code else ""
            return f"{error.message[:300]}{code}"
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


@checked
class StrategyOneClient:
    """One Strategy One instance; sessions per linked user."""

    def __init__(
        self,
        instance: InstanceConfig,
        *,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.instance = instance.name
        self.http = PlatformHTTP(
            platform=PLATFORM_KEY,
            instance=instance.name,
            base_url=api_base(instance.url),
            timeout=instance.timeout,
            reason=mstr_reason,
            transport=transport,
            ssl_context=instance.ssl_context(),
        )
        # The httpx client is shared by every user of this instance, so its own cookie jar must
        # stay empty: each session sends its own cookies (MstrSession.headers).
        self.http.client.cookies = httpx.Cookies(
            CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        )
        self.sessions = SessionCache(clock=clock, renew_fraction=RENEW_FRACTION)

    # -- no credentials ----------------------------------------------------------------------
    async def server_status(self) -> models.ServerVersions:
        """`GET /api/status`: versions; needs no login."""
        response = await self.http.request("GET", "/api/status")
        body = self._parse(models.ServerStatusBody, response, "/api/status")
        return models.ServerVersions(body.iserver_version, body.web_version, body.deployment_type)

    # -- linking -----------------------------------------------------------------------------
    async def verify_login(self, *, login: Login) -> tuple[models.UserInfo, Login]:
        """Log in once to check the credential; where the server allows it, exchange a
        password login for an API token. Returns who it is and the login to keep. Every session
        opened here is logged out again."""
        session = await self._login(login)
        try:
            info = await self._user_info(session, login)
            if login.mode == LOGIN_API_TOKEN:
                return info, login
            token = await self._exchange_for_api_token(session)
        finally:
            await self._logout(session)
        if token is None:
            return info, login
        return info, Login(mode=LOGIN_API_TOKEN, username=login.username, api_token=token)

    async def _exchange_for_api_token(self, session: MstrSession) -> str | None:
        try:
            response = await self._send(session, "POST", "/api/auth/apiTokens")
            token = models.ApiTokenBody.model_validate(response.json()).api_token
            # Make sure the server also accepts it (mode 4096 may be disabled).
            trial = await self._login(Login(mode=LOGIN_API_TOKEN, api_token=token))
        except NO_TOKEN_EXCHANGE as exc:
            log.info(
                "mstr %s: no API token exchange (%s); keeping the password",
                self.instance,
                type(exc).__name__,
            )
            return None
        except (ValueError, ValidationError):
            return None
        await self._logout(trial)
        return token

    # -- what handlers call ------------------------------------------------------------------
    async def status(self, *, credential: Credential) -> models.SessionStatus:
        """`/mstr status`: I-Server and web versions, the caller's session and its timeout."""
        versions = await self.server_status()
        response, session, reopened = await self._call(credential, "GET", "/api/sessions")
        body = self._parse(models.SessionBody, response, "/api/sessions")
        if body.timeout:
            session.timeout = body.timeout
        return models.SessionStatus(
            iserver_version=versions.iserver_version,
            web_version=versions.web_version,
            alive=response.status_code == 200,
            timeout_s=session.timeout,
            expires_in_s=max(0.0, self.sessions.expires_in(session)),
            reopened=reopened,
        )

    async def whoami(
        self, *, credential: Credential, project_id: str | None = None
    ) -> models.UserInfo:
        """`/mstr whoami`: the session's user."""
        response, _, _ = await self._call(
            credential, "GET", "/api/sessions/userInfo", project_id=project_id
        )
        body = self._parse(models.UserInfoBody, response, "userInfo")
        return models.UserInfo(
            body.id, body.full_name, body.initials, Login.from_secret(credential.secret).username
        )

    async def projects(self, *, credential: Credential) -> list[models.Project]:
        """`/mstr projects`: every project with its status on each node (project monitor).
        Users without the monitor privilege get the projects loaded for them, without nodes."""
        try:
            return await self._monitored_projects(credential)
        except errors.Forbidden:
            return await self.loaded_projects(credential=credential)

    async def loaded_projects(self, *, credential: Credential) -> list[models.Project]:
        """`GET /api/projects`: the projects loaded for this user (no per-node status)."""
        response, _, _ = await self._call(credential, "GET", "/api/projects")
        rows = self._parse(list[models.ProjectBody], response, "/api/projects")
        return [_project(r) for r in rows]

    async def dossier(
        self, *, credential: Credential, project_id: str, dossier_id: str
    ) -> models.Dossier:
        """A dossier's definition in a project (`GET /api/objects/{id}?type=55`, mstrio's
        `get_object_info`): name, owner, when made and last changed."""
        response, _, _ = await self._call(
            credential,
            "GET",
            f"/api/objects/{quote(dossier_id, safe='')}",
            project_id=project_id,
            params={"type": DOCUMENT_TYPE},
        )
        body = self._parse(models.ObjectBody, response, "the dossier")
        return models.Dossier(
            id=body.id,
            name=body.name,
            owner=body.owner.name,
            created=_when(body.date_created),
            modified=_when(body.date_modified),
            description=body.description,
        )

    async def logout(self, *, user_id: str) -> int:
        """Log out every cached session of this Slack user (on unlink). Returns how many."""
        sessions = self.sessions.pop_user(user_id)
        await asyncio.gather(*(self._logout(s) for s in sessions))
        return len(sessions)

    async def aclose(self) -> None:
        """Log every session out, then close the HTTP client (at shutdown)."""
        sessions = self.sessions.drain()
        await asyncio.gather(*(self._logout(s) for s in sessions))
        await self.http.aclose()

    # -- sessions ----------------------------------------------------------------------------
    async def _call(
        self,
        credential: Credential,
        method: str,
        path: str,
        *,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> tuple[httpx.Response, MstrSession, bool]:
        """One call in the caller's session: (response, session, whether it was re-opened).
        A 401 re-opens the session once and retries the call once."""
        key = self.sessions.key(credential)
        session, reopened = await self._session(key, credential)
        try:
            response = await self._send(session, method, path, project_id=project_id, **kwargs)
        except errors.Unauthorized:
            session = await self._reopen(key, credential, session)
            response = await self._send(session, method, path, project_id=project_id, **kwargs)
            reopened = True
        return response, session, reopened

    async def _session(self, key: SessionKey, credential: Credential) -> tuple[MstrSession, bool]:
        """The caller's live session: cached, renewed, or (re)opened."""
        async with self.sessions.lock(key):
            session = self.sessions.get(key)
            if session is not None:
                state = self.sessions.state(session)
                if state == "fresh":
                    return session, False
                if state == "renew" and await self._renew(session):
                    return session, False
                self.sessions.pop(key)  # timed out, or the renewal was refused
            session = await self._login(Login.from_secret(credential.secret))
            self.sessions.put(key, session)
            return session, True

    async def _reopen(
        self, key: SessionKey, credential: Credential, refused: MstrSession
    ) -> MstrSession:
        async with self.sessions.lock(key):
            current = self.sessions.get(key)
            if current is not None and current is not refused:
                return current  # a concurrent call already re-opened it
            self.sessions.pop(key)
            session = await self._login(Login.from_secret(credential.secret))
            self.sessions.put(key, session)
            return session

    async def _login(self, login: Login) -> MstrSession:
        """`POST /api/auth/login` (JSON), then `GET /api/sessions` for the timeout."""
        response = await self.http.request(
            "POST", "/api/auth/login", json=login.body(APPLICATION_TYPE)
        )
        token = response.headers.get("X-MSTR-AuthToken")
        if not token:
            raise self.http.error(errors.BadAnswer, "its login answer has no auth token")
        session = MstrSession(
            token=token, cookies={}, timeout=FALLBACK_TIMEOUT_S, last_active=self.sessions.clock()
        )
        session.absorb(response)
        try:
            info = await self._send(session, "GET", "/api/sessions")
            body = models.SessionBody.model_validate(info.json())
            session.timeout = body.timeout or FALLBACK_TIMEOUT_S
        except (errors.PlatformError, ValueError, ValidationError):
            pass  # keep the short fallback timeout; the session itself is open
        return session

    async def _renew(self, session: MstrSession) -> bool:
        try:
            await self._send(session, "PUT", "/api/sessions")
        except (errors.Unauthorized, errors.Rejected, errors.NotFound):
            return False
        self.sessions.touch(session)
        return True

    async def _logout(self, session: MstrSession) -> None:
        try:
            await self._send(session, "POST", "/api/auth/logout")
        except errors.PlatformError as exc:
            # Already gone (401 ERR009) or unreachable: the session times out on its own.
            log.info("mstr %s: logout not confirmed (%s)", self.instance, type(exc).__name__)

    async def _user_info(self, session: MstrSession, login: Login) -> models.UserInfo:
        response = await self._send(session, "GET", "/api/sessions/userInfo")
        body = self._parse(models.UserInfoBody, response, "userInfo")
        return models.UserInfo(body.id, body.full_name, body.initials, login.username)

    async def _send(
        self,
        session: MstrSession,
        method: str,
        path: str,
        *,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {**session.headers(project_id), **kwargs.pop("headers", {})}
        response = await self.http.request(method, path, headers=headers, **kwargs)
        session.absorb(response)
        return response

    # -- projects ----------------------------------------------------------------------------
    async def _monitored_projects(self, credential: Credential) -> list[models.Project]:
        projects: list[models.Project] = []
        offset, total = 0, None
        while total is None or offset < total:
            response, _, _ = await self._call(
                credential,
                "GET",
                "/api/monitors/projects",
                params={"offset": offset, "limit": MONITOR_PAGE},
            )
            page = self._parse(models.MonitorProjectsPage, response, "/api/monitors/projects")
            projects += [_project(p, p.nodes) for p in page.projects]
            total = int(response.headers.get("x-mstr-total-count", len(projects)))
            if not page.projects:
                break
            offset += len(page.projects)
        return projects

    # -- helpers -----------------------------------------------------------------------------
    def _parse(self, model: Any, response: httpx.Response, what: str) -> Any:
        """The body validated against its wire model; a surprise becomes `BadAnswer`."""
        try:
            return TypeAdapter(model).validate_python(self.http.decode(response))
        except ValidationError:
            raise self.http.error(errors.BadAnswer, f"an unexpected body for {what}") from None


def _when(stamp: str) -> datetime | None:
    """A Strategy time ("2025-06-01T12:00:00.000+0000"); None when absent or unreadable."""
    try:
        return datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None


def _project(
    body: models.ProjectBody, nodes: list[models.NodeBody] | None = None
) -> models.Project:
    node_states = tuple(models.ProjectNode(n.name, n.project_status) for n in nodes or [])
    loaded = (
        any(n.status == "loaded" for n in node_states) if node_states else body.status in (0, None)
    )
    return models.Project(
        id=body.id,
        name=body.name,
        alias=body.alias,
        description=body.description,
        nodes=node_states,
        loaded=loaded,
    )
