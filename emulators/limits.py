"""An Atoti Limits server (REST API v2) on 127.0.0.1, from ../shared/protocols/atoti-limits.md.

What it serves: the startup ping, the Atoti auto-config `connect`, settings, limit structures and
limits, incidents (Breach / Warning per as-of date), and a tiny workflow engine behind
`execute-task-action` (four-eyes, six-eyes and deletion approvals) with its history. Users log in
with HTTP Basic and carry Spring-style roles; the roles decide who may approve. Errors are
RFC 7807 ProblemDetail bodies, as the official UI expects.

The seed is realistic rather than large, except for one busy as-of date (`BUSY_DATE`) with 120
incidents, so that a Slack message cannot list them all.

    with LimitsEmulator() as limits:
        httpx.get(f"{limits.url}/activeviam/limits/rest/v2/startup", auth=("alice", "..."))
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulators.base import Emulator, read_json

# ---- Inferred / unverified: the spec marks these [INF] or [GAP] --------------------------------
# Keep every guess here (and in bot/platforms/limits/client.py's INFERRED block) so that checking
# against a real Limits server is one edit in each file.
INFERRED_AUTH_SCHEME = "Basic"  # §1.3: Basic for users of a standalone server
INFERRED_PING_NEEDS_AUTH = True  # the ping is called with a JWT; assume it is protected
INFERRED_REST_ROLE = "ROLE_LIMITS"  # role needed for /limits/rest/v2/** (matrix unknown)
INFERRED_TASK_ROLE = "ROLE_ACTIVITI_USER"  # needed to complete any workflow task
INFERRED_LIMIT_STRUCTURE_FIELD = "structureId"  # a Limit names its structure (SimpleLimit does)
INFERRED_INCIDENT_FILTER_FIELDS = {  # filter column display name -> incident field
    "As Of Date": "asOfDate",  # [SDK]
    "Incident Type": "incidentType",  # [SDK]
    "Incident ID": "incidentId",  # [SDK] hooks/useGetSelectedLimitEvaluations.js
    "Structure ID": "structureId",  # [INF]
    "Status": "status",  # [INF]
}  # no "Limit ID": the UI never filters incidents by limit id, so a server may not know it
INFERRED_HISTORY_AUDIT_TYPES = ("LIMIT", "INCIDENT")  # workflow-history/{auditType}/{key}
INFERRED_TASK_DONE_STATUS = 409  # completing a task that is no longer open
INFERRED_REJECTED_STATUS = "REJECTED"  # a new limit whose approval was rejected
INFERRED_ACTION_APPROVE = "Approve"
INFERRED_ACTION_REJECT = "Reject"
INFERRED_ACTION_ACKNOWLEDGE = "Acknowledge"
# -------------------------------------------------------------------------------------------------

REST = "/limits/rest/v2"
ACTIVEVIAM = "/activeviam/limits/rest/v2"
SERVER_VERSION = "6.2.2"

COMMENT_VARIABLE = "Comment"  # the seed workflows' text variable (its task input field says so)
ROLE_OPTIONS = ("ROLE_MANAGERS", "ROLE_USERS")
ALL_ROLES = (
    "ROLE_ACTIVITI_ADMIN",
    "ROLE_ACTIVITI_USER",
    "ROLE_ADMIN",
    "ROLE_AUTO_APPROVE_LIMIT",
    "ROLE_LIMITS",
    "ROLE_MANAGERS",
    "ROLE_USER",
    "ROLE_USERS",
)
APPROVER = ("ROLE_ACTIVITI_USER", "ROLE_LIMITS", "ROLE_USER", "ROLE_MANAGERS")
ORDINARY = ("ROLE_ACTIVITI_USER", "ROLE_LIMITS", "ROLE_USER")

# alice approves, bob may read but not approve. admin/user1/manager1 are the seed document's.
DEMO: dict[str, dict[str, Any]] = {
    "alice": {"username": "alice", "password": "alice-limits-pw", "roles": list(APPROVER)},
    "bob": {"username": "bob", "password": "bob-limits-pw", "roles": list(ORDINARY)},
}
_SEED_USERS = {
    "admin": ("admin", ALL_ROLES),
    "manager1": ("manager1", APPROVER),
    "user1": ("user1", ORDINARY),
}

AS_OF_DATES = ("2026-01-28", "2026-01-29", "2026-01-30")
BUSY_DATE = "2026-01-29"  # 120 incidents
LATEST_DATE = "2026-01-30"  # the server's current as-of date and latest evaluation
_INCIDENTS_PER_DATE = {"2026-01-28": 9, BUSY_DATE: 120, LATEST_DATE: 14}

# The limit workflows (business function "Limit Changes"), as a tiny state machine.
FOUR_EYES = "limit-process-four-eyes"
SIX_EYES = "limit-process-six-eyes"
_PENDING_TASKS: dict[str, dict[str, dict[str, str]]] = {
    # workflow -> task -> {action: next status ("" = stays pending for the next task)}
    FOUR_EYES: {
        "firstApproval": {
            INFERRED_ACTION_APPROVE: "APPROVED",
            INFERRED_ACTION_REJECT: INFERRED_REJECTED_STATUS,
        }
    },
    SIX_EYES: {
        "firstApproval": {
            INFERRED_ACTION_APPROVE: "",
            INFERRED_ACTION_REJECT: INFERRED_REJECTED_STATUS,
        },
        "secondApproval": {
            INFERRED_ACTION_APPROVE: "APPROVED",
            INFERRED_ACTION_REJECT: INFERRED_REJECTED_STATUS,
        },
    },
}
_NEXT_TASK = {(SIX_EYES, "firstApproval"): "secondApproval"}
_DELETION_TASK = "deletionApproval"
_DELETION_ACTIONS = {INFERRED_ACTION_APPROVE: "DELETED", INFERRED_ACTION_REJECT: "APPROVED"}
# Which workflow parameter names the candidate role of each task.
_TASK_ROLE_PARAMETER = {
    "firstApproval": "First Approvers",
    "secondApproval": "Second Approvers",
    _DELETION_TASK: "Approvers",
}
_INACTIVE = {"DELETED", "EXPIRED", INFERRED_REJECTED_STATUS}


@dataclass
class User:
    username: str
    password: str = field(repr=False)
    roles: frozenset[str]


@dataclass
class Structure:
    structure_id: str
    name: str
    server: str
    cube: str
    measure: str
    kpi_type: str
    warning_threshold: float
    level: str
    workflow: str
    group: str
    polling: str = "EOD"
    approvers: dict[str, str] = field(default_factory=dict)


@dataclass
class Limit:
    limit_id: str
    structure_id: str
    member: str
    value: float
    status: str
    limit_type: str = "OFFICIAL"
    start: str = "2026-01-01"
    end: str | None = "2026-12-31"
    comment: str = ""
    source_limit_id: str | None = None
    task: str | None = None  # the open workflow task, if any
    first_approver: str | None = None  # six-eyes: the second approver must be someone else
    draft: float | None = None  # a pending change of the value (`draftLimit`), not yet in force


class _Problem(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def problem(status: int, detail: str, *, instance: str = "", title: str | None = None) -> Response:
    """A Spring `ProblemDetail` (RFC 7807), the error shape the official UI reads."""
    body = {
        "type": "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    headers = {"WWW-Authenticate": 'Basic realm="Atoti Limits"'} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class LimitsEmulator(Emulator):
    name = "limits"

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        super().__init__(**({"clock": clock} if clock else {}))
        self.users: dict[str, User] = {}
        for demo in DEMO.values():
            self.add_user(demo["username"], demo["password"], demo["roles"])
        for username, (password, roles) in _SEED_USERS.items():
            self.add_user(username, password, roles)
        self.start_time_ms = int(self.clock() * 1000)
        self.servers: dict[str, dict[str, Any]] = {}
        self.structures: dict[str, Structure] = {}
        self.limits: dict[str, Limit] = {}
        self.incidents: list[dict[str, Any]] = []
        self.history: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._seed()

    # -- test helpers -------------------------------------------------------------------------
    def add_user(self, username: str, password: str, roles: Any) -> None:
        self.users[username] = User(username, password, frozenset(roles))

    def restart(self) -> None:
        """A new start time on the ping, as after a real restart."""
        self.start_time_ms = int(self.clock() * 1000)

    def record_incident(self, limit_id: str, *, as_of: str, measure_value: float) -> dict:
        """Evaluate one limit against a measure value; store a Breach/Warning incident if any."""
        limit = self.limits[limit_id]
        structure = self.structures[limit.structure_id]
        utilization = measure_value / limit.value
        kind = _incident_type(utilization, structure.warning_threshold)
        incident = self._incident(
            limit,
            structure,
            as_of=as_of,
            utilization=utilization,
            kind=kind,
            at=_iso(self.clock()),
            status="OPEN",
        )
        if kind != "Pass":
            self.incidents.append(incident)
        return incident

    def propose(self, limit_id: str, value: float, *, by: str = "bob") -> None:
        """`by` asks to change an approved limit's value (or revises the change still waiting):
        a draft with its own Limit Changes workflow, the value in force unchanged until the
        draft is approved."""
        limit = self.limits[limit_id]
        if limit.status != "APPROVED":
            raise ValueError(f"{limit_id} is {limit.status}: only an approved limit is changed")
        limit.draft = float(value)
        if limit.task is None:
            limit.task, limit.first_approver = "firstApproval", None
            self._record(
                limit,
                task_name=None,
                action=None,
                user=by,
                activity="startEvent",
                before=None,
                variables={COMMENT_VARIABLE: f"change to {value:g}"},
            )

    # -- routes ---------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        ep = self._endpoint
        return [
            # Public: the UI fetches it with a plain fetch(), no credentials (limits-app-extension
            # src/index.tsx, fetchServicesVersions).
            Route("/versions/rest", self._versions, methods=["GET"]),
            Route(f"{ACTIVEVIAM}/startup", ep(self._startup, role=None, jwt=True)),
            Route(
                f"{REST}/limits/autoconfig/connect",
                ep(self._connect, role=None, jwt=True),
                methods=["PUT"],
            ),
            Route(f"{REST}/settings", ep(self._settings)),
            Route(f"{REST}/limitDefinition/asOfDate", ep(self._as_of_date)),
            Route(
                f"{REST}/limitDefinition/inventory-structures/filter",
                ep(self._inventory),
                methods=["POST"],
            ),
            Route(f"{REST}/limitDefinition/structure/get/{{structure_id}}", ep(self._structure)),
            Route(f"{REST}/limitDefinition/limits/get/{{limit_id}}", ep(self._limit)),
            Route(f"{REST}/incidents/as-of-dates", ep(self._incident_dates)),
            Route(
                f"{REST}/incidents/filter-with-variables",
                ep(self._incidents_with_variables),
                methods=["POST"],
            ),
            Route(f"{REST}/incidents/all/filter", ep(self._incidents_all), methods=["POST"]),
            Route(
                f"{ACTIVEVIAM}/workflow-service/execute-task-action",
                ep(self._execute_task_action, role=INFERRED_TASK_ROLE),
                methods=["POST"],
            ),
            Route(
                f"{ACTIVEVIAM}/workflow-service/workflow-history/{{audit_type}}/{{audit_key}}",
                ep(self._workflow_history),
            ),
            Route(
                "/{path:path}",
                ep(self._no_route, role=None),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
            ),
        ]

    def error_response(self, status: int, message: str) -> Response:
        return problem(status, message)

    def _endpoint(
        self,
        handler: Callable[[Request, User | None], Awaitable[Any]],
        *,
        role: str | None = INFERRED_REST_ROLE,
        jwt: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        """Authenticate (Spring Security first, as a real server does), check the role, and turn
        `_Problem` into a ProblemDetail. Handlers return JSON-able values."""

        async def endpoint(request: Request) -> Response:
            path = request.url.path
            try:
                user = self._authenticate(request, jwt=jwt)
                if role and user is not None and role not in user.roles:
                    raise _Problem(403, f"Access denied: {user.username} lacks {role}")
                result = await handler(request, user)
            except _Problem as exc:
                return problem(exc.status, exc.detail, instance=path)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return endpoint

    def _authenticate(self, request: Request, *, jwt: bool) -> User | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if jwt and scheme == "Jwt" and value:
            return None  # the Atoti session's machine token: trusted, no user roles
        if scheme.lower() != INFERRED_AUTH_SCHEME.lower():
            if not INFERRED_PING_NEEDS_AUTH and jwt:
                return None
            raise _Problem(401, "Full authentication is required to access this resource")
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _Problem(401, "Invalid basic authentication token") from None
        user = self.users.get(username)
        if user is None or user.password != password:
            raise _Problem(401, "Bad credentials")
        return user

    # -- handlers ---------------------------------------------------------------------------------
    async def _versions(self, request: Request) -> Response:
        """Atoti's `ServicesVersions`: the server version and the REST APIs it serves."""
        return JSONResponse(
            {
                "version": 1,
                "serverVersion": SERVER_VERSION,
                "apis": {
                    "activeviam/pivot": {
                        "versions": [{"id": "10", "restPath": "/activeviam/pivot/rest/v10"}]
                    },
                    "limits": {"versions": [{"id": "2", "restPath": REST}]},
                },
            }
        )

    async def _startup(self, request: Request, user: User | None) -> Any:
        return self.start_time_ms  # a bare JSON number, parsed as a Java Long

    async def _connect(self, request: Request, user: User | None) -> Any:
        body = await read_json(request)
        if not isinstance(body, dict) or not body.get("serverName"):
            raise _Problem(400, "serverName is required")
        self.servers[body["serverName"]] = body
        return True

    async def _settings(self, request: Request, user: User | None) -> Any:
        return {
            "storeEvaluationPasses": False,
            "workflows": [
                {
                    "name": name,
                    "businessFunctions": ["Limit Changes"],
                    "initializingVariables": [
                        {"name": "Comment", "type": "TEXT", "options": [], "required": False}
                    ],
                }
                for name in (FOUR_EYES, SIX_EYES)
            ],
            "legacyWorkflowConfiguration": {
                "exceptionWorkflows": {},
                "limitWorkflows": {},
                "roles": ["ROLE_USERS", "ROLE_MANAGERS"],
            },
            "structureTemplates": {},
            # One entry per connected Atoti server (the bot lists connected servers from here).
            "asOfDateDimensions": {
                name: {
                    "*": {
                        "asOfDate": {
                            "asOfDateDimensionName": "Date",
                            "asOfDateHierarchyName": "Date",
                            "asOfDateLevelName": "Date",
                        }
                    }
                }
                for name in self.servers
            },
            "allowedFileUploadExtensions": [".csv", ".pdf"],
            "workflowStatusFetchedWithLimit": True,
            "limitActions": [
                {"name": "Create Limit", "enabled": True},
                {"name": "Create Limit Structure", "enabled": True},
                {"name": "Download", "enabled": True},
            ],
            "maxFileUploadSize": 10485760,
            "maxRequestSize": 20971520,
            "structureDeletionWorkflows": ["limit-process-direct"],
        }

    async def _as_of_date(self, request: Request, user: User | None) -> Any:
        return LATEST_DATE

    async def _inventory(self, request: Request, user: User | None) -> Any:
        body = await read_json(request) or {}
        if not isinstance(body, dict):
            raise _Problem(400, "filter must be a JSON object")
        server, cube = body.get("Server Name"), body.get("Cube Name")
        return [
            {
                "structureId": s.structure_id,
                "serverName": s.server,
                "cubeName": s.cube,
                "measureName": s.measure,
                "name": s.name,
                "group": s.group,
                "numberOfPendingApprovals": sum(
                    1
                    for lim in self.limits.values()
                    if lim.structure_id == s.structure_id and lim.task is not None
                ),
                "utilizationDashboardID": f"dash-{s.structure_id[:8]}",
                "formActions": [{"name": n, "enabled": True} for n in ("Add", "Edit", "Evaluate")],
            }
            for s in self.structures.values()
            if (server in (None, s.server)) and (cube in (None, s.cube))
        ]

    async def _structure(self, request: Request, user: User | None) -> Any:
        structure = self.structures.get(request.path_params["structure_id"])
        if structure is None:
            raise _Problem(404, f"Limit structure {request.path_params['structure_id']} not found")
        live_only = request.query_params.get("isLiveOnly", "false").lower() == "true"
        limits = [
            lim
            for lim in self.limits.values()
            if lim.structure_id == structure.structure_id
            and lim.source_limit_id is None
            and (not live_only or lim.status not in _INACTIVE)
        ]
        return self._structure_json(structure) | {
            "limits": [self._limit_json(lim, user) for lim in limits]
        }

    async def _limit(self, request: Request, user: User | None) -> Any:
        limit = self.limits.get(request.path_params["limit_id"])
        if limit is None:
            raise _Problem(404, f"Limit {request.path_params['limit_id']} not found")
        return self._limit_json(limit, user)

    async def _incident_dates(self, request: Request, user: User | None) -> Any:
        return sorted({i["asOfDate"] for i in self.incidents})

    async def _incidents_with_variables(self, request: Request, user: User | None) -> Any:
        return {
            "incidents": self._filter_incidents(await read_json(request)),
            "variableDefinitions": [
                {"name": "Comment", "type": "TEXT", "options": [], "required": False}
            ],
        }

    async def _incidents_all(self, request: Request, user: User | None) -> Any:
        return self._filter_incidents(await read_json(request))

    def _filter_incidents(self, body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("incidentConditions"), list):
            raise _Problem(400, "incidentConditions is required")
        selected = self.incidents
        for condition in body["incidentConditions"]:
            column = INFERRED_INCIDENT_FILTER_FIELDS.get(condition.get("fieldName"))
            if column is None:
                raise _Problem(400, f"Unknown incident field {condition.get('fieldName')!r}")
            wanted = set(condition.get("possibleValues") or [])
            selected = [i for i in selected if i[column] in wanted]
        return selected

    async def _execute_task_action(self, request: Request, user: User | None) -> Any:
        dto = _multipart_json(request, await request.body(), "workflowTaskActionExecutionDTO")
        keys = [str(k) for k in (dto.get("keys") or dto.get("objectIds") or [])]
        task, action = dto.get("taskKey"), dto.get("actionName")
        if not keys or not task or not action:
            raise _Problem(400, "taskKey, actionName and keys are required")
        assert user is not None  # the endpoint requires a role, so a user
        if dto.get("workflowType") == "LIMIT":
            return self._act_on_limits(user, keys, task, action, dto.get("taskVariables") or {})
        if dto.get("workflowType") == "INCIDENT":
            return self._act_on_incidents(user, keys, task, action)
        raise _Problem(400, f"Unknown workflowType {dto.get('workflowType')!r}")

    def _act_on_limits(
        self, user: User, keys: list[str], task: str, action: str, variables: dict[str, Any]
    ) -> Any:
        # Check every key before changing any: a workflow call is all or nothing.
        limits = []
        for key in keys:
            limit = self.limits.get(key)
            if limit is None:
                raise _Problem(404, f"Limit {key} not found")
            if limit.task != task:
                raise _Problem(
                    INFERRED_TASK_DONE_STATUS,
                    f"Task {task} of limit {key} is not open (status {limit.status})",
                )
            if action not in self._task_actions(limit):
                raise _Problem(400, f"Task {task} has no action {action!r}")
            role = self._candidate_role(limit)
            if role not in user.roles:
                raise _Problem(
                    403,
                    f"{user.username} is not a candidate for task {task} "
                    f"of limit {key} (needs {role})",
                )
            if limit.task == "secondApproval" and limit.first_approver == user.username:
                raise _Problem(
                    403,
                    f"{user.username} already gave the first approval of {key}; "
                    "the second must come from someone else",
                )
            limits.append(limit)
        for limit in limits:
            self._advance(limit, user, action, variables)
        return None

    def _advance(self, limit: Limit, user: User, action: str, variables: dict[str, Any]) -> None:
        before, task = limit.status, limit.task
        assert task is not None
        if task == _DELETION_TASK:
            limit.status, limit.task = _DELETION_ACTIONS[action], None
        else:
            workflow = self.structures[limit.structure_id].workflow
            outcome = _PENDING_TASKS[workflow][task][action]
            next_task = _NEXT_TASK.get((workflow, task)) if not outcome else None
            if next_task:
                limit.task, limit.first_approver = next_task, user.username
            elif limit.draft is not None:
                # A change of an approved limit: approved, its value is the draft's; rejected,
                # the value in force stays. Either way the limit stays approved.
                if outcome == "APPROVED":
                    limit.value = limit.draft
                limit.draft, limit.task = None, None
            else:
                limit.status, limit.task = outcome, None
        if variables.get(COMMENT_VARIABLE):
            limit.comment = str(variables[COMMENT_VARIABLE])
        self._record(
            limit,
            task_name=task,
            action=action,
            user=user.username,
            activity="userTask",
            before=before,
            variables=variables,
        )

    def _record(
        self,
        limit: Limit,
        *,
        task_name: str | None,
        action: str | None,
        user: str,
        activity: str,
        before: str | None,
        variables: dict[str, Any],
    ) -> None:
        """One workflow history item, in the shape the UI parses (bas-workflow-actions
        BasWorkflowAuditHistorySchema): a string `id`, variables as full definitions."""
        entry: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "workflowId": self.structures[limit.structure_id].workflow,
            "activityType": activity,
            "status": limit.status,
            "user": user,
            "timestamp": _iso(self.clock()),
            "variables": {
                name: {
                    "name": name,
                    "type": "TEXT",
                    "options": [],
                    "required": False,
                    "value": str(value),
                }
                for name, value in variables.items()
            },
        }
        if task_name:
            entry.update(taskId=f"{limit.limit_id}:{task_name}", taskName=task_name)
        if action:
            entry["action"] = action
        if before is not None and before != limit.status:
            entry["differences"] = [
                {"fieldName": "limitStatus", "oldValue": before, "newValue": limit.status}
            ]
        self.history.setdefault(("LIMIT", limit.limit_id), []).append(entry)

    def _act_on_incidents(self, user: User, keys: list[str], task: str, action: str) -> Any:
        by_id = {i["incidentId"]: i for i in self.incidents}
        for key in keys:
            incident = by_id.get(key)
            if incident is None:
                raise _Problem(404, f"Incident {key} not found")
            if incident["status"] != "OPEN" or task != "review":
                raise _Problem(
                    INFERRED_TASK_DONE_STATUS,
                    f"Task {task} of incident {key} is not open (status {incident['status']})",
                )
            if action != INFERRED_ACTION_ACKNOWLEDGE:
                raise _Problem(400, f"Task {task} has no action {action!r}")
        for key in keys:
            by_id[key].update(status="ACKNOWLEDGED", workflowActions=[])
            self.history.setdefault(("INCIDENT", key), []).append(
                {
                    "id": uuid.uuid4().hex,
                    "workflowId": "incident-review",
                    "taskName": task,
                    "action": action,
                    "activityType": "userTask",
                    "status": "ACKNOWLEDGED",
                    "user": user.username,
                    "timestamp": _iso(self.clock()),
                    "variables": {},
                }
            )
        return None

    async def _workflow_history(self, request: Request, user: User | None) -> Any:
        audit_type = request.path_params["audit_type"]
        if audit_type not in INFERRED_HISTORY_AUDIT_TYPES:
            raise _Problem(400, f"Unknown audit type {audit_type!r}")
        return self.history.get((audit_type, request.path_params["audit_key"]), [])

    async def _no_route(self, request: Request, user: User | None) -> Any:
        if INFERRED_PING_NEEDS_AUTH:
            self._authenticate(request, jwt=False)
        # Spring Boot's default error body, not a ProblemDetail.
        return JSONResponse(
            {
                "timestamp": _iso(self.clock()),
                "status": 404,
                "error": "Not Found",
                "path": request.url.path,
            },
            status_code=404,
        )

    # -- rendering ---------------------------------------------------------------------------------
    def _task_actions(self, limit: Limit) -> tuple[str, ...]:
        if limit.task is None:
            return ()
        if limit.task == _DELETION_TASK:
            return tuple(_DELETION_ACTIONS)
        workflow = self.structures[limit.structure_id].workflow
        return tuple(_PENDING_TASKS[workflow][limit.task])

    def _candidate_role(self, limit: Limit) -> str:
        structure = self.structures[limit.structure_id]
        parameter = _TASK_ROLE_PARAMETER.get(limit.task or "", "Approvers")
        return structure.approvers.get(parameter) or structure.approvers.get("Approvers", "")

    def _limit_json(self, limit: Limit, user: User | None) -> dict[str, Any]:
        structure = self.structures[limit.structure_id]
        may_act = user is not None and self._candidate_role(limit) in user.roles
        pending = limit.task is not None
        children = [c for c in self.limits.values() if c.source_limit_id == limit.limit_id]
        body: dict[str, Any] = {
            "limitId": limit.limit_id,
            INFERRED_LIMIT_STRUCTURE_FIELD: limit.structure_id,
            "limitType": limit.limit_type,
            "limitValue": limit.value,
            "startDate": limit.start,
            "endDate": limit.end,
            "limitStatus": limit.status,
            "scope": {
                structure.level: {
                    "values": [{structure.level: limit.member}],
                    "scopeType": "EQUALS",
                }
            },
            "formActions": [
                {"name": n, "enabled": not pending} for n in ("Copy", "Temporary", "Edit", "Delete")
            ],
            "workflowActions": [
                {
                    "enabled": may_act,
                    "name": action,
                    "taskKey": limit.task,
                    "taskInputFields": [
                        {
                            "label": "Comment",
                            "taskVariable": COMMENT_VARIABLE,
                            "inputType": "TEXT",
                            "required": False,
                            "hidden": False,
                            "options": [],
                        }
                    ],
                }
                for action in self._task_actions(limit)
            ],
            "temporaryLimits": [self._limit_json(c, user) for c in children],
            "workflowVariablesByName": {COMMENT_VARIABLE: {"type": "TEXT", "value": limit.comment}},
            "alive": limit.status not in _INACTIVE,
        }
        if limit.source_limit_id:
            body["sourceLimitId"] = limit.source_limit_id
        if limit.draft is not None:
            body["draftLimit"] = {"endDate": limit.end, "limitValue": limit.draft}
            body["draftLimitStatus"] = "PENDING"
        return body

    def _structure_json(self, s: Structure) -> dict[str, Any]:
        return {
            "structureId": s.structure_id,
            "serverName": s.server,
            "cubeName": s.cube,
            "name": s.name,
            "group": s.group,
            "measureName": s.measure,
            "pollingFrequency": s.polling,
            "scopeKeys": [s.level],
            "kpiType": s.kpi_type,
            "absoluteValueIndicator": False,
            "warningThreshold": s.warning_threshold,
            "utilizationDashboardID": f"dash-{s.structure_id[:8]}",
            "formActions": [
                {"name": n, "enabled": True} for n in ("Add", "Edit", "Delete", "Evaluate")
            ],
            # Variables as the UI's forms read them (limits.types.js: a workflow variable
            # definition, i.e. name, type, options, required, defaultValue, plus its value).
            "workflowsByBusinessFunction": {
                "Limit Changes": {
                    "workflowName": s.workflow,
                    "variablesByName": {
                        name: {
                            "name": name,
                            "type": "SELECT",
                            "options": list(ROLE_OPTIONS),
                            "required": True,
                            "defaultValue": "ROLE_MANAGERS",
                            "value": role,
                        }
                        for name, role in s.approvers.items()
                    },
                },
                "Incidents": {"workflowName": "incident-review", "variablesByName": {}},
            },
        }

    def _incident(
        self,
        limit: Limit,
        s: Structure,
        *,
        as_of: str,
        utilization: float,
        kind: str,
        at: str,
        status: str,
    ) -> dict[str, Any]:
        number = len(self.incidents) + 1
        incident_id = f"INC-{number:04d}"
        actions = (
            []
            if status != "OPEN"
            else [
                {
                    "enabled": True,
                    "name": INFERRED_ACTION_ACKNOWLEDGE,
                    "taskKey": "review",
                    "taskInputFields": [
                        {
                            "label": "Comment",
                            "taskVariable": "Comment",
                            "inputType": "TEXT",
                            "required": True,
                            "hidden": False,
                            "options": [],
                        }
                    ],
                }
            ]
        )
        dimension = s.level.split("@")[0]
        return {
            "incidentId": incident_id,
            "incidentType": kind,
            "asOfDate": as_of,
            "evaluationTimestamp": at,
            "evaluationDate": at[:10],
            "breachCount": 1,
            "serverName": s.server,
            "cubeName": s.cube,
            "sessionId": f"{s.server}-1",
            "structureId": s.structure_id,
            "limitStructureName": s.name,
            "limitId": limit.limit_id,
            "limitType": limit.limit_type,
            "limitValue": limit.value,
            "measureValue": round(limit.value * utilization, 2),
            "utilization": round(utilization, 4),
            "location": f"[{dimension}].[{dimension}].[AllMember].[{limit.member}]",
            "scope": {s.level: {"values": [{s.level: limit.member}], "scopeType": "EQUALS"}},
            "status": status,
            "comment": "auto",
            "workflow": "incident-review",
            "workflowParameters": "{}",
            "utilizationDashboardID": f"dash-{s.structure_id[:8]}",
            "workflowActions": actions,
            "workflowVariables": [
                {"name": "Comment", "type": "TEXT", "options": [], "required": False, "value": ""}
            ],
            "latestHistory": {
                "historyRecord": {
                    "key": incident_id,
                    "timestamp": at,
                    "status": status,
                    "user": "admin",
                    "action": "CREATE",
                },
                "workflowVariables": {},
            },
        }

    # -- seed --------------------------------------------------------------------------------------
    def _seed(self) -> None:
        for name in ("atoti", "risk-eu"):
            self.servers[name] = {
                "serverName": name,
                "serverVersion": "6.2.2",
                "atotiBaseUrl": f"http://{name}.internal:1337",
            }
        four = {"Approvers": "ROLE_MANAGERS"}
        six = {
            "First Approvers": "ROLE_MANAGERS",
            "Second Approvers": "ROLE_MANAGERS",
            "Approvers": "ROLE_MANAGERS",
        }
        rows = [
            # name, server, cube, measure, kpi, warning, level, workflow, group, polling, roles
            (
                "Car price cap",
                "atoti",
                "Cars_Cube",
                "Price.SUM",
                "Greater Than",
                0.9,
                "CarName@CarName@CarName",
                FOUR_EYES,
                "Pricing",
                "EOD",
                four,
            ),
            (
                "Desk VaR",
                "risk-eu",
                "Risk",
                "VaR.99",
                "Greater Than",
                0.85,
                "Desk@Desk@Desk",
                SIX_EYES,
                "Market risk",
                "EOD",
                six,
            ),
            (
                "Book notional",
                "risk-eu",
                "Risk",
                "Notional.SUM",
                "Greater Than",
                0.9,
                "Book@Book@Book",
                FOUR_EYES,
                "Market risk",
                "INTRADAY",
                four,
            ),
            (
                "Counterparty exposure",
                "risk-eu",
                "Risk",
                "Exposure.SUM",
                "Greater Than",
                0.8,
                "Counterparty@Counterparty@Counterparty",
                FOUR_EYES,
                "Credit risk",
                "INTRADAY",
                four,
            ),
            (
                "Daily PnL floor",
                "risk-eu",
                "PnL",
                "PnL.SUM",
                "Less Than",
                0.9,
                "Desk@Desk@Desk",
                FOUR_EYES,
                "PnL",
                "EOD",
                four,
            ),
        ]
        ids = []
        for name, server, cube, measure, kpi, warn, level, wf, group, polling, roles in rows:
            sid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"limits-emulator/{name}"))
            ids.append(sid)
            self.structures[sid] = Structure(
                sid, name, server, cube, measure, kpi, warn, level, wf, group, polling, dict(roles)
            )
        cars, var, books, cpty, pnl = ids
        seed = [
            (cars, "Civic", 40_000, "APPROVED"),
            (cars, "Model 3", 55_000, "APPROVED"),
            (cars, "Golf", 38_000, "APPROVED"),
            (cars, "Corolla", 35_000, "PENDING"),
            (cars, "Clio", 30_000, "EXPIRED"),
            (var, "Bonds", 2_500_000, "APPROVED"),
            (var, "FX", 1_800_000, "APPROVED"),
            (var, "Equities", 3_000_000, "APPROVED"),
            (var, "Rates", 2_200_000, "APPROVED"),
            (var, "Commodities", 1_200_000, "PENDING"),
            *[(books, f"B-00{n}", 50_000_000, "APPROVED") for n in (1, 2, 4, 5, 6)],
            (books, "B-003", 50_000_000, "PENDING_DELETION"),
            (books, "B-007", 20_000_000, "PENDING"),
            (cpty, "ACME Corp", 10_000_000, "APPROVED"),
            (cpty, "Globex", 8_000_000, "APPROVED"),
            (cpty, "Initech", 5_000_000, "APPROVED"),
            (cpty, "Stark Industries", 12_000_000, "APPROVED"),
            (cpty, "Umbrella", 6_000_000, "PENDING"),
            (cpty, "Wayne Enterprises", 9_000_000, INFERRED_REJECTED_STATUS),
            (pnl, "Bonds", -500_000, "APPROVED"),
            (pnl, "FX", -300_000, "APPROVED"),
            (pnl, "Equities", -800_000, "APPROVED"),
            (pnl, "Rates", -400_000, "DELETED"),
        ]
        comments = {
            "PENDING": "new limit requested by bob",
            "PENDING_DELETION": "book closed; please remove",
        }
        for n, (sid, member, value, status) in enumerate(seed, start=1):
            limit = Limit(
                f"L-{n}", sid, member, float(value), status, comment=comments.get(status, "initial")
            )
            self._seed_history(limit, status)
            if status == "PENDING":
                limit.task = "firstApproval"
            elif status == "PENDING_DELETION":
                limit.task = _DELETION_TASK
            if status == "EXPIRED":
                limit.start, limit.end = "2025-01-01", "2025-12-31"
            self.limits[limit.limit_id] = limit
        # A temporary increase on the Equities VaR limit, in force for January.
        parent = next(
            lim
            for lim in self.limits.values()
            if lim.structure_id == var and lim.member == "Equities"
        )
        temporary = Limit(
            f"L-{len(self.limits) + 1}",
            var,
            "Equities",
            3_500_000,
            "APPROVED",
            limit_type="TEMPORARY",
            end="2026-01-31",
            comment="month-end",
            source_limit_id=parent.limit_id,
        )
        self.limits[temporary.limit_id] = temporary
        self._seed_incidents()

    def _seed_history(self, limit: Limit, status: str) -> None:
        """How a seeded limit came to be: created (bob asks for the pending ones), approved
        by manager1 unless still pending, then a deletion asked for where one is pending."""
        requester = "bob" if status == "PENDING" else "user1"
        saved = limit.status
        limit.status = "PENDING"
        self._record(
            limit,
            task_name=None,
            action=None,
            user=requester,
            activity="startEvent",
            before=None,
            variables={COMMENT_VARIABLE: limit.comment},
        )
        if status != "PENDING":
            limit.status = "APPROVED"
            self._record(
                limit,
                task_name="firstApproval",
                action=INFERRED_ACTION_APPROVE,
                user="manager1",
                activity="userTask",
                before="PENDING",
                variables={},
            )
        if status not in ("PENDING", "APPROVED"):
            limit.status = saved
            self._record(
                limit,
                task_name=None,
                action=None,
                user="user1",
                activity="startEvent",
                before="APPROVED",
                variables={},
            )
        limit.status = saved

    def _seed_incidents(self) -> None:
        """Intraday structures are evaluated every half hour, the others once at end of day, so
        a busy day piles up incidents on the intraday limits."""
        evaluable = [lim for lim in self.limits.values() if lim.status == "APPROVED"]
        eod = [lim for lim in evaluable if self.structures[lim.structure_id].polling == "EOD"]
        intraday = [lim for lim in evaluable if lim not in eod]
        slots = [f"{8 + h // 2:02d}:{30 * (h % 2):02d}" for h in range(21)]
        order = [(lim, "18:05") for lim in eod] + [(lim, t) for t in slots for lim in intraday]
        for as_of in AS_OF_DATES:
            rng = random.Random(f"limits-emulator/{as_of}")
            for n, (limit, at) in enumerate(order[: _INCIDENTS_PER_DATE[as_of]]):
                structure = self.structures[limit.structure_id]
                utilization = rng.uniform(structure.warning_threshold + 0.01, 1.2)
                status = (
                    "CLOSED" if as_of != LATEST_DATE else "ACKNOWLEDGED" if n % 4 == 3 else "OPEN"
                )
                self.incidents.append(
                    self._incident(
                        limit,
                        structure,
                        as_of=as_of,
                        utilization=utilization,
                        kind=_incident_type(utilization, structure.warning_threshold),
                        at=f"{as_of}T{at}:{n % 60:02d}.{n * 37 % 1000:03d}",
                        status=status,
                    )
                )


def _incident_type(utilization: float, warning_threshold: float) -> str:
    # Utilisation is measure / limit, so it reads the same for "Greater Than" limits and for
    # negative "Less Than" floors. The exact KPI formula is [INF] in the spec.
    if utilization >= 1:
        return "Breach"
    if utilization >= warning_threshold:
        return "Warning"
    return "Pass"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _multipart_json(request: Request, body: bytes, part_name: str) -> dict[str, Any]:
    """The JSON part `part_name` of a multipart/form-data body (Spring's @RequestPart)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise _Problem(415, f"Content-Type '{content_type}' is not supported")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == part_name:
            # Spring reads a @RequestPart DTO only from a part typed as JSON (the UI sends a
            # Blob of type application/json); a part without a type is octet-stream.
            if part.get_content_type() != "application/json":
                raise _Problem(
                    415,
                    f"Content-Type '{part.get_content_type()}' is not "
                    f"supported for part {part_name}",
                )
            payload = part.get_payload(decode=True) or b""
            try:
                value = json.loads(payload)
            except ValueError:
                raise _Problem(400, f"Part {part_name} is not JSON") from None
            if not isinstance(value, dict):
                raise _Problem(400, f"Part {part_name} must be a JSON object")
            return value
    raise _Problem(400, f"Required part '{part_name}' is not present.")
