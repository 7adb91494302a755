"""Atoti Limits: the wire shapes the client reads (pydantic) and what handlers get (dataclasses).

Wire models follow the official UI's usage (protocol spec §3); they ignore fields the bot does
not use, so a newer server that adds fields still parses. Handlers never see a wire model: the
client turns them into the frozen dataclasses at the bottom of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


# -- wire shapes ----------------------------------------------------------------------------------
class TaskInputFieldWire(_Wire):
    """One input the server offers with a workflow action (bas-workflow-actions
    BasTaskInputFieldSchema): the UI names the task variable after `taskVariable`."""

    label: str = ""
    task_variable: str
    input_type: str = "TEXT"  # SELECT | TEXT | LINK | CHECKBOX | ATTACHMENTS
    required: bool = False
    hidden: bool = False
    options: list[str] = Field(default_factory=list)
    default_value: str | bool | None = None


class WorkflowActionWire(_Wire):
    name: str
    task_key: str = ""
    enabled: bool = True
    task_input_fields: list[TaskInputFieldWire] = Field(default_factory=list)


class LimitWire(_Wire):
    limit_id: str
    limit_type: str = ""
    limit_value: float | None = None
    start_date: str | None = None
    end_date: str | None = None
    limit_status: str = ""
    scope: dict[str, Any] = Field(default_factory=dict)
    workflow_actions: list[WorkflowActionWire] = Field(default_factory=list)
    temporary_limits: list[LimitWire] = Field(default_factory=list)
    source_limit_id: str | None = None
    draft_limit: dict[str, Any] | None = None
    draft_limit_status: str | None = None
    workflow_variables_by_name: dict[str, Any] = Field(default_factory=dict)
    alive: bool = True
    # The structure id is not in the spec's Limit field list: the client reads it from the raw
    # body under client.INFERRED_LIMIT_STRUCTURE_FIELD, so the guess lives in one place.


class StructureSummaryWire(_Wire):
    """One row of `inventory-structures/filter`."""

    structure_id: str
    server_name: str = ""
    cube_name: str = ""
    measure_name: str = ""
    name: str = ""
    group: str | None = None
    number_of_pending_approvals: int = 0


class StructureWire(StructureSummaryWire):
    """`structure/get/{id}`: the summary fields plus thresholds and the limits."""

    kpi_type: str | None = None
    warning_threshold: float | None = None
    polling_frequency: str | None = None
    limits: list[LimitWire] = Field(default_factory=list)


class IncidentWire(_Wire):
    incident_id: str
    incident_type: str
    as_of_date: str
    evaluation_timestamp: str | None = None
    server_name: str = ""
    cube_name: str = ""
    structure_id: str | None = None
    limit_structure_name: str = ""
    limit_id: str = ""
    limit_value: float | None = None
    measure_value: float | None = None
    utilization: float | str | None = None  # the UI accepts a number or a string
    location: str = ""
    status: str = ""


class IncidentPageWire(_Wire):
    incidents: list[IncidentWire] = Field(default_factory=list)


class HistoryVariableWire(_Wire):
    """A workflow variable as the history gives it: its definition plus the value."""

    name: str = ""
    type: str = "TEXT"
    options: list[str] = Field(default_factory=list)
    required: bool = False
    default_value: str | bool | None = None
    value: str | bool | None = None


class HistoryWire(_Wire):
    """One workflow history item (bas-workflow-actions BasWorkflowAuditHistorySchema): `id`
    is a string and set only by new workflows; `taskName` replaces `action` in them."""

    id: str | None = None
    workflow_id: str = ""
    task_id: str | None = None
    task_name: str | None = None
    action: str | None = None
    activity_type: str = ""
    status: str = ""
    user: str | None = None
    timestamp: str = ""
    variables: dict[str, HistoryVariableWire] = Field(default_factory=dict)


# -- what handlers get -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectedServer:
    """An Atoti server Limits knows: connected now (per settings) and/or owning structures."""

    name: str
    connected: bool
    cubes: tuple[str, ...]
    structures: int
    pending_approvals: int


@dataclass(frozen=True)
class LimitsStatus:
    """`/limits status`: the server is up since `started_at`; the Atoti servers it knows."""

    started_at: datetime
    as_of_date: str
    servers: tuple[ConnectedServer, ...]


@dataclass(frozen=True)
class Incident:
    incident_id: str
    kind: str  # "Breach" | "Warning"
    as_of: str
    limit_id: str
    structure: str
    measure: str  # the structure's measure; "" when the structure is unknown
    limit_value: float | None  # the threshold the measure was held against
    measure_value: float | None
    utilization: float | None
    location: str
    status: str  # the incident workflow status (OPEN, ACKNOWLEDGED, CLOSED ...)
    server: str
    evaluated_at: str | None


@dataclass(frozen=True)
class Breaches:
    """Breaches and warnings of one as-of date, breaches first, worst first."""

    as_of: str | None  # None: the server has no incidents at all
    incidents: tuple[Incident, ...]
    as_of_dates: tuple[str, ...]  # every date with incidents, oldest first

    @property
    def breach_count(self) -> int:
        return sum(1 for i in self.incidents if i.kind == "Breach")

    @property
    def warning_count(self) -> int:
        return sum(1 for i in self.incidents if i.kind == "Warning")


@dataclass(frozen=True)
class WorkflowAction:
    name: str
    task_key: str
    enabled: bool  # False: the server says this user may not take it


@dataclass(frozen=True)
class StructureInfo:
    structure_id: str
    name: str
    server: str
    cube: str
    measure: str
    kpi_type: str | None
    warning_threshold: float | None
    group: str | None


@dataclass(frozen=True)
class LimitView:
    """`/limits limit <id>`: the limit, its structure and its latest incident."""

    limit_id: str
    status: str
    limit_type: str
    value: float | None
    start: str | None
    end: str | None
    scope: str
    alive: bool
    comment: str
    actions: tuple[WorkflowAction, ...]
    structure: StructureInfo | None
    latest: Incident | None  # None: never breached nor warned (passes are not stored)
    temporary: tuple[str, ...] = ()  # ids of temporary limits on top of this one
    incidents_known: bool = True  # False: the server could not say (latest is then None)
    history: tuple[HistoryEntry, ...] | None = ()  # None: the server could not say


@dataclass(frozen=True)
class PendingLimit:
    limit_id: str
    status: str | None  # PENDING, PENDING_DELETION ... (None: a draft without its status)
    value: float | None
    scope: str
    structure: str
    structure_id: str
    server: str
    measure: str
    comment: str
    actions: tuple[WorkflowAction, ...]
    # The value a pending change (a draft) would give the limit; `value` stays the one in
    # force. None: no draft (a new limit asks for `value`, a deletion removes it).
    proposed: float | None = None
    end: str | None = None  # the limit's end date (YYYY-MM-DD): past it, approving is moot

    @property
    def can_act(self) -> bool:
        """Whether the server offers this user an enabled action (buttons are worth showing)."""
        return any(a.enabled for a in self.actions)


@dataclass(frozen=True)
class TaskOutcome:
    """What an Approve / Reject did."""

    limit_id: str
    action: str
    task_key: str
    status_before: str
    status: str  # after the action ("" if the limit is gone)
    still_pending: bool  # another approval step is open (six-eyes)


@dataclass(frozen=True)
class HistoryEntry:
    task: str | None
    action: str | None
    status: str
    user: str | None
    timestamp: str
    activity: str = ""  # startEvent, userTask, endEvent ...
    variables: tuple[tuple[str, str], ...] = ()  # (name, value) given at that step


@dataclass(frozen=True)
class LimitChange:
    """What approving a limit's open task would change, as the server says now."""

    limit_id: str
    status: str  # the pending status (of its draft, when it has one): PENDING, PENDING_DELETION
    value: float | None  # in force (or asked for, by a new limit)
    proposed: float | None  # a draft's value
    pending: bool  # False: nothing waits on a decision any more
