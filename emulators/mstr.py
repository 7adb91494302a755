"""Strategy One (MicroStrategy) Library REST emulator, per shared/protocols/strategy-one.md.

It speaks what mstrio-py 11.6 and the bot's own client send: login in modes 1, 8, 16 and 4096
(form-urlencoded or JSON bodies), an `X-MSTR-AuthToken` bound to a `JSESSIONID` cookie, an
I-Server session timeout that really expires on `self.clock()`, renew, logout, identity and API
tokens, server status, loaded projects and the project monitor with per-node status, and the
platform's error body `{"code", "message", "ticketId", "iServerCode"?}`.

Routes answer with and without the `/MicroStrategyLibrary` context path.

    with StrategyOneEmulator(clock=FakeClock()) as mstr:
        mstr.url                          # base URL; mstrio and the bot add /api/...
        mstr.allow_api_tokens = False     # the server refuses API token creation and mode 4096
        mstr.drop_sessions("alice")       # the server forgets alice's sessions (a 401 next)
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulators.base import Emulator

CONTEXT_PATH = "/MicroStrategyLibrary"
AUTH_HEADER = "X-MSTR-AuthToken"
PROJECT_HEADER = "X-MSTR-ProjectID"
IDENTITY_HEADER = "X-MSTR-IdentityToken"
SESSION_COOKIE = "JSESSIONID"

LOGIN_STANDARD, LOGIN_ANONYMOUS, LOGIN_LDAP, LOGIN_API_TOKEN = 1, 8, 16, 4096
MODE_NAMES = {1: "standard", 8: "anonymous", 16: "LDAP", 4096: "API token"}

# -- Inferred / unverified behaviour (the spec does not pin these down) ----------------------
# Which requests push the I-Server session's idle deadline back. The spec (§12) names
# GET and PUT /api/sessions; whether ordinary calls do too is unverified, so take the strict
# reading: a client that never renews sees its session die even while busy.
TOUCH_ON_EVERY_REQUEST = False
# A login mode the server has not enabled: the spec shows the body (ERR001 + iServerCode) but
# not the status; 401 is assumed.
MODE_DISABLED_STATUS, MODE_DISABLED_CODE, MODE_DISABLED_ISERVER = 401, "ERR001", -2147205054
# API token creation when the server does not allow it: status and code assumed.
API_TOKEN_REFUSED_STATUS, API_TOKEN_REFUSED_CODE = 403, "ERR014"
API_TOKEN_CREATED_STATUS = 201  # "2xx JSON containing apiToken"; 201 as in the spec's example
# API tokens are assumed reusable until revoked (no expiry, not single use).
API_TOKEN_SINGLE_USE = False
# The project monitor (`/api/monitors/projects`) is assumed to need an administrator.
MONITORS_ADMIN_ONLY = True
# Status code of each project in `GET /api/projects` (0 = loaded/active).
PROJECT_STATUS_LOADED = 0
# Error code and iServerCode per status for injected faults and generic errors.
CODE_BY_STATUS = {
    400: "ERR006",
    401: "ERR009",
    403: "ERR014",
    404: "ERR004",
    409: "ERR015",
    413: "ERR006",
    429: "ERR016",
    500: "ERR001",
    502: "ERR013",
    503: "ERR016",
}
SESSION_EXPIRED_MESSAGE = "The user's session has expired, please reauthenticate"
# --------------------------------------------------------------------------------------------


def object_id(seed: str) -> str:
    """A stable 32-uppercase-hex id, as Strategy uses for every object."""
    return hashlib.md5(seed.encode()).hexdigest().upper()


@dataclass
class User:
    username: str
    full_name: str
    password: str | None = None  # standard login (mode 1); None: not allowed
    ldap_password: str | None = None  # LDAP login (mode 16); None: not an LDAP user
    admin: bool = False
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or object_id(f"user:{self.username}")

    @property
    def initials(self) -> str:
        return "".join(part[0] for part in self.full_name.split()[:2]).upper()


@dataclass
class Dossier:
    name: str
    owner: str  # username
    created: str  # as the server writes times: "2025-03-02T08:15:00.000+0000"
    modified: str
    description: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or object_id(f"dossier:{self.name}")


@dataclass
class Project:
    name: str
    description: str
    nodes: dict[str, str]  # node name -> projectStatus ("loaded", "unloaded", "loading")
    alias: str = ""
    owner: str = "administrator"
    admins_only: bool = False  # ordinary users do not see it
    id: str = ""
    dossiers: list[Dossier] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.id = self.id or object_id(f"project:{self.name}")

    @property
    def loaded(self) -> bool:
        return "loaded" in self.nodes.values()


@dataclass
class Session:
    token: str
    jsessionid: str
    user: User
    login_mode: int
    application_type: int | None
    created: float
    last_touch: float
    timeout: int
    working_set: int = 10
    max_search: int = 3


@dataclass
class ServerInfo:
    iserver_version: str = "11.6.1000.0035"
    web_version: str = "11.6.1000.0042"
    deployment_type: str = "onprem"
    nodes: tuple[str, ...] = ("iserver-01", "iserver-02")


def _seed_users() -> list[User]:
    return [
        User("administrator", "Administrator", password="Admin#2024", admin=True),
        User(
            "alice",
            "Alice Martin",
            password="alice-S3cret!",
            ldap_password="alice-ldap-pw",
            admin=True,
        ),
        User("bob", "Bob Keller", password="bob-pass-123"),
        User("carol", "Carol Nguyen", ldap_password="carol-ldap-pw"),
        User("svc_reports", "Reports Service", admin=False),  # API token only
        User("guest", "Guest"),  # whom anonymous logins (mode 8) become
    ]


def _seed_projects(nodes: tuple[str, ...]) -> list[Project]:
    a, b = nodes
    return [
        Project(
            "MicroStrategy Tutorial",
            "Sample project with retail data",
            {a: "loaded", b: "loaded"},
            dossiers=[
                Dossier(
                    "Retail Overview",
                    "administrator",
                    "2024-02-11T10:00:00.000+0000",
                    "2025-05-20T07:45:00.000+0000",
                    "Store sales, margin and stock at a glance",
                )
            ],
        ),
        Project(
            "Sales Analytics",
            "Regional sales dashboards",
            {a: "loaded", b: "unloaded"},
            alias="Sales",
            dossiers=[
                Dossier(
                    "Regional Sales <Q3> & Targets",
                    "alice",
                    "2025-03-02T08:15:00.000+0000",
                    "2025-09-30T16:20:00.000+0000",
                )
            ],
        ),
        Project(
            "Finance Reporting",
            "Month-end close and P&L",
            {a: "loaded", b: "loaded"},
            admins_only=True,
        ),
        Project("Supply Chain", "Inventory and logistics KPIs", {a: "loading", b: "unloaded"}),
        Project(
            "HR Insights", "Headcount and attrition (archived)", {a: "unloaded", b: "unloaded"}
        ),
    ]


# A seeded API token, so mode 4096 works before anyone has created one.
SEEDED_API_TOKEN = "Zx8pQm3Rk7Tn2Wv5Yb9Cd4Fg6Hj1Lk0MnBvCxZaSdFgHjKl=="

# Demo credentials, shaped like the bot's link form values (mode, username, password).
DEMO: dict[str, dict[str, Any]] = {
    "alice": {"mode": LOGIN_STANDARD, "username": "alice", "password": "alice-S3cret!"},
    "alice_ldap": {"mode": LOGIN_LDAP, "username": "alice", "password": "alice-ldap-pw"},
    "bob": {"mode": LOGIN_STANDARD, "username": "bob", "password": "bob-pass-123"},
    "carol_ldap": {"mode": LOGIN_LDAP, "username": "carol", "password": "carol-ldap-pw"},
    "reports_token": {"mode": LOGIN_API_TOKEN, "username": "", "password": SEEDED_API_TOKEN},
    "administrator": {
        "mode": LOGIN_STANDARD,
        "username": "administrator",
        "password": "Admin#2024",
    },
}


class StrategyOneEmulator(Emulator):
    name = "strategy-one"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        session_timeout: int = 1800,
        allow_api_tokens: bool = True,
        login_modes: tuple[int, ...] = (
            LOGIN_STANDARD,
            LOGIN_ANONYMOUS,
            LOGIN_LDAP,
            LOGIN_API_TOKEN,
        ),
        enforce_cookie_binding: bool = True,
    ) -> None:
        super().__init__(clock=clock)
        self._settings = (
            session_timeout,
            allow_api_tokens,
            tuple(login_modes),
            enforce_cookie_binding,
        )
        self._lock = threading.Lock()
        self.reset()

    def reset(self, *, clock: Callable[[], float] | None = None) -> None:
        """Back to the seeded state and the constructor's switches (tests share one server)."""
        if clock is not None:
            self.clock = clock
        timeout, allow_tokens, modes, binding = self._settings
        self.session_timeout = timeout
        # Switch: may users exchange a login for an API token (and log in with one)?
        self.allow_api_tokens = allow_tokens
        self.login_modes = set(modes)
        self.enforce_cookie_binding = binding
        self.server = ServerInfo()
        self.started_at = self.clock()
        self.users: dict[str, User] = {u.username: u for u in _seed_users()}
        self.projects: list[Project] = _seed_projects(self.server.nodes)
        self.sessions: dict[str, Session] = {}
        self.api_tokens: dict[str, str] = {SEEDED_API_TOKEN: "svc_reports"}  # token -> user
        self.identity_tokens: dict[str, str] = {}  # idtoken -> username
        self.logins: list[tuple[str, int]] = []  # (username, mode) of each successful login
        self.faults.clear()
        self.requests.clear()

    # -- test helpers ------------------------------------------------------------------------
    def drop_sessions(self, username: str) -> int:
        """The server forgets this user's sessions (restart, admin kill): next call is a 401."""
        with self._lock:
            gone = [t for t, s in self.sessions.items() if s.user.username == username]
            for token in gone:
                del self.sessions[token]
        return len(gone)

    def live_sessions(self, username: str | None = None) -> list[Session]:
        now = self.clock()
        return [
            s
            for s in list(self.sessions.values())
            if (username is None or s.user.username == username) and now - s.last_touch <= s.timeout
        ]

    # -- the platform's error body -----------------------------------------------------------
    def error_response(self, status: int, message: str) -> Response:
        return self.error(status, CODE_BY_STATUS.get(status, "ERR001"), message)

    @staticmethod
    def error(status: int, code: str, message: str, iserver_code: int | None = None) -> Response:
        body: dict[str, Any] = {"code": code, "message": message, "ticketId": uuid.uuid4().hex}
        if iserver_code is not None:
            body["iServerCode"] = iserver_code
        return JSONResponse(body, status_code=status)

    def normalize_path(self, path: str) -> str:
        # mstrio keeps whatever precedes /api; serve with and without the context path.
        if path.startswith(CONTEXT_PATH + "/") or path == CONTEXT_PATH:
            path = path[len(CONTEXT_PATH) :] or "/"
        return path

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/auth/login", self.login, methods=["POST"]),
            Route("/api/auth/logout", self.logout, methods=["POST"]),
            Route("/api/auth/delegate", self.delegate, methods=["POST"]),
            Route("/api/auth/identityToken", self.identity_token, methods=["GET", "POST"]),
            Route("/api/auth/apiTokens", self.create_api_token, methods=["POST"]),
            Route("/api/sessions", self.session, methods=["GET", "PUT"]),
            Route("/api/sessions/userInfo", self.user_info, methods=["GET"]),
            Route("/api/sessions/privileges", self.privileges, methods=["GET"]),
            Route("/api/status", self.status, methods=["GET"]),
            Route("/api/projects", self.list_projects, methods=["GET"]),
            Route("/api/projects/{name:path}", self.get_project, methods=["GET"]),
            Route("/api/monitors/projects", self.monitor_projects, methods=["GET"]),
            Route("/api/objects/{id}", self.get_object, methods=["GET"]),
            # Unknown routes keep the literal "HTTP 404 Not Found" (spec §10).
            Route(
                "/{rest:path}",
                self.unknown,
                methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
            ),
        ]

    # -- sessions ----------------------------------------------------------------------------
    def _new_session(self, user: User, mode: int, body: dict[str, Any]) -> Response:
        now = self.clock()
        app_type = body.get("applicationType")
        session = Session(
            token="".join(
                secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(26)
            ),
            jsessionid=secrets.token_hex(16).upper(),
            user=user,
            login_mode=mode,
            application_type=int(app_type) if app_type not in (None, "") else None,
            created=now,
            last_touch=now,
            timeout=self.session_timeout,
            working_set=int(body.get("workingSet") or 10),
            max_search=int(body.get("maxSearch") or 3),
        )
        with self._lock:
            self.sessions[session.token] = session
            self.logins.append((user.username, mode))
        response = Response(status_code=204, headers={AUTH_HEADER: session.token})
        # Path "/" and no Secure flag: clients on plain http must send it back (spec §12).
        response.set_cookie(SESSION_COOKIE, session.jsessionid, path="/", httponly=True)
        return response

    def _session_for(self, request: Request) -> Session | Response:
        """The live session this request belongs to, or the 401 ERR009 to answer with."""
        token = request.headers.get(AUTH_HEADER)
        now = self.clock()
        with self._lock:
            session = self.sessions.get(token or "")
            if session is not None and now - session.last_touch > session.timeout:
                del self.sessions[session.token]  # it timed out on the I-Server
                session = None
        if session is None:
            return self.error(401, "ERR009", SESSION_EXPIRED_MESSAGE, -2147205069)
        if (
            self.enforce_cookie_binding
            and request.cookies.get(SESSION_COOKIE) != session.jsessionid
        ):
            # The token is bound to its HTTP session: a client that drops cookies gets 401.
            return self.error(401, "ERR009", SESSION_EXPIRED_MESSAGE, -2147205069)
        if TOUCH_ON_EVERY_REQUEST:
            session.last_touch = now
        return session

    async def login(self, request: Request) -> Response:
        body = await _login_body(request)
        if body is None:
            return self.error(400, "ERR006", "Invalid JSON")
        try:
            mode = int(body.get("loginMode", LOGIN_STANDARD))
        except (TypeError, ValueError):
            return self.error(400, "ERR006", "Invalid loginMode")
        if mode not in MODE_NAMES:
            return self.error(400, "ERR006", f"Unknown login mode {mode}")
        if mode not in self.login_modes or (mode == LOGIN_API_TOKEN and not self.allow_api_tokens):
            return self.error(
                MODE_DISABLED_STATUS,
                MODE_DISABLED_CODE,
                f"The server is not configured to support {MODE_NAMES[mode]} authentication.",
                MODE_DISABLED_ISERVER,
            )
        user = self._authenticate(mode, body)
        if user is None:
            return self.error(401, "ERR003", "Login failed")
        # A re-login arrives with the stale token, project header and cookie: ignore them.
        return self._new_session(user, mode, body)

    def _authenticate(self, mode: int, body: dict[str, Any]) -> User | None:
        username = str(body.get("username") or "")
        password = body.get("password")
        if mode == LOGIN_ANONYMOUS:
            return self.users["guest"]
        if mode == LOGIN_API_TOKEN:
            with self._lock:
                owner = self.api_tokens.get(username)
                if owner is not None and API_TOKEN_SINGLE_USE:
                    del self.api_tokens[username]
            return self.users.get(owner) if owner else None
        user = self.users.get(username)
        if user is None or password is None:
            return None
        expected = user.password if mode == LOGIN_STANDARD else user.ldap_password
        if expected is None or not secrets.compare_digest(str(password), expected):
            return None
        return user

    async def logout(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        with self._lock:
            self.sessions.pop(found.token, None)
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def delegate(self, request: Request) -> Response:
        body = await _login_body(request) or {}
        with self._lock:
            username = self.identity_tokens.pop(str(body.get("identityToken") or ""), None)
        if username is None:
            return self.error(401, "ERR003", "Login failed")
        return self._new_session(self.users[username], -1, body)

    async def identity_token(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        if request.method == "POST":
            token = secrets.token_hex(20)
            with self._lock:
                self.identity_tokens[token] = found.user.username
            return Response(status_code=201, headers={IDENTITY_HEADER: token})
        username = self.identity_tokens.get(request.headers.get(IDENTITY_HEADER, ""))
        if username is None:
            return self.error(401, "ERR003", "Invalid identity token")
        return JSONResponse({"userId": self.users[username].id})

    async def create_api_token(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        if not self.allow_api_tokens:
            return self.error(
                API_TOKEN_REFUSED_STATUS,
                API_TOKEN_REFUSED_CODE,
                "API token authentication is not enabled on this server",
            )
        try:
            body = json.loads(await request.body() or b"null") or {}
        except ValueError:
            return self.error(400, "ERR006", "Invalid JSON")
        target = found.user
        if body.get("userId") and body["userId"] != found.user.id:
            if not found.user.admin:
                return self.error(
                    403,
                    "ERR014",
                    "You do not have the privilege to create API tokens for other users",
                )
            target = next((u for u in self.users.values() if u.id == body["userId"]), None)
            if target is None:
                return self.error(404, "ERR004", f"User '{body['userId']}' not found")
        token = secrets.token_urlsafe(36)
        with self._lock:
            self.api_tokens[token] = target.username
        return JSONResponse({"apiToken": token}, status_code=API_TOKEN_CREATED_STATUS)

    async def session(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        found.last_touch = self.clock()  # both GET and PUT push the idle deadline back
        if request.method == "PUT":
            return Response(status_code=204)
        user = found.user
        return JSONResponse(
            {
                "locale": 1033,
                "maxSearch": found.max_search,
                "workingSet": found.working_set,
                "timeout": found.timeout,
                "id": user.id,
                "fullName": user.full_name,
                "initials": user.initials,
            }
        )

    async def user_info(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        user = found.user
        return JSONResponse(
            {
                "metadataUser": True,
                "id": user.id,
                "fullName": user.full_name,
                "initials": user.initials,
            }
        )

    async def privileges(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        projects = [{"id": p.id, "isUserLevelAllowed": False} for p in self._visible(found)]
        names = ["Use Library Web", "Web user"] + (
            ["Monitor projects", "Create and edit API tokens"] if found.user.admin else []
        )
        return JSONResponse(
            [
                {"id": str(i + 1), "name": n, "isUserLevelAllowed": True, "projects": projects}
                for i, n in enumerate(names)
            ]
        )

    async def status(self, request: Request) -> Response:
        # Needs no authentication (spec §8).
        now = self.clock()
        up = max(0, int(now - self.started_at))
        return JSONResponse(
            {
                "upSince": int(self.started_at * 1000),
                "upTime": up * 1000,
                "upTimeText": f"{up // 3600:02d} Hours {up % 3600 // 60:02d} Minutes "
                f"{up % 60:02d} seconds",
                "webVersion": self.server.web_version,
                "iServerVersion": self.server.iserver_version,
                "isIServerConfigured": True,
                "deploymentType": self.server.deployment_type,
            }
        )

    # -- projects ----------------------------------------------------------------------------
    def _visible(self, session: Session) -> list[Project]:
        return [p for p in self.projects if session.user.admin or not p.admins_only]

    def _project_json(self, project: Project) -> dict[str, Any]:
        owner = self.users.get(project.owner)
        return {
            "id": project.id,
            "name": project.name,
            "alias": project.alias,
            "description": project.description,
            "status": PROJECT_STATUS_LOADED if project.loaded else -1,
            "owner": {"id": owner.id if owner else "", "name": owner.full_name if owner else ""},
        }

    async def list_projects(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        # Only the projects loaded for this user (spec §10).
        return JSONResponse([self._project_json(p) for p in self._visible(found) if p.loaded])

    async def get_project(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        name = unquote(request.path_params["name"])
        for project in self._visible(found):
            if project.name == name:
                return JSONResponse(self._project_json(project))
        return self.error(404, "ERR004", f"Project '{name}' not found")

    async def monitor_projects(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        if MONITORS_ADMIN_ONLY and not found.user.admin:
            return self.error(403, "ERR014", "You do not have the privilege to monitor projects")
        try:
            offset = int(request.query_params.get("offset", 0))
            limit = int(request.query_params.get("limit", -1))
        except ValueError:
            return self.error(400, "ERR006", "Invalid offset or limit")
        projects = self._visible(found)
        page = projects[offset:] if limit < 0 else projects[offset : offset + limit]
        body = {
            "projects": [
                {
                    **self._project_json(p),
                    "nodes": [
                        {"name": node, "projectStatus": state, "status": state}
                        for node, state in p.nodes.items()
                    ],
                }
                for p in page
            ]
        }
        return JSONResponse(body, headers={"x-mstr-total-count": str(len(projects))})

    async def get_object(self, request: Request) -> Response:
        found = self._session_for(request)
        if isinstance(found, Response):
            return found
        object_id_ = request.path_params["id"]
        if request.query_params.get("type") == "55":
            return self._document(found, request, object_id_)
        project = next((p for p in self._visible(found) if p.id == object_id_), None)
        if project is None or request.query_params.get("type") != "32":
            return self.error(404, "ERR004", f"Object '{object_id_}' not found")
        owner = self.users.get(project.owner)
        return JSONResponse(
            {
                "id": project.id,
                "name": project.name,
                "type": 32,
                "subtype": 8192,
                "dateCreated": "2023-01-15T09:30:00.000+0000",
                "dateModified": "2025-06-01T12:00:00.000+0000",
                "version": object_id(f"version:{project.name}"),
                "owner": {
                    "id": owner.id if owner else "",
                    "name": owner.full_name if owner else "",
                },
                "acg": 255,
                "description": project.description,
            }
        )

    def _document(self, session: Session, request: Request, object_id_: str) -> Response:
        """A document or dossier (type 55) in the project the X-MSTR-ProjectID header names."""
        pid = request.headers.get("x-mstr-projectid", "")
        project = next((p for p in self._visible(session) if p.id == pid), None)
        if project is None:
            return self.error(400, "ERR006", "The project ID is missing or not one you can use")
        dossier = next((d for d in project.dossiers if d.id == object_id_), None)
        if dossier is None:
            return self.error(404, "ERR004", f"Object '{object_id_}' not found in the metadata")
        owner = self.users.get(dossier.owner)
        return JSONResponse(
            {
                "id": dossier.id,
                "name": dossier.name,
                "type": 55,
                "subtype": 14081,  # a dossier
                "dateCreated": dossier.created,
                "dateModified": dossier.modified,
                "version": object_id(f"version:{dossier.name}:{dossier.modified}"),
                "owner": {
                    "id": owner.id if owner else "",
                    "name": owner.full_name if owner else "",
                },
                "acg": 199,
                "description": dossier.description,
                "projectId": project.id,
            }
        )

    async def unknown(self, request: Request) -> Response:
        return self.error(404, "ERR004", "HTTP 404 Not Found")


async def _login_body(request: Request) -> dict[str, Any] | None:
    """A login/delegate body, form-urlencoded (mstrio, modes 1/8/16) or JSON (everyone else)."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type:
        return {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
