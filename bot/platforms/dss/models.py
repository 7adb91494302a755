"""Response shapes of the DSS public API, as the bot reads them (shared/protocols/dss.md).

Each model validates the platform's camelCase JSON (aliases) and exposes snake_case fields plus
a few computed summaries the Block Kit builders need (elapsed time, progress, outcome).
`ApiKey` keeps no secret field at all: the `key` DSS may send is dropped on parsing, so it can
never reach a reply, a repr or a log line.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

# -- Inferred / unverified protocol choices (shared/protocols/dss.md), kept in one place -------
# (client.py imports these too, so the whole client is corrected here.)
# Status of a task that threw, on `GET /futures/{id}?peek=False` (spec 2.2, unverified).
FAILED_FUTURE_STATUS = 500
# Future list items may name their owner and a display name (spec 2.1, unverified names).
FUTURE_OWNER_FIELD = "owner"
FUTURE_NAME_FIELD = "jobDisplayName"
# ---------------------------------------------------------------------------------------------


class _Model(BaseModel):
    # extra="ignore": DSS adds fields freely; the secret `key` must be dropped, never stored.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


def _from_ms(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def format_duration(seconds: float) -> str:
    """`45s`, `3m 12s`, `2h 05m`, `3d 4h`: short enough for a Slack line."""
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {(s % 3600) // 60:02d}m"
    return f"{s // 86400}d {(s % 86400) // 3600}h"


class AuthInfo(_Model):
    auth_identifier: str = Field(alias="authIdentifier")
    auth_source: str = Field("", alias="authSource")
    associated_user: str | None = Field(None, alias="associatedDSSUser")
    user_for_impersonation: str | None = Field(None, alias="userForImpersonation")
    groups: list[str] = Field(default_factory=list)
    profile: str | None = Field(None, alias="userProfile")
    via: list[Any] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type decorators over @property
    @property
    def login(self) -> str:
        """The DSS login behind the key; a global key without a user shows its key id."""
        return self.associated_user or self.auth_identifier


class ProgressState(_Model):
    name: str = ""
    unit: str = "NONE"
    target: float = 0
    cur: float = 0


class Future(_Model):
    """A long-running task. `status` folds DSS's flags into one word."""

    job_id: str = Field(alias="jobId")
    has_result: bool = Field(False, alias="hasResult")
    alive: bool = False
    aborted: bool = False
    unknown: bool = False
    start_time: int = Field(0, alias="startTime")
    running_time: int = Field(0, alias="runningTime")
    progress_states: list[ProgressState] = Field(default_factory=list)
    payload: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = Field(None, alias=FUTURE_OWNER_FIELD)
    display_name: str | None = Field(None, alias=FUTURE_NAME_FIELD)
    result: Any = None
    error: str | None = None  # the task's own failure reason, when DSS gave one

    @model_validator(mode="before")
    @classmethod
    def _flatten_progress(cls, data: Any) -> Any:
        if isinstance(data, dict) and "progress" in data:
            data = dict(data)
            data["progress_states"] = (data.pop("progress") or {}).get("states") or []
        return data

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type decorators over @property
    @property
    def status(self) -> str:
        """running | done | failed | aborted | unknown."""
        if self.unknown:
            return "unknown"
        if self.aborted:
            return "aborted"
        if self.alive:
            return "running"
        if self.error:
            return "failed"
        if self.has_result:
            # Business tasks finish normally and report failure inside the result.
            result = self.result if isinstance(self.result, dict) else {}
            messages = result.get("messages")
            failed = result.get("success") is False or (
                isinstance(messages, dict) and messages.get("error") is True
            )
            return "failed" if failed else "done"
        return "failed"  # finished, no result, not aborted: the task threw

    @property
    def elapsed(self) -> timedelta:
        return timedelta(milliseconds=self.running_time)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type decorators over @property
    @property
    def elapsed_text(self) -> str:
        return format_duration(self.running_time / 1000)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type decorators over @property
    @property
    def percent(self) -> int | None:
        """Overall progress from DSS's nested progress stack, when it has targets."""
        fraction, scale, known = 0.0, 1.0, False
        for state in self.progress_states:
            if state.target <= 0:
                continue
            known = True
            fraction += scale * min(state.cur, state.target) / state.target
            scale /= state.target
        return int(fraction * 100) if known else None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type decorators over @property
    @property
    def progress_text(self) -> str:
        """E.g. `Computing metrics (step 2/3) · 45%` or `` when DSS reports nothing."""
        if not self.progress_states:
            return ""
        top = self.progress_states[0]
        text = top.name
        if top.target > 0 and top.unit == "NONE":
            text += f" (step {int(top.cur) + 1}/{int(top.target)})"
        percent = self.percent
        return f"{text} · {percent}%" if percent is not None else text

    @property
    def outcome_text(self) -> str:
        """Why it failed or what it returned, in one short line ("" when DSS said nothing).
        Only a full read (`peek=False`) of a stopped task carries `result` or `error`."""
        if self.error:
            return self.error
        result = self.result
        if result is None or result == "":
            return ""
        if not isinstance(result, dict):
            return str(result)
        if self.status == "failed":
            return _first_message(result.get("messages")) or "the task reported a failure"
        parts = [
            f"{k}: {v}"
            for k, v in result.items()
            if k not in RESULT_BOOKKEEPING and isinstance(v, str | int | float | bool)
        ]
        return ", ".join(parts[:3])

    @property
    def started_at(self) -> datetime | None:
        return _from_ms(self.start_time)

    @property
    def scenario(self) -> tuple[str, str] | None:
        """(project key, scenario id) when this future is a scenario run."""
        targets = self.payload.get("targets") or []
        if targets and isinstance(targets[0], dict) and targets[0].get("objectId"):
            return str(targets[0].get("projectKey", "")), str(targets[0]["objectId"])
        return None

    @property
    def label(self) -> str:
        """What to call it in a message."""
        if self.display_name:
            return self.display_name
        if self.scenario:
            return "Scenario {}.{}".format(*self.scenario)
        return self.job_id


# Keys of a business task's result that say how it went, not what it produced.
RESULT_BOOKKEEPING = frozenset({"success", "messages", "anyMessage", "error", "warning"})


def _first_message(messages: Any) -> str:
    """The first error message of DSS's `InfoMessages` (`{"messages": [...]}`) or of a bare
    list of messages; else the first message of any severity."""
    if isinstance(messages, dict):
        messages = messages.get("messages")
    if not isinstance(messages, list):
        return ""
    found = [m for m in messages if isinstance(m, dict) and m.get("message")]
    errors_first = sorted(found, key=lambda m: m.get("severity") != "ERROR")
    return str(errors_first[0]["message"]) if errors_first else ""


class Project(_Model):
    key: str = Field(alias="projectKey")
    name: str = ""
    owner: str | None = Field(None, alias="ownerLogin")


def _first_failure(activities: Any) -> str | None:
    """The message of the first failed activity of a job status, if DSS gave one."""
    if not isinstance(activities, dict):
        return None
    for activity in activities.values():
        failure = activity.get("firstFailure") if isinstance(activity, dict) else None
        if isinstance(failure, dict) and failure.get("message"):
            return str(failure["message"])
    return None


class Job(_Model):
    """A job; DSS nests its identity in `def`, the list endpoints may put it at the top."""

    job_id: str
    project_key: str
    state: str = "NOT_STARTED"
    type: str = ""
    initiator: str | None = None
    start_time: int = 0
    end_time: int = 0
    outputs: list[str] = Field(default_factory=list)
    warnings: int = 0
    # Why it failed, when DSS says: the first failed activity's first failure (job status).
    failure: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_dss(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "job_id" in data:
            return data
        if isinstance(data.get("baseStatus"), dict):  # job.get_status(): all under baseStatus
            data = {**data["baseStatus"], **{k: v for k, v in data.items() if k != "baseStatus"}}
        d = data.get("def") or {}
        return {
            "job_id": data.get("jobId") or d.get("id"),
            "project_key": data.get("projectKey") or d.get("projectKey"),
            "state": data.get("state")
            or (data.get("baseStatus") or {}).get("state")
            or "NOT_STARTED",
            "type": d.get("type", ""),
            "initiator": d.get("initiator"),
            "start_time": data.get("startTime") or 0,
            "end_time": data.get("endTime") or 0,
            "outputs": [
                o.get("targetDataset") or o.get("targetFolder") or o.get("type", "")
                for o in d.get("outputs") or []
            ],
            "warnings": data.get("warningsCount") or 0,
            "failure": _first_failure(data.get("activities")),
        }

    @property
    def finished(self) -> bool:
        return self.state in ("DONE", "FAILED", "ABORTED")

    @property
    def running(self) -> bool:
        return self.state in ("NOT_STARTED", "RUNNING")


class Scenario(_Model):
    id: str
    name: str = ""
    project_key: str = Field(alias="projectKey")
    running: bool = False
    active: bool = False
    start: int = 0
    type: str = ""
    tags: list[str] = Field(default_factory=list)


class ScenarioRun(_Model):
    """One run. DSS marks a run as running by the absence of `result`."""

    run_id: str
    project_key: str
    scenario_id: str
    scenario_name: str = ""
    start: int = 0
    end: int = 0
    trigger_type: str = ""
    outcome: str | None = None  # SUCCESS | WARNING | FAILED | ABORTED, None while running

    @model_validator(mode="before")
    @classmethod
    def _from_dss(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "run_id" in data:
            return data
        scenario = data.get("scenario") or {}
        trigger = (data.get("trigger") or {}).get("trigger") or {}
        result = data.get("result")
        return {
            "run_id": data.get("runId"),
            "project_key": scenario.get("projectKey"),
            "scenario_id": scenario.get("id"),
            "scenario_name": scenario.get("name") or "",
            "start": data.get("start") or 0,
            "end": data.get("end") or 0,
            "trigger_type": trigger.get("type") or trigger.get("id") or "",
            "outcome": result.get("outcome") if isinstance(result, dict) else None,
        }

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type decorators over @property
    @property
    def running(self) -> bool:
        return self.outcome is None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type decorators over @property
    @property
    def duration_text(self) -> str:
        return format_duration((self.end - self.start) / 1000) if self.end else ""


class TriggerFire(_Model):
    """What `run` returns: poll `scenario_run_for_trigger` with it until the run exists."""

    project_key: str
    scenario_id: str
    trigger_id: str
    run_id: str  # the trigger fire's run id (`triggerRunId`), not the scenario run id
    cancelled: bool = False


class NotebookSession(_Model):
    project_key: str = Field(alias="projectKey")
    notebook_name: str = Field(alias="notebookName")
    session_id: str = Field(alias="sessionId")
    kernel_id: str | None = Field(None, alias="kernelId")
    kernel_pid: int | None = Field(None, alias="kernelPid")
    creator: str | None = Field(None, alias="sessionCreator")
    creator_display_name: str | None = Field(None, alias="sessionCreatorDisplayName")
    unix_owner: str | None = Field(None, alias="sessionUnixOwner")
    connections: int = Field(0, alias="kernelConnections")
    execution_state: str | None = Field(None, alias="kernelExecutionState")
    last_activity: int = Field(0, alias="kernelLastActivityTime")
    started: int = Field(0, alias="sessionStartTime")


class Notebook(_Model):
    project_key: str = Field(alias="projectKey")
    name: str
    language: str = ""
    kernel: str = ""
    tags: list[str] = Field(default_factory=list)
    sessions: list[NotebookSession] = Field(default_factory=list)  # filled by the client

    @model_validator(mode="before")
    @classmethod
    def _kernel_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kernelSpec" in data:
            data = dict(data)
            spec = data.pop("kernelSpec") or {}
            data["kernel"] = spec.get("display_name") or spec.get("name") or ""
        return data


def key_fingerprint(secret: str) -> str:
    """A one-way digest of an API key: tells which listed key is the one a person linked,
    without keeping the key itself in the model."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(_Model):
    """A global or personal key's metadata. There is deliberately no field for the secret:
    only its `fingerprint` (empty when DSS lists hashed keys, without their secret)."""

    id: str
    kind: str  # "global" | "personal"
    label: str = ""
    description: str = ""
    user: str | None = None  # personal: owner; global: dssUserForImpersonation
    created_on: int = Field(0, alias="createdOn")
    created_by: str | None = Field(None, alias="createdBy")
    admin: bool = False
    groups: list[str] = Field(default_factory=list)
    fingerprint: str = Field("", repr=False)

    @model_validator(mode="before")
    @classmethod
    def _from_dss(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        secret = data.get("key")
        data = {k: v for k, v in data.items() if k != "key"}  # drop the secret at once
        if isinstance(secret, str) and secret:
            data["fingerprint"] = key_fingerprint(secret)
        if "dssUserForImpersonation" in data and "user" not in data:
            data["user"] = data.get("dssUserForImpersonation")
        perms = data.get("globalPermissions")
        if isinstance(perms, dict) and "admin" not in data:
            data["admin"] = bool(perms.get("admin"))
        data["groups"] = data.get("groups") or []
        return data

    @property
    def created_at(self) -> datetime | None:
        return _from_ms(self.created_on)


class UsageSummary(_Model):
    projects: int = 0
    datasets: int = 0
    recipes: int = 0
    jupyter_notebooks: int = 0
    sql_notebooks: int = 0
    scenarios: int = 0
    active_scenarios_with_triggers: int = 0

    @model_validator(mode="before")
    @classmethod
    def _from_dss(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "jupyter_notebooks" in data:
            return data

        def part(name: str, key: str) -> int:
            value = data.get(name)
            return int(value.get(key) or 0) if isinstance(value, dict) else 0

        projects = data.get("projects")
        return {
            "projects": projects if isinstance(projects, int) else 0,
            "datasets": part("datasets", "all"),
            "recipes": part("recipes", "all"),
            "jupyter_notebooks": part("notebooks", "nbJupyterNotebooks"),
            "sql_notebooks": part("notebooks", "nbSqlNotebooks"),
            "scenarios": part("scenarios", "all"),
            "active_scenarios_with_triggers": part("scenarios", "activeWithTriggers"),
        }


class ImpersonationRule(_Model):
    type: str = ""  # IDENTITY | SINGLE_MAPPING | REGEXP_RULE
    scope: str | None = None  # user rules: GLOBAL | PROJECT
    project_key: str | None = Field(None, alias="projectKey")
    dss_user: str | None = Field(None, alias="dssUser")
    dss_group: str | None = Field(None, alias="dssGroup")
    rule_from: str | None = Field(None, alias="ruleFrom")
    target_unix: str | None = Field(None, alias="targetUnix")
    target_hadoop: str | None = Field(None, alias="targetHadoop")

    @property
    def source(self) -> str:
        """Who the rule matches, in words."""
        if self.type == "IDENTITY":
            return "every user (same name)"
        return self.dss_user or self.dss_group or (f"/{self.rule_from}/" if self.rule_from else "?")


class ImpersonationRules(_Model):
    user_rules: list[ImpersonationRule] = Field(default_factory=list, alias="userRules")
    group_rules: list[ImpersonationRule] = Field(default_factory=list, alias="groupRules")
