"""Astakos response shapes (protocol §2), parsed once at the client boundary."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Resources counted in bytes (§2.6 "unit": "bytes"), shown in GiB.
BYTE_RESOURCES = {"cyclades.ram", "cyclades.disk", "pithos.diskspace"}

# What the official client calls each resource in its QuotaLimit message (§2.11).
PRETTY_RESOURCES = {
    "cyclades.vm": "Virtual Machine",
    "cyclades.ram": "RAM",
    "cyclades.cpu": "CPU",
    "cyclades.disk": "Disk",
    "cyclades.floating_ip": "Floating IP address",
    "cyclades.network.private": "Private Network",
    "pithos.diskspace": "Storage space",
    "astakos.pending_app": "Pending Applications",
}


def amount(resource: str, value: int) -> str:
    """A quantity as people read it: GiB for byte resources, a plain number otherwise."""
    if resource in BYTE_RESOURCES:
        return f"{value / 1024**3:g} GiB"
    return str(value)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Endpoint(_Model):
    """One catalog endpoint. Only the path of `public_url` is ever used (§1.2)."""

    service: str
    type: str
    version: str = ""
    public_url: str = ""
    ui_url: str = ""


class UserInfo(_Model):
    """Who a token belongs to: a user (uuid, names) or a service component."""

    kind: Literal["user", "service"]
    name: str  # the real name of a user, or the component name of a service
    uuid: str | None = None
    username: str = ""  # the user's display name (normally the e-mail address)
    projects: list[str] = Field(default_factory=list)
    expires: datetime | None = None
    endpoints: list[Endpoint] = Field(default_factory=list)


class Quota(_Model):
    """One quota line: what `holder` may use of `resource` from `project` (§2.7, §3).

    `usage` already includes pending imports; `pending` is how much of it is not yet
    accepted. `holder` is the user uuid for a member quota, None for a project's own quota.
    """

    project: str
    resource: str
    limit: int
    usage: int
    pending: int = 0
    project_limit: int | None = None
    project_usage: int | None = None
    project_pending: int | None = None
    holder: str | None = None


class Provision(_Model):
    holder: str  # "user:<uuid>" or "project:<uuid>"
    source: str | None  # "project:<uuid>" for a member holding, None for a project holding
    resource: str
    quantity: int  # negative: a release


class Commission(_Model):
    serial: int
    name: str = ""
    issue_time: datetime
    provisions: list[Provision]


class FailedSerial(_Model):
    serial: int
    status: int
    fault: str  # "itemNotFound", "badRequest" ...
    message: str


class Resolution(_Model):
    """The answer of a bulk resolve: which serials were accepted, rejected, or failed."""

    accepted: list[int]
    rejected: list[int]
    failed: list[FailedSerial]

    @model_validator(mode="before")
    @classmethod
    def _failed_pairs(cls, data: Any) -> Any:
        # The wire sends [[serial, {"<faultName>": {"code", "message"}}], ...].
        if isinstance(data, dict):
            failed = []
            for entry in data.get("failed", []):
                serial, cloudfault = entry
                fault, body = next(iter(cloudfault.items()))
                failed.append(
                    {
                        "serial": serial,
                        "status": body.get("code", 0),
                        "fault": fault,
                        "message": body.get("message", ""),
                    }
                )
            data = {**data, "failed": failed}
        return data


class Grant(_Model):
    project_capacity: int | None = None
    member_capacity: int | None = None


class Application(_Model):
    id: int
    state: str  # pending, approved, replaced, denied, dismissed, cancelled
    name: str
    owner: str | None = None
    applicant: str | None = None
    description: str = ""
    comments: str = ""
    start_date: datetime | None = None
    end_date: datetime | None = None
    join_policy: str = ""
    leave_policy: str = ""
    max_members: int | None = None
    private: bool = False
    resources: dict[str, Grant] = Field(default_factory=dict)


class Project(_Model):
    id: str
    state: str  # uninitialized, active, suspended, terminated, deleted
    name: str
    owner: str | None = None
    description: str = ""
    homepage: str = ""
    creation_date: datetime | None = None
    end_date: datetime | None = None
    join_policy: str = ""
    leave_policy: str = ""
    max_members: int | None = None
    private: bool = False
    system_project: bool = False
    resources: dict[str, Grant] = Field(default_factory=dict)
    last_application: Application | None = None  # only for admins, owners and applicants
    deactivation_date: datetime | None = None

    @property
    def pending_application(self) -> Application | None:
        app = self.last_application
        return app if app is not None and app.state == "pending" else None


MEMBERSHIP_STATES = (
    "requested",
    "accepted",
    "leave_requested",
    "suspended",
    "rejected",
    "cancelled",
    "removed",
)


class Membership(_Model):
    id: int
    user: str
    project: str
    state: str
    allowed_actions: list[str] = Field(default_factory=list)
    # One timestamp per state the membership passed through (the wire has one key per state).
    timestamps: dict[str, datetime] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_timestamps(cls, data: Any) -> Any:
        if isinstance(data, dict):
            stamps = {s: data[s] for s in MEMBERSHIP_STATES if data.get(s)}
            data = {**data, "timestamps": stamps}
        return data


class Catalogs(_Model):
    uuid_catalog: dict[str, str] = Field(default_factory=dict)
    displayname_catalog: dict[str, str] = Field(default_factory=dict)
