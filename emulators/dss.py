"""A Dataiku DSS emulator speaking the public REST API as `dataikuapi` 15.2 uses it.

Spec: shared/protocols/dss.md. It serves the same routes under both prefixes (`/dip/publicapi`
used by the Python client, `/public/api` from the REST docs), collapses repeated slashes and
strips a trailing slash before routing, accepts the three API-key forms (Basic key-as-username,
Basic key-as-password, Bearer) and `X-DKU-ProxyUser` impersonation by admin keys, and puts the
DSS error body and the `DSS-Version` headers on every answer.

State is plain dataclasses. Futures and scenario runs progress with `self.clock()`, so tests
move time with `FakeClock` instead of sleeping.

    with DSSEmulator(clock=FakeClock()) as dss:
        DSSClient(dss.url, DEMO["alice"]["api_key"]).get_auth_info()
"""

from __future__ import annotations

import base64
import random
import re
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulators.base import Emulator, read_json

# -- Inferred / unverified protocol choices (shared/protocols/dss.md), kept in one place -------
DSS_VERSION = "15.2.0"
DSS_API_VERSION = "1"  # any value: clients ignore it
PREFIXES = ("/dip/publicapi", "/public/api")
# The errorType real DSS sends for each refusal is unverified; clients must not depend on it.
ERROR_TYPES = {
    400: "com.dataiku.dip.exceptions.BadRequestException",
    401: "com.dataiku.dip.exceptions.UnauthorizedException",
    403: "com.dataiku.dip.exceptions.UnauthorizedException",
    404: "com.dataiku.dip.exceptions.NotFoundException",
    405: "com.dataiku.dip.exceptions.BadRequestException",
    409: "com.dataiku.dip.exceptions.ConflictException",
}
DEFAULT_ERROR_TYPE = "com.dataiku.common.server.APIError$SerializedErrorException"
NOT_FOUND_STATUS = 404  # real DSS answers 500 for many missing objects; tests may change this
ALL_USERS_NEEDS_ADMIN_STATUS = 403  # `allUsers=True` from a non-admin is refused, not narrowed
FAILED_FUTURE_STATUS = 500  # a thrown task on `GET /futures/{id}?peek=False`
ABORTED_FUTURE_STATUS = 500  # so that `wait_for_result` cannot poll an aborted future forever
LIST_FINISHED_FUTURES = False  # `/futures/` lists running tasks only
SCENARIO_RUN_PENDING_SECONDS = 2.0  # trigger fire -> scenario run visible
FUTURE_OWNER_FIELD = "owner"  # list items' owner and display name: names unverified
FUTURE_NAME_FIELD = "jobDisplayName"
# ---------------------------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits


# The exception class DSS names in a failed activity's firstFailure (unverified).
FAILURE_CLASS = "com.dataiku.dip.exceptions.ProcessDiedException"


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _qbool(request: Request, name: str, default: bool) -> bool:
    """DSS query booleans arrive as `True` / `False`; read them case-insensitively."""
    value = request.query_params.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")


class DSSError(Exception):
    """Raised by a handler: becomes the DSS error body with this status."""

    def __init__(
        self, status: int, message: str, *, error_type: str | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code


# -- state --------------------------------------------------------------------------------------
@dataclass
class User:
    login: str
    display_name: str
    groups: list[str]
    profile: str = "DESIGNER"
    admin: bool = False


@dataclass
class ApiKey:
    id: str
    secret: str
    kind: str  # "personal" | "global"
    label: str = ""
    description: str = ""
    user: str | None = None  # personal: the owner; global: dssUserForImpersonation
    created_on: int = 0
    created_by: str = ""
    admin: bool = False  # global keys: globalPermissions.admin
    groups: list[str] | None = None

    def to_json(self, *, with_secret: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "createdOn": self.created_on,
            "createdBy": self.created_by,
        }
        if self.kind == "personal":
            body["user"] = self.user
        else:
            body.update(
                {
                    "globalPermissions": {"admin": self.admin},
                    "groups": self.groups,
                    "dssUserForImpersonation": self.user,
                    "expiresOn": 0,
                    "expiry": None,
                }
            )
        if with_secret:
            body["key"] = self.secret
        return body


@dataclass
class Future:
    """A long-running task. It runs for `duration` clock seconds, then ends as `outcome`."""

    job_id: str
    owner: str
    display_name: str
    started: float
    duration: float | None  # None: runs until aborted
    outcome: str = "done"  # "done" | "failed"
    result: Any = None
    error: str = "Task failed"
    error_type: str = "com.dataiku.dip.exceptions.DataikuException"
    steps: tuple[str, ...] = ("Running",)
    kind: str = "other"  # "scenario" | "other"
    payload: dict[str, Any] = field(default_factory=dict)
    aborted_at: float | None = None

    def status(self, now: float) -> str:
        if self.aborted_at is not None:
            return "aborted"
        if self.duration is not None and now >= self.started + self.duration:
            return self.outcome
        return "running"

    def state(self, now: float, *, with_result: bool) -> dict[str, Any]:
        status = self.status(now)
        end = now
        if status == "aborted":
            end = self.aborted_at or now
        elif status != "running" and self.duration is not None:
            end = self.started + self.duration
        body: dict[str, Any] = {
            "jobId": self.job_id,
            "hasResult": status == "done",
            "alive": status == "running",
            "aborted": status == "aborted",
            "unknown": False,
            "startTime": _ms(self.started),
            "runningTime": _ms(max(end - self.started, 0)),
            "progress": {"states": self._progress(now) if status == "running" else []},
            FUTURE_OWNER_FIELD: self.owner,
            FUTURE_NAME_FIELD: self.display_name,
        }
        if with_result and status == "done":
            body["result"] = self.result
        return body

    def _progress(self, now: float) -> list[dict[str, Any]]:
        """An outer step counter and an inner percentage, like a DSS progress stack."""
        elapsed = max(now - self.started, 0)
        n = len(self.steps)
        if self.duration is None or self.duration <= 0:
            return [
                {
                    "name": self.steps[0],
                    "unit": "NONE",
                    "target": 0,
                    "cur": 0,
                    "important": True,
                    "startTimestamp": _ms(self.started),
                }
            ]
        fraction = min(elapsed / self.duration, 0.999)
        index = min(int(fraction * n), n - 1)
        inner = int((fraction * n - index) * 100)
        return [
            {
                "name": self.steps[index],
                "unit": "NONE",
                "target": n,
                "cur": index,
                "important": True,
                "startTimestamp": _ms(self.started),
            },
            {"name": "Processing", "unit": "SIZE", "target": 100, "cur": inner},
        ]


@dataclass
class ScenarioRun:
    run_id: str
    trigger_id: str
    trigger_run_id: str
    trigger_type: str
    fired_at: float
    starts_at: float
    duration: float
    outcome: str
    user: str
    future_id: str | None = None
    aborted: bool = False

    def visible(self, now: float) -> bool:
        return now >= self.starts_at

    def finished(self, now: float) -> bool:
        return self.aborted or now >= self.starts_at + self.duration

    def to_json(self, scenario: Scenario, now: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "runId": self.run_id,
            "start": _ms(self.starts_at),
            "end": 0,
            "scenario": {
                "projectKey": scenario.project_key,
                "id": scenario.id,
                "name": scenario.name,
                "type": scenario.type,
            },
            "trigger": {
                "trigger": {
                    "id": self.trigger_id,
                    "type": self.trigger_type,
                    "name": self.trigger_type,
                },
                "runId": self.trigger_run_id,
                "cancelled": False,
            },
            "runAsUser": {"realUserLogin": self.user, "runAsLogin": self.user},
        }
        if self.finished(now):  # a run is running while it has no `result` key
            body["end"] = _ms(self.starts_at + self.duration)
            body["result"] = {
                "outcome": "ABORTED" if self.aborted else self.outcome,
                "type": "SCENARIO_DONE",
                "start": body["start"],
                "end": body["end"],
            }
        return body


@dataclass
class Scenario:
    id: str
    name: str
    project_key: str
    outcome: str = "SUCCESS"  # what every new run ends with
    duration: float = 30.0
    active: bool = True
    has_triggers: bool = True
    tags: list[str] = field(default_factory=list)
    type: str = "step_based"
    runs: list[ScenarioRun] = field(default_factory=list)  # oldest first

    def running(self, now: float) -> bool:
        return any(r.visible(now) and not r.finished(now) for r in self.runs)


@dataclass
class Notebook:
    name: str
    language: str = "python"
    kernel: str = "python3"
    tags: list[str] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Project:
    key: str
    name: str
    owner: str
    groups: set[str]  # who may read it (admins always may)
    datasets: int = 0
    recipes: int = 0
    sql_notebooks: int = 0
    jobs: list[dict[str, Any]] = field(default_factory=list)
    # Why a failed job failed (job id -> the first failure's message), in its status.
    job_failures: dict[str, str] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    notebooks: dict[str, Notebook] = field(default_factory=dict)


@dataclass(frozen=True)
class Caller:
    """Who a request acts as, after the key and any X-DKU-ProxyUser."""

    key: ApiKey
    login: str | None
    admin: bool
    user: User | None
    via: tuple[str, ...] = ()


# -- demo credentials -----------------------------------------------------------------------------
DEMO: dict[str, dict[str, str]] = {
    "alice": {"login": "alice", "api_key": "dkuaps-aLiCe0demo0personal0key000000001"},
    "bob": {"login": "bob", "api_key": "dkuaps-b0B0demo0personal0key00000000002"},
    "global_admin": {"login": "", "api_key": "dkuaps-gL0bAl0chatops0admin0key00000003"},
}

Handler = Callable[..., Awaitable[Any]]


class DSSEmulator(Emulator):
    name = "dss"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        hashed_keys: bool = False,
        seed: bool = True,
    ) -> None:
        super().__init__(clock=clock)
        self.hashed_keys = hashed_keys  # True: `key` never appears in key list/get answers
        self._random = random.Random(1)
        self.users: dict[str, User] = {}
        self.api_keys: dict[str, ApiKey] = {}  # secret -> key
        self.futures: dict[str, Future] = {}
        self.projects: dict[str, Project] = {}
        self.general_settings: dict[str, Any] = {}
        self.variables: dict[str, Any] = {}
        self._table = self._build_table()
        if seed:
            self._seed()

    # -- helpers for tests ------------------------------------------------------------------
    def new_id(self, n: int = 8) -> str:
        return "".join(self._random.choice(_ALNUM) for _ in range(n))

    def add_user(
        self,
        login: str,
        *,
        groups: list[str],
        admin: bool = False,
        profile: str = "DESIGNER",
        display_name: str = "",
    ) -> User:
        user = User(login, display_name or login.title(), list(groups), profile, admin)
        self.users[login] = user
        return user

    def add_api_key(
        self,
        *,
        kind: str,
        secret: str | None = None,
        user: str | None = None,
        label: str = "",
        description: str = "",
        admin: bool = False,
        groups: list[str] | None = None,
        created_by: str = "admin",
        key_id: str | None = None,
        age_days: float = 0,
    ) -> ApiKey:
        key = ApiKey(
            id=key_id or self.new_id(12),
            secret=secret or f"dkuaps-{self.new_id(32)}",
            kind=kind,
            label=label,
            description=description,
            user=user,
            created_on=_ms(self.clock() - age_days * 86400),
            created_by=created_by,
            admin=admin,
            groups=groups,
        )
        self.api_keys[key.secret] = key
        return key

    def key_by_id(self, key_id: str) -> ApiKey | None:
        return next((k for k in self.api_keys.values() if k.id == key_id), None)

    def add_future(
        self,
        *,
        owner: str,
        display_name: str = "Task",
        duration: float | None = 60,
        outcome: str = "done",
        result: Any = None,
        error: str = "Task failed",
        steps: tuple[str, ...] = ("Running",),
        kind: str = "other",
        payload: dict[str, Any] | None = None,
        started_ago: float = 0,
        job_id: str | None = None,
    ) -> str:
        job_id = job_id or self.new_id()
        self.futures[job_id] = Future(
            job_id=job_id,
            owner=owner,
            display_name=display_name,
            started=self.clock() - started_ago,
            duration=duration,
            outcome=outcome,
            result={"success": True, "messages": []} if result is None else result,
            error=error,
            steps=steps,
            kind=kind,
            payload=payload or {},
        )
        return job_id

    def future(self, job_id: str) -> Future:
        return self.futures[job_id]

    def scenario(self, project_key: str, scenario_id: str) -> Scenario:
        return self.projects[project_key].scenarios[scenario_id]

    # -- serving ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return [Route("/{path:path}", self._dispatch, methods=methods)]

    def normalize_path(self, path: str) -> str:
        """Collapse `//` (a host given with a trailing slash) and strip a trailing `/`."""
        path = re.sub(r"/{2,}", "/", path)
        return path.rstrip("/") or "/"

    def error_response(self, status: int, message: str) -> Response:
        return self._error(DSSError(status, message))

    def _headers(self) -> dict[str, str]:
        return {"DSS-Version": DSS_VERSION, "DSS-API-Version": DSS_API_VERSION}

    def _error(self, exc: DSSError) -> Response:
        error_type = exc.error_type or ERROR_TYPES.get(exc.status, DEFAULT_ERROR_TYPE)
        body = {
            "errorType": error_type,
            "message": exc.message,
            "detailedMessage": exc.message,
            "detailedMessageHTML": f"<span>{exc.message}</span>",
            "stackTraceStr": "",
            "code": exc.code,
            "fixability": "USER_CONFIG",
        }
        return JSONResponse(body, status_code=exc.status, headers=self._headers())

    def _json(self, body: Any, status: int = 200) -> Response:
        return JSONResponse(body, status_code=status, headers=self._headers())

    def _build_table(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        spec: list[tuple[str, str, Handler]] = [
            ("GET", "/auth/info", self._auth_info),
            ("GET", "/instance-info", self._instance_info),
            ("GET", "/futures", self._list_futures),
            ("GET", "/futures/{id}", self._get_future),
            ("DELETE", "/futures/{id}", self._abort_future),
            ("GET", "/projects", self._list_projects),
            ("GET", "/projects/{pk}", self._get_project),
            ("GET", "/jobs/running", self._running_jobs),
            ("GET", "/projects/{pk}/jobs", self._project_jobs),
            ("GET", "/projects/{pk}/jobs/running", self._project_running_jobs),
            ("GET", "/projects/{pk}/jobs/{jid}", self._job_status),
            ("POST", "/projects/{pk}/jobs/{jid}/abort", self._abort_job),
            ("GET", "/projects/{pk}/scenarios", self._list_scenarios),
            ("POST", "/projects/{pk}/scenarios/{sid}/run", self._run_scenario),
            ("GET", "/projects/{pk}/scenarios/{sid}/get-run-for-trigger", self._run_for_trigger),
            ("GET", "/projects/{pk}/scenarios/{sid}/get-last-runs", self._last_runs),
            ("GET", "/projects/{pk}/scenarios/{sid}/light", self._scenario_light),
            ("GET", "/projects/{pk}/scenarios/trigger/{sid}/{tid}", self._trigger_fire),
            ("GET", "/projects/{pk}/scenarios/{sid}/{rid}", self._get_run),
            ("GET", "/projects/{pk}/jupyter-notebooks", self._list_notebooks),
            ("GET", "/projects/{pk}/jupyter-notebooks/{nb}/sessions", self._sessions),
            ("DELETE", "/projects/{pk}/jupyter-notebooks/{nb}/sessions/{sess}", self._unload),
            ("GET", "/admin/notebooks", self._admin_notebooks),
            ("GET", "/admin/general-settings", self._get_settings),
            ("PUT", "/admin/general-settings", self._put_settings),
            ("GET", "/admin/variables", self._get_variables),
            ("PUT", "/admin/variables", self._put_variables),
            ("GET", "/admin/monitoring/global-usage-summary", self._usage_summary),
            ("GET", "/admin/global-api-keys", self._list_global_keys),
            ("POST", "/admin/global-api-keys", self._create_global_key),
            ("GET", "/admin/global-api-keys/{kid}", self._get_global_key),
            ("DELETE", "/admin/global-api-keys/{kid}", self._delete_global_key),
            ("GET", "/admin/personal-api-keys", self._list_all_personal_keys),
            ("POST", "/admin/personal-api-keys", self._create_personal_key_for),
            ("GET", "/personal-api-keys", self._list_personal_keys),
            ("POST", "/personal-api-keys", self._create_personal_key),
            ("GET", "/personal-api-keys/{kid}", self._get_personal_key),
            ("DELETE", "/personal-api-keys/{kid}", self._delete_personal_key),
        ]
        table = []
        for method, template, handler in spec:
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            table.append((method, re.compile(f"^{pattern}$"), handler))
        return table

    async def _dispatch(self, request: Request) -> Response:
        path = request.scope["path"]
        sub = next(
            (path[len(p) :] for p in PREFIXES if path == p or path.startswith(p + "/")), None
        )
        try:
            if sub is None:
                raise DSSError(404, f"No API endpoint at {path}")
            matches = [(m, h, rx.match(sub)) for m, rx, h in self._table]
            matches = [(m, h, found) for m, h, found in matches if found]
            caller = self._authenticate(request)
            if sub.startswith("/admin") and not caller.admin:
                raise DSSError(
                    403, "Action forbidden: you are not admin", code="ERR_SECURITY_ACCESS_DENIED"
                )
            if not matches:
                raise DSSError(404, f"No API endpoint at {sub}")
            for method, handler, found in matches:
                if method == request.method:
                    result = await handler(request, caller, **found.groupdict())
                    return result if isinstance(result, Response) else self._json(result)
            raise DSSError(405, f"Method {request.method} not allowed on {sub}")
        except DSSError as exc:
            return self._error(exc)

    # -- authentication -----------------------------------------------------------------------
    def _authenticate(self, request: Request) -> Caller:
        secret = _secret_from(request.headers.get("authorization", ""))
        if not secret:
            raise DSSError(401, "No credentials provided", code="ERR_SECURITY_NO_CREDENTIALS")
        key = self.api_keys.get(secret)
        if key is None:
            # Never echo the secret back: it would end up in client logs.
            raise DSSError(401, "Invalid API key", code="ERR_SECURITY_INVALID_API_KEY")
        login = key.user
        user = self.users.get(login) if login else None
        admin = key.admin if key.kind == "global" else bool(user and user.admin)
        caller = Caller(key=key, login=login, admin=admin, user=user)
        proxy = request.headers.get("x-dku-proxyuser")
        if proxy:
            if not admin:
                raise DSSError(
                    403,
                    "Impersonation requires an admin API key",
                    code="ERR_SECURITY_ACCESS_DENIED",
                )
            target = self.users.get(proxy)
            if target is None:
                raise DSSError(NOT_FOUND_STATUS, f"User {proxy} not found")
            via = (login or key.id,)
            caller = Caller(key=key, login=proxy, admin=target.admin, user=target, via=via)
        return caller

    def _may_read(self, caller: Caller, project: Project) -> bool:
        if caller.admin:
            return True
        groups = set(caller.user.groups) if caller.user else set(caller.key.groups or ())
        return bool(groups & project.groups)

    def _project(self, caller: Caller, pk: str) -> Project:
        project = self.projects.get(pk)
        if project is None:
            raise DSSError(
                NOT_FOUND_STATUS, f"Project {pk} not found", code="ERR_PROJECT_NOT_FOUND"
            )
        if not self._may_read(caller, project):
            raise DSSError(403, f"You may not read project {pk}", code="ERR_SECURITY_ACCESS_DENIED")
        return project

    def _scenario(self, caller: Caller, pk: str, sid: str) -> Scenario:
        project = self._project(caller, pk)
        scenario = project.scenarios.get(sid)
        if scenario is None:
            raise DSSError(
                NOT_FOUND_STATUS, f"Scenario {pk}.{sid} not found", code="ERR_SCENARIO_NOT_FOUND"
            )
        return scenario

    # -- auth and instance ----------------------------------------------------------------------
    async def _auth_info(self, request: Request, caller: Caller) -> Any:
        key = caller.key
        if key.kind == "personal" or caller.via:
            body = {"authIdentifier": caller.login, "authSource": "PERSONAL_API_KEY"}
        else:
            body = {"authIdentifier": key.id, "authSource": "GLOBAL_API_KEY"}
        if caller.via:
            body["authSource"] = "IMPERSONATION"
        body["via"] = list(caller.via)
        if caller.user:
            body.update(
                {
                    "groups": list(caller.user.groups),
                    "userProfile": caller.user.profile,
                    "associatedDSSUser": caller.login,
                    "userForImpersonation": caller.login,
                }
            )
        elif key.groups:
            body["groups"] = list(key.groups)
        if _qbool(request, "withSecrets", False):
            body["secrets"] = []  # no user secrets are seeded
        return body

    async def _instance_info(self, request: Request, caller: Caller) -> Any:
        return {
            "nodeId": "dss-design-01",
            "nodeName": "Design node (emulated)",
            "nodeType": "DESIGN",
            "dssVersion": DSS_VERSION,
        }

    # -- futures ------------------------------------------------------------------------------
    async def _list_futures(self, request: Request, caller: Caller) -> Any:
        with_scenarios = _qbool(request, "withScenarios", True)
        with_others = _qbool(request, "withNotScenarios", True)
        all_users = _qbool(request, "allUsers", False)
        if all_users and not caller.admin:
            raise DSSError(
                ALL_USERS_NEEDS_ADMIN_STATUS,
                "Listing the futures of all users requires admin rights",
                code="ERR_SECURITY_ACCESS_DENIED",
            )
        now = self.clock()
        items = []
        for future in self.futures.values():
            if not all_users and future.owner != caller.login:
                continue
            if future.kind == "scenario" and not with_scenarios:
                continue
            if future.kind != "scenario" and not with_others:
                continue
            if not LIST_FINISHED_FUTURES and future.status(now) != "running":
                continue
            item = future.state(now, with_result=False)
            item["payload"] = future.payload
            items.append(item)
        return items

    def _owned_future(self, caller: Caller, job_id: str) -> Future:
        future = self.futures.get(job_id)
        if future is None:
            raise DSSError(
                NOT_FOUND_STATUS, f"Future {job_id} not found", code="ERR_FUTURE_NOT_FOUND"
            )
        if not caller.admin and future.owner != caller.login:
            raise DSSError(
                403, f"You may not access future {job_id}", code="ERR_SECURITY_ACCESS_DENIED"
            )
        return future

    async def _get_future(self, request: Request, caller: Caller, id: str) -> Any:
        future = self._owned_future(caller, id)
        peek = _qbool(request, "peek", False)
        now = self.clock()
        status = future.status(now)
        if not peek and status == "failed":
            raise DSSError(FAILED_FUTURE_STATUS, future.error, error_type=future.error_type)
        if not peek and status == "aborted":
            raise DSSError(
                ABORTED_FUTURE_STATUS,
                f"Future {id} was aborted",
                error_type="com.dataiku.dip.futures.AbortedException",
            )
        return future.state(now, with_result=not peek)

    async def _abort_future(self, request: Request, caller: Caller, id: str) -> Any:
        future = self._owned_future(caller, id)
        if future.status(self.clock()) == "running":
            future.aborted_at = self.clock()
            for project in self.projects.values():  # a scenario future aborts its run too
                for scenario in project.scenarios.values():
                    for run in scenario.runs:
                        if run.future_id == id:
                            run.aborted = True
                            run.duration = max(self.clock() - run.starts_at, 0)
        return Response(status_code=204, headers=self._headers())

    # -- projects and jobs --------------------------------------------------------------------
    async def _list_projects(self, request: Request, caller: Caller) -> Any:
        return [
            {"projectKey": p.key, "name": p.name, "ownerLogin": p.owner}
            for p in self.projects.values()
            if self._may_read(caller, p)
        ]

    async def _get_project(self, request: Request, caller: Caller, pk: str) -> Any:
        p = self._project(caller, pk)
        return {"projectKey": p.key, "name": p.name, "ownerLogin": p.owner}

    async def _running_jobs(self, request: Request, caller: Caller) -> Any:
        all_users = _qbool(request, "allUsers", True)
        return [
            job
            for project in self.projects.values()
            if self._may_read(caller, project)
            for job in project.jobs
            if job["state"] in ("NOT_STARTED", "RUNNING")
            and (all_users or job["def"]["initiator"] == caller.login)
        ]

    async def _project_jobs(self, request: Request, caller: Caller, pk: str) -> Any:
        return list(self._project(caller, pk).jobs)

    async def _project_running_jobs(self, request: Request, caller: Caller, pk: str) -> Any:
        return [
            j for j in self._project(caller, pk).jobs if j["state"] in ("NOT_STARTED", "RUNNING")
        ]

    def _job(self, caller: Caller, pk: str, jid: str) -> tuple[Project, dict[str, Any]]:
        project = self._project(caller, pk)
        job = next((j for j in project.jobs if j["def"]["id"] == jid), None)
        if job is None:
            raise DSSError(NOT_FOUND_STATUS, f"Job {jid} not found in {pk}", code="ERR_NOT_FOUND")
        return project, job

    async def _job_status(self, request: Request, caller: Caller, pk: str, jid: str) -> Any:
        """`job.get_status()`: the job under `baseStatus`, with its activities; a failed
        activity names its first failure."""
        project, job = self._job(caller, pk, jid)
        reason = project.job_failures.get(jid)
        outputs = job["def"]["outputs"]
        activity = f"compute_{outputs[0]['targetDataset'] if outputs else 'output'}_NP"
        state = job["state"]
        base = {
            **job,
            "activities": {
                activity: {
                    "activityId": activity,
                    "state": state,
                    **(
                        {"firstFailure": {"clazz": FAILURE_CLASS, "message": reason}}
                        if reason
                        else {}
                    ),
                }
            },
        }
        counts = {s.lower(): int(state == s) for s in ("DONE", "FAILED", "ABORTED", "RUNNING")}
        return {"baseStatus": base, "globalState": {**counts, "total": 1}}

    async def _abort_job(self, request: Request, caller: Caller, pk: str, jid: str) -> Any:
        """`job.abort()`: its initiator or an admin may; a job already over stays as it was."""
        _, job = self._job(caller, pk, jid)
        if not caller.admin and job["def"]["initiator"] != caller.login:
            raise DSSError(403, f"You may not abort job {jid}", code="ERR_SECURITY_ACCESS_DENIED")
        if job["state"] in ("NOT_STARTED", "RUNNING"):
            job.update(state="ABORTED", stableState=True, endTime=_ms(self.clock()))
        return {}

    # -- scenarios ----------------------------------------------------------------------------
    async def _list_scenarios(self, request: Request, caller: Caller, pk: str) -> Any:
        now = self.clock()
        items = []
        for s in self._project(caller, pk).scenarios.values():
            started = [r.starts_at for r in s.runs if r.visible(now)]
            items.append(
                {
                    "id": s.id,
                    "name": s.name,
                    "projectKey": s.project_key,
                    "running": s.running(now),
                    "start": _ms(max(started)) if started else 0,
                    "active": s.active,
                    "tags": list(s.tags),
                    "type": s.type,
                }
            )
        return items

    async def _run_scenario(self, request: Request, caller: Caller, pk: str, sid: str) -> Any:
        scenario = self._scenario(caller, pk, sid)
        await read_json(request)  # run parameters: accepted, not used
        now = self.clock()
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now))
        n = len(scenario.runs)
        trigger_run_id = f"{stamp}-{int(now * 1000) % 1000:03d}-{n}"
        starts_at = now + SCENARIO_RUN_PENDING_SECONDS
        future_id = self.add_future(
            owner=caller.login or caller.key.id,
            display_name=f"Scenario {scenario.name}",
            duration=SCENARIO_RUN_PENDING_SECONDS + scenario.duration,
            kind="scenario",
            result={"outcome": scenario.outcome},
            steps=("Waiting", "Running steps"),
            payload={"targets": [{"projectKey": pk, "objectId": sid}]},
        )
        scenario.runs.append(
            ScenarioRun(
                run_id=f"{stamp}-{n:03d}",
                trigger_id="manual",
                trigger_run_id=trigger_run_id,
                trigger_type="manual",
                fired_at=now,
                starts_at=starts_at,
                duration=scenario.duration,
                outcome=scenario.outcome,
                user=caller.login or caller.key.id,
                future_id=future_id,
            )
        )
        return self._trigger_json(scenario, scenario.runs[-1])

    def _trigger_json(self, scenario: Scenario, run: ScenarioRun) -> dict[str, Any]:
        return {
            "trigger": {"id": run.trigger_id, "type": run.trigger_type, "name": "Manual trigger"},
            "runId": run.trigger_run_id,
            "projectKey": scenario.project_key,
            "scenarioId": scenario.id,
            "timestamp": _ms(run.fired_at),
            "cancelled": False,
        }

    def _find_trigger_run(
        self, scenario: Scenario, trigger_id: str, trigger_run_id: str
    ) -> ScenarioRun:
        for run in scenario.runs:
            if run.trigger_id == trigger_id and run.trigger_run_id == trigger_run_id:
                return run
        raise DSSError(NOT_FOUND_STATUS, f"Trigger fire {trigger_run_id} not found")

    async def _run_for_trigger(self, request: Request, caller: Caller, pk: str, sid: str) -> Any:
        scenario = self._scenario(caller, pk, sid)
        run = self._find_trigger_run(
            scenario,
            request.query_params.get("triggerId", ""),
            request.query_params.get("triggerRunId", ""),
        )
        now = self.clock()
        return {"scenarioRun": run.to_json(scenario, now)} if run.visible(now) else {}

    async def _trigger_fire(
        self, request: Request, caller: Caller, pk: str, sid: str, tid: str
    ) -> Any:
        scenario = self._scenario(caller, pk, sid)
        run = self._find_trigger_run(scenario, tid, request.query_params.get("triggerRunId", ""))
        return self._trigger_json(scenario, run)

    async def _last_runs(self, request: Request, caller: Caller, pk: str, sid: str) -> Any:
        scenario = self._scenario(caller, pk, sid)
        limit = int(request.query_params.get("limit", "10"))
        only_finished = _qbool(request, "onlyFinishedRuns", False)
        now = self.clock()
        runs = [
            r
            for r in reversed(scenario.runs)
            if r.visible(now) and (r.finished(now) or not only_finished)
        ]
        return [r.to_json(scenario, now) for r in runs[:limit]]

    async def _get_run(self, request: Request, caller: Caller, pk: str, sid: str, rid: str) -> Any:
        scenario = self._scenario(caller, pk, sid)
        now = self.clock()
        for run in scenario.runs:
            if run.run_id == rid and run.visible(now):
                return {"scenarioRun": run.to_json(scenario, now), "stepRuns": []}
        raise DSSError(NOT_FOUND_STATUS, f"Scenario run {rid} not found")

    async def _scenario_light(self, request: Request, caller: Caller, pk: str, sid: str) -> Any:
        scenario = self._scenario(caller, pk, sid)
        now = self.clock()
        started = [r.starts_at for r in scenario.runs if r.visible(now)]
        return {
            "running": scenario.running(now),
            "active": scenario.active,
            "start": _ms(max(started)) if started else 0,
            "nextRun": 0,
        }

    # -- notebooks ----------------------------------------------------------------------------
    def _notebook(self, caller: Caller, pk: str, nb: str) -> Notebook:
        notebook = self._project(caller, pk).notebooks.get(nb)
        if notebook is None:
            raise DSSError(NOT_FOUND_STATUS, f"Notebook {pk}.{nb} not found")
        return notebook

    async def _list_notebooks(self, request: Request, caller: Caller, pk: str) -> Any:
        active = _qbool(request, "active", False)
        return [
            {
                "projectKey": pk,
                "name": n.name,
                "language": n.language,
                "kernelSpec": {
                    "name": n.kernel,
                    "display_name": n.kernel.title(),
                    "language": n.language,
                },
                "tags": list(n.tags),
            }
            for n in self._project(caller, pk).notebooks.values()
            if n.sessions or not active
        ]

    async def _sessions(self, request: Request, caller: Caller, pk: str, nb: str) -> Any:
        return list(self._notebook(caller, pk, nb).sessions)

    async def _unload(self, request: Request, caller: Caller, pk: str, nb: str, sess: str) -> Any:
        notebook = self._notebook(caller, pk, nb)
        session = next((s for s in notebook.sessions if s["sessionId"] == sess), None)
        if session is None:
            raise DSSError(NOT_FOUND_STATUS, f"Session {sess} not found")
        if not caller.admin and session["sessionCreator"] != caller.login:
            raise DSSError(
                403,
                "Only the session's creator or an admin may unload it",
                code="ERR_SECURITY_ACCESS_DENIED",
            )
        notebook.sessions.remove(session)
        return {}  # `_perform_json`: must be JSON

    async def _admin_notebooks(self, request: Request, caller: Caller) -> Any:
        return [
            {"projectKey": p.key, "name": n.name, "activeSessions": list(n.sessions)}
            for p in self.projects.values()
            for n in p.notebooks.values()
            if n.sessions
        ]

    # -- admin: settings, variables, usage ----------------------------------------------------
    async def _get_settings(self, request: Request, caller: Caller) -> Any:
        return self.general_settings

    async def _put_settings(self, request: Request, caller: Caller) -> Any:
        body = await _json_object(request)
        impersonation = body.get("impersonation")
        if not isinstance(impersonation, dict) or not {"userRules", "groupRules"} <= set(
            impersonation
        ):
            raise DSSError(400, "Settings must contain impersonation.userRules and groupRules")
        self.general_settings = body
        return Response(status_code=204, headers=self._headers())

    async def _get_variables(self, request: Request, caller: Caller) -> Any:
        return self.variables

    async def _put_variables(self, request: Request, caller: Caller) -> Any:
        self.variables = await _json_object(request)  # replaces the whole object
        return Response(status_code=204, headers=self._headers())

    async def _usage_summary(self, request: Request, caller: Caller) -> Any:
        projects = list(self.projects.values())
        scenarios = [s for p in projects for s in p.scenarios.values()]
        body: dict[str, Any] = {
            "projects": len(projects),
            "datasets": {"all": sum(p.datasets for p in projects)},
            "recipes": {"all": sum(p.recipes for p in projects)},
            "notebooks": {
                "nbJupyterNotebooks": sum(len(p.notebooks) for p in projects),
                "nbSqlNotebooks": sum(p.sql_notebooks for p in projects),
            },
            "scenarios": {
                "all": len(scenarios),
                "activeWithTriggers": sum(s.active and s.has_triggers for s in scenarios),
            },
        }
        if _qbool(request, "withPerProject", False):
            body["projectSummaries"] = {
                p.key: {"datasets": p.datasets, "recipes": p.recipes} for p in projects
            }
        return body

    # -- API keys -----------------------------------------------------------------------------
    def _key_json(self, key: ApiKey) -> dict[str, Any]:
        return key.to_json(with_secret=not self.hashed_keys)

    async def _list_global_keys(self, request: Request, caller: Caller) -> Any:
        return [self._key_json(k) for k in self.api_keys.values() if k.kind == "global"]

    def _global_key(self, kid: str) -> ApiKey:
        key = self.key_by_id(kid)
        if key is None or key.kind != "global":
            raise DSSError(NOT_FOUND_STATUS, f"API key {kid} not found")
        return key

    async def _get_global_key(self, request: Request, caller: Caller, kid: str) -> Any:
        return self._key_json(self._global_key(kid))

    async def _delete_global_key(self, request: Request, caller: Caller, kid: str) -> Any:
        del self.api_keys[self._global_key(kid).secret]
        return Response(status_code=204, headers=self._headers())

    async def _create_global_key(self, request: Request, caller: Caller) -> Any:
        body = await _json_object(request)
        key = self.add_api_key(
            kind="global",
            label=body.get("label") or "",
            description=body.get("description") or "",
            admin=bool((body.get("globalPermissions") or {}).get("admin")),
            groups=body.get("groups"),
            created_by=caller.login or caller.key.id,
        )
        return key.to_json(with_secret=True)  # creation always shows the secret once

    async def _list_personal_keys(self, request: Request, caller: Caller) -> Any:
        return [
            self._key_json(k)
            for k in self.api_keys.values()
            if k.kind == "personal" and k.user == caller.login
        ]

    async def _list_all_personal_keys(self, request: Request, caller: Caller) -> Any:
        return [self._key_json(k) for k in self.api_keys.values() if k.kind == "personal"]

    def _personal_key(self, caller: Caller, kid: str) -> ApiKey:
        key = self.key_by_id(kid)
        if key is None or key.kind != "personal":
            raise DSSError(NOT_FOUND_STATUS, f"API key {kid} not found")
        if not caller.admin and key.user != caller.login:
            raise DSSError(
                403,
                "You may only manage your own personal API keys",
                code="ERR_SECURITY_ACCESS_DENIED",
            )
        return key

    async def _get_personal_key(self, request: Request, caller: Caller, kid: str) -> Any:
        return self._key_json(self._personal_key(caller, kid))

    async def _delete_personal_key(self, request: Request, caller: Caller, kid: str) -> Any:
        del self.api_keys[self._personal_key(caller, kid).secret]
        return Response(status_code=204, headers=self._headers())

    async def _create_personal_key(self, request: Request, caller: Caller) -> Any:
        if caller.user is None:
            raise DSSError(400, "This credential has no user to own a personal key")
        body = await _json_object(request)
        key = self.add_api_key(
            kind="personal",
            user=caller.login,
            label=body.get("label") or "",
            description=body.get("description") or "",
            created_by=caller.login or "",
        )
        return key.to_json(with_secret=True)

    async def _create_personal_key_for(self, request: Request, caller: Caller) -> Any:
        body = await _json_object(request)
        login = body.get("user")
        if login not in self.users:
            raise DSSError(NOT_FOUND_STATUS, f"User {login} not found")
        key = self.add_api_key(
            kind="personal",
            user=login,
            label=body.get("label") or "",
            description=body.get("description") or "",
            created_by=caller.login or caller.key.id,
        )
        return key.to_json(with_secret=True)

    # -- seed ---------------------------------------------------------------------------------
    def _seed(self) -> None:
        _seed(self)


def _secret_from(authorization: str) -> str:
    """The API key from any of the three accepted forms (Basic user or password, Bearer)."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ""
        user, _, password = decoded.partition(":")
        return user or password
    return ""


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await read_json(request)
    except ValueError:
        raise DSSError(400, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise DSSError(400, "Expected a JSON object")
    return body


# -- seeded data (realistic, from the protocol spec and seed 001) --------------------------------
def _job(
    pk: str, name: str, state: str, initiator: str, start: float, end: float, dataset: str
) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S.000", time.gmtime(start))
    return {
        "def": {
            "id": f"{name}_{stamp}",
            "projectKey": pk,
            "type": "NON_RECURSIVE_FORCED_BUILD",
            "initiator": initiator,
            "initiationTimestamp": _ms(start),
            "outputs": [
                {"type": "DATASET", "targetDataset": dataset, "targetDatasetProjectKey": pk}
            ],
        },
        "state": state,
        "stableState": state in ("DONE", "FAILED", "ABORTED"),
        "startTime": _ms(start),
        "endTime": _ms(end) if end else 0,
        "warningsCount": 1 if state == "DONE" and dataset == "customers" else 0,
    }


def _session(
    em: DSSEmulator,
    pk: str,
    nb: str,
    creator: str,
    started_ago: float,
    state: str = "idle",
    idle_for: float | None = None,
) -> dict[str, Any]:
    """A kernel session; `idle_for`: seconds since its last activity (a busy one: 0)."""
    now = em.clock()
    if idle_for is None:
        idle_for = 0 if state == "busy" else min(started_ago, 300)
    return {
        "projectKey": pk,
        "notebookName": nb,
        "sessionId": em.new_id(16),
        "kernelId": em.new_id(16),
        "kernelPid": em._random.randint(2000, 60000),
        "sessionCreator": creator,
        "sessionCreatorDisplayName": em.users[creator].display_name,
        "sessionUnixOwner": "dataiku",
        "kernelConnections": 1,
        "kernelExecutionState": state,
        "kernelLastActivityTime": _ms(now - idle_for),
        "sessionStartTime": _ms(now - started_ago),
    }


def _past_runs(
    scenario: Scenario,
    now: float,
    outcomes: list[str],
    every: float,
    user: str = "alice",
    trigger: str = "time",
) -> None:
    """Finished runs, oldest first, one every `every` seconds up to now."""
    for i, outcome in enumerate(outcomes):
        start = now - every * (len(outcomes) - i)
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(start))
        scenario.runs.append(
            ScenarioRun(
                run_id=f"{stamp}-{i:03d}",
                trigger_id=f"{trigger}_trigger",
                trigger_run_id=f"{stamp}-t{i}",
                trigger_type=trigger,
                fired_at=start,
                starts_at=start,
                duration=min(scenario.duration, every / 2),
                outcome=outcome,
                user=user,
            )
        )


def _seed(em: DSSEmulator) -> None:
    now = em.clock()
    H, D = 3600.0, 86400.0
    em.add_user(
        "alice", groups=["administrators", "data_team"], admin=True, display_name="Alice Martin"
    )
    em.add_user("bob", groups=["analysts"], profile="DATA_SCIENTIST", display_name="Bob Chen")
    em.add_user("carol", groups=["finance"], profile="READER", display_name="Carol Diaz")
    em.add_user("svc_etl", groups=["data_team"], display_name="ETL service")

    em.add_api_key(
        kind="personal",
        secret=DEMO["alice"]["api_key"],
        user="alice",
        label="laptop",
        description="Alice's main key",
        created_by="alice",
        key_id="p9ZtAl1ce001",
        age_days=120,
    )
    em.add_api_key(
        kind="personal",
        user="alice",
        label="notebook-automation",
        created_by="alice",
        key_id="p9ZtAl1ce002",
        age_days=30,
    )
    em.add_api_key(
        kind="personal",
        secret=DEMO["bob"]["api_key"],
        user="bob",
        label="bob-cli",
        created_by="bob",
        key_id="p9ZtB0b00001",
        age_days=45,
    )
    em.add_api_key(
        kind="personal",
        user="bob",
        label="old laptop",
        description="to revoke",
        created_by="bob",
        key_id="p9ZtB0b00002",
        age_days=400,
    )
    em.add_api_key(
        kind="personal",
        user="carol",
        label="reports",
        created_by="alice",
        key_id="p9ZtCar0l001",
        age_days=10,
    )
    em.add_api_key(
        kind="global",
        secret=DEMO["global_admin"]["api_key"],
        label="chatops",
        description="Switchboard bot (admin)",
        admin=True,
        created_by="alice",
        key_id="k7Hq2ChatOps",
        age_days=60,
    )
    em.add_api_key(
        kind="global",
        label="etl-readonly",
        description="nightly ETL",
        user="svc_etl",
        created_by="alice",
        key_id="k7Hq2Etl0001",
        age_days=200,
    )
    em.add_api_key(
        kind="global",
        label="reporting",
        description="BI extracts",
        groups=["finance"],
        created_by="alice",
        key_id="k7Hq2Rep0001",
        age_days=90,
    )

    sales = Project(
        "SALES",
        "Sales analytics",
        "alice",
        {"data_team", "analysts"},
        datasets=14,
        recipes=11,
        sql_notebooks=2,
    )
    churn = Project(
        "CHURN",
        "Churn prediction",
        "bob",
        {"data_team", "analysts"},
        datasets=9,
        recipes=7,
        sql_notebooks=1,
    )
    finance = Project(
        "FINANCE",
        "Finance month close",
        "alice",
        {"finance"},
        datasets=6,
        recipes=4,
        sql_notebooks=1,
    )
    for p in (sales, churn, finance):
        em.projects[p.key] = p

    sales.jobs = [
        _job("SALES", "build_orders", "RUNNING", "alice", now - 240, 0, "orders"),
        _job(
            "SALES", "build_customers", "DONE", "alice", now - 2 * H, now - 2 * H + 95, "customers"
        ),
        _job("SALES", "build_forecast", "FAILED", "bob", now - 5 * H, now - 5 * H + 40, "forecast"),
    ]
    sales.job_failures[sales.jobs[2]["def"]["id"]] = (
        "Job failed: Python process failed: KeyError: 'region' (in recipe compute_forecast)"
    )
    churn.jobs = [
        _job("CHURN", "train_scores", "RUNNING", "bob", now - 600, 0, "scores"),
        _job("CHURN", "prepare_features", "NOT_STARTED", "bob", now - 5, 0, "features"),
        _job("CHURN", "prepare_features", "DONE", "bob", now - D, now - D + 300, "features"),
    ]
    finance.jobs = [
        _job("FINANCE", "close_ledger", "RUNNING", "alice", now - 1800, 0, "ledger_closed"),
        _job(
            "FINANCE",
            "import_invoices",
            "ABORTED",
            "alice",
            now - 3 * H,
            now - 3 * H + 60,
            "invoices",
        ),
    ]

    nightly = Scenario("NIGHTLY_BUILD", "Nightly build", "SALES", "SUCCESS", 30, tags=["prod"])
    _past_runs(nightly, now, ["SUCCESS", "SUCCESS", "WARNING", "SUCCESS"], D)
    dashboards = Scenario("REFRESH_DASHBOARDS", "Refresh dashboards", "SALES", "WARNING", 20)
    _past_runs(dashboards, now, ["SUCCESS", "WARNING"], 6 * H)
    retrain = Scenario("RETRAIN_MODEL", "Retrain churn model", "CHURN", "FAILED", 45, tags=["ml"])
    _past_runs(retrain, now, ["SUCCESS", "FAILED", "FAILED"], D, user="bob")
    scoring = Scenario(
        "DAILY_SCORING", "Daily scoring", "CHURN", "SUCCESS", 25, active=False, has_triggers=False
    )
    _past_runs(scoring, now, ["SUCCESS"], 2 * D, user="bob", trigger="manual")
    month_close = Scenario("MONTH_CLOSE", "Month close", "FINANCE", "SUCCESS", 120)
    _past_runs(month_close, now, ["SUCCESS", "ABORTED"], 15 * D)
    for s in (nightly, dashboards, retrain, scoring, month_close):
        em.projects[s.project_key].scenarios[s.id] = s

    # A scenario run in progress (alice), with its future.
    running_id = em.add_future(
        owner="alice",
        display_name="Scenario Nightly build",
        duration=30 * 60,
        started_ago=11 * 60,
        kind="scenario",
        result={"outcome": "SUCCESS"},
        steps=("Build orders", "Build forecast", "Refresh dashboards"),
        payload={"targets": [{"projectKey": "SALES", "objectId": "NIGHTLY_BUILD"}]},
        job_id="Zq3xT9aB",
    )
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now - 11 * 60))
    nightly.runs.append(
        ScenarioRun(
            run_id=f"{stamp}-900",
            trigger_id="manual",
            trigger_run_id=f"{stamp}-t900",
            trigger_type="manual",
            fired_at=now - 11 * 60,
            starts_at=now - 11 * 60,
            duration=30 * 60,
            outcome="SUCCESS",
            user="alice",
            future_id=running_id,
        )
    )

    em.add_future(
        owner="alice",
        display_name="Compute metrics on SALES.orders",
        duration=15 * 60,
        started_ago=93,
        job_id="Fm7pQ2rL",
        steps=("Loading partitions", "Computing metrics", "Saving"),
        result={"success": True, "messages": [], "computed": 12},
    )
    em.add_future(
        owner="alice",
        display_name="Rebuild code env py311-ml",
        duration=None,
        started_ago=2 * H,
        job_id="Ce4nV8wK",
        steps=("Installing packages",),
    )
    em.add_future(
        owner="bob",
        display_name="Export CHURN.scores to CSV",
        duration=20 * 60,
        started_ago=5 * 60,
        job_id="Ex9bB0bZ",
        steps=("Reading", "Writing CSV", "Uploading"),
    )
    em.add_future(
        owner="bob",
        display_name="Sync CHURN.features to Snowflake",
        duration=120,
        outcome="failed",
        started_ago=H,
        job_id="Fa1LdSyn",
        error="Connection 'snowflake_prod' refused: authentication failed",
    )
    em.add_future(
        owner="alice",
        display_name="Install plugin geo-tools",
        duration=60,
        started_ago=H,
        job_id="Dn0nE111",
        result={"success": True, "messages": [], "installedVersion": "1.4.2"},
    )
    # A business task that completes normally and reports its failure inside the result.
    em.add_future(
        owner="alice",
        display_name="Update plugin snowflake-connector",
        duration=45,
        started_ago=2 * H,
        job_id="Up2dF4il",
        result={
            "success": False,
            "messages": {
                "anyMessage": True,
                "error": True,
                "warning": False,
                "messages": [
                    {
                        "severity": "ERROR",
                        "title": "Incompatible plugin",
                        "message": "Plugin snowflake-connector 3.0.1 needs DSS 14.0 or later",
                    }
                ],
            },
        },
    )

    sales.notebooks = {
        "explore_orders": Notebook("explore_orders", tags=["eda"]),
        "forecast_r": Notebook("forecast_r", language="R", kernel="ir"),
    }
    churn.notebooks = {
        "feature_analysis": Notebook("feature_analysis", tags=["ml"]),
        "scratch": Notebook("scratch"),
    }
    finance.notebooks = {"ledger_checks": Notebook("ledger_checks")}
    # Idle for 2.5 h, busy now, idle for 20 h and for 3 days: forgotten kernels to unload.
    sales.notebooks["explore_orders"].sessions = [
        _session(em, "SALES", "explore_orders", "alice", 3 * H, idle_for=2.5 * H)
    ]
    churn.notebooks["feature_analysis"].sessions = [
        _session(em, "CHURN", "feature_analysis", "bob", 40 * 60, "busy"),
        _session(em, "CHURN", "feature_analysis", "alice", 26 * H, idle_for=20 * H),
    ]
    finance.notebooks["ledger_checks"].sessions = [
        _session(em, "FINANCE", "ledger_checks", "alice", 4 * D, idle_for=3 * D)
    ]

    em.general_settings = {
        "impersonation": {
            "userRules": [
                {"scope": "GLOBAL", "type": "IDENTITY"},
                {
                    "scope": "PROJECT",
                    "projectKey": "SALES",
                    "type": "SINGLE_MAPPING",
                    "dssUser": "alice",
                    "targetUnix": "svc_sales",
                    "targetHadoop": "svc_sales",
                },
            ],
            "groupRules": [
                {
                    "type": "REGEXP_RULE",
                    "ruleFrom": "^team_(.*)$",
                    "targetUnix": "u_\\1",
                    "targetHadoop": None,
                },
                {
                    "type": "SINGLE_MAPPING",
                    "dssGroup": "finance",
                    "targetUnix": "svc_finance",
                    "targetHadoop": "svc_finance",
                },
            ],
        },
        "maxRunningActivities": 5,
        "maxRunningActivitiesPerJob": 2,
        "ldapSettings": {"enabled": False},
        "auditTrailSettings": {"targets": [{"type": "LOG", "topics": ["generic"]}]},
        "themeSettings": {"instanceName": "Design node (emulated)"},
    }
    em.variables = {
        "env": "prod",
        "smtp_host": "mail.example.com",
        "retention_days": 30,
        "snowflake_warehouse": "ANALYTICS_WH",
    }
