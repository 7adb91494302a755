"""Async client of an Atoti Limits server (REST v2), written from the protocol spec.

Every call runs with the caller's own HTTP Basic credentials, so the Limits server decides what
each person may see and approve. Failures arrive as `bot.errors` through `PlatformHTTP`.

A stored Limits secret is a JSON string `{"username": ..., "password": ...}` (see
`encode_secret`): self-contained, so the credential still works if the displayed account name
changes. It is parsed per call and never put into an error text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bot import errors
from bot.platforms.answers import checked
from bot.platforms.base import Credential
from bot.platforms.http import PlatformHTTP
from bot.platforms.limits.models import (
    Breaches,
    ConnectedServer,
    HistoryEntry,
    HistoryWire,
    Incident,
    IncidentPageWire,
    IncidentWire,
    LimitChange,
    LimitsStatus,
    LimitView,
    LimitWire,
    PendingLimit,
    StructureInfo,
    StructureSummaryWire,
    StructureWire,
    TaskOutcome,
    WorkflowAction,
    WorkflowActionWire,
)

# ---- Known paths (protocol spec §3.0, from the official UI and the plugin jar) -------------------
REST = "/limits/rest/v2"
ACTIVEVIAM = "/activeviam/limits/rest/v2"
PING = f"{ACTIVEVIAM}/startup"
SETTINGS = f"{REST}/settings"
AS_OF_DATE = f"{REST}/limitDefinition/asOfDate"
STRUCTURES = f"{REST}/limitDefinition/inventory-structures/filter"
STRUCTURE = f"{REST}/limitDefinition/structure/get/{{structure_id}}"
LIMIT = f"{REST}/limitDefinition/limits/get/{{limit_id}}"
INCIDENT_DATES = f"{REST}/incidents/as-of-dates"
INCIDENTS = f"{REST}/incidents/filter-with-variables"
EXECUTE_TASK_ACTION = f"{ACTIVEVIAM}/workflow-service/execute-task-action"
TASK_ACTION_PART = "workflowTaskActionExecutionDTO"
HISTORY = f"{ACTIVEVIAM}/workflow-service/workflow-history/{{audit_type}}/{{key}}"

VERSIONS = "/versions/rest"  # public: the UI fetches it with no credentials (index.tsx)

# ---- INFERRED: what neither the spec nor the official UI settles. Each guess names the UI source
# ---- file (in the source maps of PyPI atoti-server-limits 6.2.2, under
# ---- @activeviam/limits-sdk/dist/ unless said otherwise) it was read against. Correct them here
# ---- (and in emulators/limits.py's INFERRED block) once checked against a real server. ----------
# Authentication is HTTP Basic (§1.3; the UI reuses its Atoti client's requestInit).
# A Limit names its structure (as SimpleLimit in the plugin jar); limits.types.js has no such
# field on a limit, only on a limit evaluation.
INFERRED_LIMIT_STRUCTURE_FIELD = "structureId"
# "Connected Atoti servers": no REST answer lists them. settings.asOfDateDimensions (read in
# hooks/useLimitsServerSettings.js) only configures the as-of-date level per server and cube
# ("*" for every cube), so a server is taken as connected when it has such an entry.
INFERRED_CONNECTED_SERVERS = "asOfDateDimensions"
INFERRED_PENDING_STATUSES = ("PENDING", "PENDING_DELETION")  # documented defaults, configurable
# Workflow action names (matched ignoring case): the UI shows whatever `workflowActions[].name`
# the server offers (components/LimitWorkflowActionDrawer.js) and never names one itself.
INFERRED_APPROVE_ACTION = "Approve"
INFERRED_REJECT_ACTION = "Reject"
# `workflow-history/{auditType}/{auditKey}`: hooks/useGetLimitWorkflowAuditHistory.js takes the
# audit type from its caller; "LIMIT" is the workflowType the UI sends for limits.
INFERRED_HISTORY_AUDIT_TYPE = "LIMIT"
INFERRED_TASK_GONE_IS_CONFLICT = True  # execute on a finished task: 404 -> Conflict
# How far back `/limits limit` looks for the limit's latest incident: the UI filters incidents
# by as-of date and type (hooks/useGetFilteredLimitEvaluations.js), never by limit id.
INFERRED_LATEST_INCIDENT_DATES = 5
# --------------------------------------------------------------------------------------------------
# A Blob appended to FormData without a file name is sent as "blob" by browsers
# (bas-workflow-actions/dist/getMultipartWorkflowActionPayload.js appends the DTO that way).
TASK_ACTION_PART_FILENAME = "blob"

INCIDENT_KINDS = ("Breach", "Warning")
FETCH_CONCURRENCY = 8  # structures fetched at once by `pending`

M = TypeVar("M", bound=BaseModel)


def encode_secret(username: str, password: str) -> str:
    """The stored secret of a Limits credential."""
    return json.dumps({"username": username, "password": password})


def _auth(credential: Credential) -> httpx.BasicAuth:
    try:
        parts = json.loads(credential.secret)
        return httpx.BasicAuth(str(parts["username"]), str(parts["password"]))
    except (ValueError, TypeError, KeyError):
        # Never echo the secret: say only that it is unusable.
        raise errors.Unauthorized(
            "the stored credential is unreadable; link the account again",
            platform=credential.platform,
            instance=credential.instance,
        ) from None


def limits_reason(response: httpx.Response) -> str:
    """The reason from a ProblemDetail (`detail`, `title`) or a Spring Boot default error body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("detail", "message", "title", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:300]
    if response.status_code == 403:
        return "not authorized"
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


@checked
class LimitsClient:
    """One Limits instance. Methods take the caller's `Credential`, everything else by keyword."""

    def __init__(self, http: PlatformHTTP) -> None:
        self.http = http

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- reads ----------------------------------------------------------------------------------
    async def ping(self, credential: Credential | None = None) -> datetime:
        """When the server started (the startup ping; it changes when Limits restarts)."""
        auth = _auth(credential) if credential else None
        started = await self.http.json("GET", PING, auth=auth)
        if not isinstance(started, int | float):
            raise self.http.error(errors.BadAnswer, "its startup ping is not a number")
        return datetime.fromtimestamp(started / 1000, UTC)

    async def as_of_date(self, credential: Credential) -> str:
        """The server's current as-of date; also the cheapest authenticated call (verify)."""
        return str(await self.http.json("GET", AS_OF_DATE, auth=_auth(credential)))

    async def status(self, credential: Credential) -> LimitsStatus:
        started, as_of, settings, structures = await asyncio.gather(
            self.ping(credential),
            self.as_of_date(credential),
            self._get(credential, SETTINGS),
            self._structures(credential),
        )
        connected = settings.get(INFERRED_CONNECTED_SERVERS) if isinstance(settings, dict) else {}
        connected = connected if isinstance(connected, dict) else {}
        names = list(connected) + sorted({s.server_name for s in structures} - set(connected))
        servers = tuple(
            ConnectedServer(
                name=name,
                connected=name in connected,
                cubes=tuple(sorted({s.cube_name for s in structures if s.server_name == name})),
                structures=sum(1 for s in structures if s.server_name == name),
                pending_approvals=sum(
                    s.number_of_pending_approvals for s in structures if s.server_name == name
                ),
            )
            for name in names
        )
        return LimitsStatus(started_at=started, as_of_date=as_of, servers=servers)

    async def breaches(
        self,
        credential: Credential,
        *,
        as_of: date | str | None = None,
        kinds: tuple[str, ...] = INCIDENT_KINDS,
    ) -> Breaches:
        """Breach and Warning incidents of one as-of date (default: the latest with incidents);
        `kinds` narrows them at the server (a subscription's `kind=` filter)."""
        dates_raw, structures = await asyncio.gather(
            self._get(credential, INCIDENT_DATES), self._structures(credential)
        )
        dates = tuple(sorted(str(d) for d in dates_raw or []))
        day = str(as_of) if as_of is not None else (dates[-1] if dates else None)
        if day is None:
            return Breaches(as_of=None, incidents=(), as_of_dates=dates)
        body = {
            "incidentConditions": [
                {"fieldName": "As Of Date", "possibleValues": [day]},
                {"fieldName": "Incident Type", "possibleValues": list(kinds)},
            ]
        }
        page = self._parse(
            IncidentPageWire,
            await self.http.json("POST", INCIDENTS, json=body, auth=_auth(credential)) or {},
        )
        measures = {s.structure_id: s.measure_name for s in structures}
        incidents = [_incident(i, measures) for i in page.incidents if i.incident_type in kinds]
        incidents.sort(key=lambda i: (i.kind != "Breach", -(i.utilization or 0), i.incident_id))
        return Breaches(as_of=day, incidents=tuple(incidents), as_of_dates=dates)

    async def daily_counts(
        self, credential: Credential, *, last: date, days: int = 14
    ) -> list[tuple[str, int, int]]:
        """(as-of date, breaches, warnings) for each of the `days` days ending at `last`,
        oldest first, days without incidents included: one call for the dates, one for the
        incidents of those that have some (asked as the UI asks, by date and type)."""
        window = [(last - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
        dates = {str(d) for d in await self._get(credential, INCIDENT_DATES) or []}
        wanted = [d for d in window if d in dates]
        counts = {d: [0, 0] for d in window}
        if wanted:
            body = {
                "incidentConditions": [
                    {"fieldName": "As Of Date", "possibleValues": wanted},
                    {"fieldName": "Incident Type", "possibleValues": list(INCIDENT_KINDS)},
                ]
            }
            page = self._parse(
                IncidentPageWire,
                await self.http.json("POST", INCIDENTS, json=body, auth=_auth(credential)) or {},
            )
            for i in page.incidents:
                if i.as_of_date in counts and i.incident_type in INCIDENT_KINDS:
                    counts[i.as_of_date][INCIDENT_KINDS.index(i.incident_type)] += 1
        return [(d, b, w) for d, (b, w) in counts.items()]

    async def limit(self, credential: Credential, *, limit_id: str) -> LimitView:
        """A limit with its structure and its latest Breach/Warning incident."""
        raw = await self._get(credential, LIMIT.format(limit_id=_segment(limit_id)))
        wire = self._parse(LimitWire, raw)
        structure_id = raw.get(INFERRED_LIMIT_STRUCTURE_FIELD) if isinstance(raw, dict) else None
        structure: StructureWire | None
        if structure_id:
            structure, incidents, history = await asyncio.gather(
                self._structure(credential, structure_id),
                self._incidents_of(credential, limit_id),
                self._history_or_none(credential, limit_id),
            )
        else:
            incidents, history = await asyncio.gather(
                self._incidents_of(credential, limit_id),
                self._history_or_none(credential, limit_id),
            )
            known = next((i.structure_id for i in incidents or [] if i.structure_id), None)
            structure = await self._structure(credential, known) if known else None
        measures = {structure.structure_id: structure.measure_name} if structure else {}
        latest = max(
            incidents or [],
            key=lambda i: (i.as_of_date, i.evaluation_timestamp or ""),
            default=None,
        )
        return LimitView(
            limit_id=wire.limit_id,
            status=wire.limit_status,
            limit_type=wire.limit_type,
            value=wire.limit_value,
            start=wire.start_date,
            end=wire.end_date,
            scope=describe_scope(wire.scope),
            alive=wire.alive,
            comment=_comment(wire),
            actions=_actions(wire),
            structure=_structure_info(structure) if structure else None,
            latest=_incident(latest, measures) if latest else None,
            temporary=tuple(t.limit_id for t in wire.temporary_limits),
            incidents_known=incidents is not None,
            history=tuple(history) if history is not None else None,
        )

    async def pending(self, credential: Credential) -> list[PendingLimit]:
        """Limits waiting for a workflow decision, from the structures that report some."""
        summaries = [
            s for s in await self._structures(credential) if s.number_of_pending_approvals > 0
        ]
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def fetch(structure_id: str) -> StructureWire:
            async with gate:
                return await self._structure(credential, structure_id)

        structures = await asyncio.gather(*(fetch(s.structure_id) for s in summaries))
        pending = []
        for structure in structures:
            for limit in _flatten(structure.limits):
                if _is_pending(limit):
                    pending.append(
                        PendingLimit(
                            limit_id=limit.limit_id,
                            status=limit.draft_limit_status
                            if limit.draft_limit
                            else limit.limit_status,
                            value=limit.limit_value,
                            scope=describe_scope(limit.scope),
                            structure=structure.name,
                            structure_id=structure.structure_id,
                            server=structure.server_name,
                            measure=structure.measure_name,
                            comment=_comment(limit),
                            actions=_actions(limit),
                            proposed=_draft_value(limit),
                            end=limit.end_date,
                        )
                    )
        return pending

    async def change(self, credential: Credential, *, limit_id: str) -> LimitChange:
        """What approving the limit's open task would change, read now (a confirm dialog's
        figures, checked at the click)."""
        wire = self._parse(
            LimitWire, await self._get(credential, LIMIT.format(limit_id=_segment(limit_id)))
        )
        return LimitChange(
            limit_id=wire.limit_id,
            status=(wire.draft_limit_status if wire.draft_limit else wire.limit_status) or "",
            value=wire.limit_value,
            proposed=_draft_value(wire),
            pending=_is_pending(wire),
        )

    async def history(self, credential: Credential, *, limit_id: str) -> list[HistoryEntry]:
        """The workflow history of a limit, oldest first: who did what, when, and the values
        they gave (a comment...)."""
        path = HISTORY.format(audit_type=INFERRED_HISTORY_AUDIT_TYPE, key=_segment(limit_id))
        entries = [
            HistoryEntry(
                task=h.task_name or h.action,
                action=h.action,
                status=h.status,
                user=h.user,
                timestamp=h.timestamp,
                activity=h.activity_type,
                variables=tuple(
                    (name, str(v.value))
                    for name, v in h.variables.items()
                    if v.value not in (None, "")
                ),
            )
            for h in self._parse_list(HistoryWire, await self._get(credential, path))
        ]
        return sorted(entries, key=lambda e: e.timestamp)

    async def _history_or_none(
        self, credential: Credential, limit_id: str
    ) -> list[HistoryEntry] | None:
        """The history for `/limits limit`, or None when the server cannot give it: the limit
        itself is still worth showing."""
        try:
            return await self.history(credential, limit_id=limit_id)
        except (errors.Rejected, errors.Unavailable, errors.Forbidden, errors.NotFound):
            return None

    async def versions(self) -> str | None:
        """The server's version from the public `/versions/rest` (no credentials needed)."""
        body = await self.http.json("GET", VERSIONS)
        version = body.get("serverVersion") if isinstance(body, dict) else None
        return str(version) if version else None

    # -- workflow actions -------------------------------------------------------------------------
    async def approve(
        self,
        credential: Credential,
        *,
        limit_id: str,
        comment: str | None = None,
        task_key: str | None = None,
    ) -> TaskOutcome:
        """Take the limit's open Approve action. `task_key` (from the button) makes a click on a
        message about an earlier step fail with Conflict instead of approving the next step."""
        return await self._act(
            credential,
            limit_id=limit_id,
            action=INFERRED_APPROVE_ACTION,
            comment=comment,
            task_key=task_key,
        )

    async def reject(
        self,
        credential: Credential,
        *,
        limit_id: str,
        comment: str | None = None,
        task_key: str | None = None,
    ) -> TaskOutcome:
        return await self._act(
            credential,
            limit_id=limit_id,
            action=INFERRED_REJECT_ACTION,
            comment=comment,
            task_key=task_key,
        )

    async def _act(
        self,
        credential: Credential,
        *,
        limit_id: str,
        action: str,
        comment: str | None,
        task_key: str | None,
    ) -> TaskOutcome:
        before = self._parse(
            LimitWire, await self._get(credential, LIMIT.format(limit_id=_segment(limit_id)))
        )
        offered = next(
            (a for a in before.workflow_actions if a.name.casefold() == action.casefold()), None
        )
        if offered is not None and task_key and offered.task_key != task_key:
            raise self.http.error(
                errors.Conflict,
                f"limit {limit_id} has moved on from {task_key} to {offered.task_key}",
                409,
            )
        if offered is None and not _is_pending(before):
            raise self.http.error(
                errors.Conflict,
                f"limit {limit_id} is already handled (status {before.limit_status})",
                409,
            )
        if offered is None:  # pending, but this user is offered no such action
            raise self.http.error(
                errors.Forbidden, f"the server offers you no {action} on limit {limit_id}", 403
            )
        dto = {
            "taskKey": offered.task_key,
            "actionName": offered.name,
            "workflowType": "LIMIT",
            "keys": [limit_id],
            "taskVariables": task_variables(offered, comment),
        }
        part = (TASK_ACTION_PART_FILENAME, json.dumps(dto).encode(), "application/json")
        try:
            await self.http.request(
                "POST", EXECUTE_TASK_ACTION, auth=_auth(credential), files={TASK_ACTION_PART: part}
            )
        except errors.NotFound as exc:
            if not INFERRED_TASK_GONE_IS_CONFLICT:
                raise
            raise self.http.error(errors.Conflict, exc.detail, exc.status) from None
        try:
            after = self._parse(
                LimitWire, await self._get(credential, LIMIT.format(limit_id=_segment(limit_id)))
            )
        except errors.NotFound:  # an approved deletion may remove the limit outright
            return TaskOutcome(
                limit_id=limit_id,
                action=offered.name,
                task_key=offered.task_key,
                status_before=before.limit_status,
                status="",
                still_pending=False,
            )
        return TaskOutcome(
            limit_id=limit_id,
            action=offered.name,
            task_key=offered.task_key,
            status_before=before.limit_status,
            status=after.limit_status,
            still_pending=_is_pending(after) and bool(after.workflow_actions),
        )

    # -- plumbing ----------------------------------------------------------------------------------
    async def _get(self, credential: Credential, path: str, **kwargs: Any) -> Any:
        return await self.http.json("GET", path, auth=_auth(credential), **kwargs)

    async def _structures(self, credential: Credential) -> list[StructureSummaryWire]:
        rows = await self.http.json("POST", STRUCTURES, json={}, auth=_auth(credential))
        return self._parse_list(StructureSummaryWire, rows)

    async def _structure(self, credential: Credential, structure_id: str) -> StructureWire:
        path = STRUCTURE.format(structure_id=_segment(structure_id))
        return self._parse(
            StructureWire, await self._get(credential, path, params={"isLiveOnly": "false"})
        )

    async def _incidents_of(
        self, credential: Credential, limit_id: str
    ) -> list[IncidentWire] | None:
        """The limit's Breach/Warning incidents of the latest as-of dates, asked as the UI asks
        (by as-of date and type, with `filter-with-variables`) and kept by limit id here.
        None when the server could not answer: the limit is shown without them."""
        try:
            dates = sorted(str(d) for d in await self._get(credential, INCIDENT_DATES) or [])
            if not dates:
                return []
            body = {
                "incidentConditions": [
                    {
                        "fieldName": "As Of Date",
                        "possibleValues": dates[-INFERRED_LATEST_INCIDENT_DATES:],
                    },
                    {"fieldName": "Incident Type", "possibleValues": list(INCIDENT_KINDS)},
                ]
            }
            page = self._parse(
                IncidentPageWire,
                await self.http.json("POST", INCIDENTS, json=body, auth=_auth(credential)) or {},
            )
        except (errors.Rejected, errors.Unavailable):
            return None
        return [i for i in page.incidents if i.limit_id == limit_id]

    def _parse(self, model: type[M], data: Any) -> M:
        """A wire model, or BadAnswer: a body of the wrong shape is the server's fault."""
        try:
            return model.model_validate(data)
        except ValidationError:
            raise self.http.error(
                errors.BadAnswer, f"an unexpected {model.__name__} shape"
            ) from None

    def _parse_list(self, model: type[M], data: Any) -> list[M]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise self.http.error(errors.BadAnswer, f"{model.__name__}s not as a list")
        return [self._parse(model, item) for item in data]


# -- pure helpers ----------------------------------------------------------------------------------
def describe_scope(scope: dict[str, Any]) -> str:
    """`{"Desk@Desk@Desk": {"values": [{"Desk@Desk@Desk": "Bonds"}], "scopeType": "EQUALS"}}`
    -> "Desk = Bonds". Also reads the 1.x form `{"Desk": ["Bonds", "FX"]}`."""
    parts = []
    for level, spec in scope.items():
        name = level.split("@")[-1]
        if isinstance(spec, list):
            parts.append(f"{name} = {', '.join(map(str, spec))}")
            continue
        if not isinstance(spec, dict):
            continue
        members = [
            str(v.get(level, next(iter(v.values()), ""))) if isinstance(v, dict) else str(v)
            for v in spec.get("values") or []
        ]
        op = {
            "EQUALS": "=",
            "NOT EQUALS": "≠",
            "TOTAL EXCEPT": "total except",
            "TOTAL EQUALS": "total of",
        }.get(spec.get("scopeType", "EQUALS"), "=")
        parts.append(f"{name} {op} {', '.join(members)}".rstrip())
    return "; ".join(parts) or "total"


def _flatten(limits: Iterable[LimitWire]) -> Iterable[LimitWire]:
    for limit in limits:
        yield limit
        yield from _flatten(limit.temporary_limits)


def _is_pending(limit: LimitWire) -> bool:
    return limit.limit_status in INFERRED_PENDING_STATUSES or (
        limit.draft_limit is not None and limit.draft_limit_status in INFERRED_PENDING_STATUSES
    )


def _draft_value(limit: LimitWire) -> float | None:
    """The value a limit's pending draft would give it (the spec's `draftLimit.limitValue`)."""
    value = (limit.draft_limit or {}).get("limitValue")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _actions(limit: LimitWire) -> tuple[WorkflowAction, ...]:
    return tuple(
        WorkflowAction(name=a.name, task_key=a.task_key, enabled=a.enabled)
        for a in limit.workflow_actions
    )


def task_variables(action: WorkflowActionWire, comment: str | None) -> dict[str, Any]:
    """The task's variables, named by the input fields the server offers with the action (as
    the UI's form does): the comment goes to the first visible text field; other required
    fields take their default. No text field: the comment is not sent."""
    out: dict[str, Any] = {}
    text_field = next(
        (f for f in action.task_input_fields if f.input_type == "TEXT" and not f.hidden), None
    )
    for f in action.task_input_fields:
        if f is text_field and comment:
            out[f.task_variable] = comment
        elif f.required and f.default_value not in (None, ""):
            out[f.task_variable] = f.default_value
    return out


def _comment(limit: LimitWire) -> str:
    """The limit's comment: its text workflow variable with a value, one named like a
    comment first (the variable names are the workflow's own)."""
    texts = [
        (name, v["value"])
        for name, v in limit.workflow_variables_by_name.items()
        if isinstance(v, dict) and v.get("type", "TEXT") == "TEXT" and v.get("value")
    ]
    texts.sort(key=lambda item: "comment" not in item[0].casefold())
    return str(texts[0][1]) if texts else ""


def _incident(wire: IncidentWire, measures: dict[str, str]) -> Incident:
    try:
        utilization = float(wire.utilization) if wire.utilization is not None else None
    except ValueError:
        utilization = None
    return Incident(
        incident_id=wire.incident_id,
        kind=wire.incident_type,
        as_of=wire.as_of_date,
        limit_id=wire.limit_id,
        structure=wire.limit_structure_name,
        measure=measures.get(wire.structure_id or "", ""),
        limit_value=wire.limit_value,
        measure_value=wire.measure_value,
        utilization=utilization,
        location=wire.location,
        status=wire.status,
        server=wire.server_name,
        evaluated_at=wire.evaluation_timestamp,
    )


def _structure_info(s: StructureWire) -> StructureInfo:
    return StructureInfo(
        structure_id=s.structure_id,
        name=s.name,
        server=s.server_name,
        cube=s.cube_name,
        measure=s.measure_name,
        kpi_type=s.kpi_type,
        warning_threshold=s.warning_threshold,
        group=s.group,
    )


def _segment(value: str) -> str:
    """One path segment: ids come from people, so no slash or dot segment may change the path."""
    if not value or value.strip(".") == "":
        raise errors.UserError(f"`{value}` is not a limit id (e.g. `L-17`).")
    return quote(value, safe="")
