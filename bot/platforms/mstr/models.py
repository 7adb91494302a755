"""Strategy One shapes: the wire (pydantic, validated at the boundary) and what the bot uses.

Wire models ignore fields they do not name, so a newer Library server adding fields does not
break the bot. The dataclasses below them are what `StrategyOneClient` returns to handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


# -- wire shapes -----------------------------------------------------------------------------
class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ErrorBody(_Wire):
    """`{"code", "message", "ticketId", "iServerCode"?}`, possibly wrapped in `errors: [...]`."""

    code: str = ""
    message: str = ""
    ticket_id: str = Field("", alias="ticketId")
    iserver_code: int | None = Field(None, alias="iServerCode")


class ServerStatusBody(_Wire):
    """`GET /api/status` (no authentication needed)."""

    iserver_version: str = Field("", alias="iServerVersion")
    web_version: str = Field("", alias="webVersion")
    deployment_type: str | None = Field(None, alias="deploymentType")
    up_since: int | None = Field(None, alias="upSince")
    is_iserver_configured: bool | None = Field(None, alias="isIServerConfigured")


class SessionBody(_Wire):
    """`GET /api/sessions`: the I-Server session, with its idle `timeout` in seconds."""

    timeout: int | None = None
    working_set: int | None = Field(None, alias="workingSet")
    max_search: int | None = Field(None, alias="maxSearch")
    id: str = ""
    full_name: str = Field("", alias="fullName")
    initials: str = ""


class UserInfoBody(_Wire):
    """`GET /api/sessions/userInfo`."""

    id: str
    full_name: str = Field("", alias="fullName")
    initials: str = ""


class ApiTokenBody(_Wire):
    """`POST /api/auth/apiTokens`."""

    api_token: str = Field(alias="apiToken")


class ProjectBody(_Wire):
    """One entry of `GET /api/projects` (projects loaded for this user)."""

    id: str
    name: str
    alias: str = ""
    description: str = ""
    status: int | None = None


class OwnerBody(_Wire):
    id: str = ""
    name: str = ""


class ObjectBody(_Wire):
    """`GET /api/objects/{id}?type=55`: a document or dossier's definition (mstrio's
    `get_object_info`): its name, owner and when it was made and last changed."""

    id: str
    name: str
    description: str = ""
    date_created: str = Field("", alias="dateCreated")
    date_modified: str = Field("", alias="dateModified")
    owner: OwnerBody = OwnerBody()


class NodeBody(_Wire):
    name: str
    project_status: str = Field("", alias="projectStatus")


class MonitorProjectBody(ProjectBody):
    nodes: list[NodeBody] = []


class MonitorProjectsPage(_Wire):
    """`GET /api/monitors/projects` (total in the `x-mstr-total-count` header)."""

    projects: list[MonitorProjectBody] = []


# -- what the bot uses -----------------------------------------------------------------------
@dataclass(frozen=True)
class ServerVersions:
    iserver_version: str
    web_version: str
    deployment_type: str | None = None


@dataclass(frozen=True)
class SessionStatus:
    """What `/mstr status` shows: the server's versions and the caller's session."""

    iserver_version: str
    web_version: str
    alive: bool  # the server confirmed the caller's session (GET /api/sessions was 200)
    timeout_s: int  # the I-Server idle timeout
    expires_in_s: float  # until the timeout, counted from the last login or renewal
    reopened: bool = False  # a new login was needed to answer (expired or refused session)


@dataclass(frozen=True)
class UserInfo:
    id: str
    full_name: str
    initials: str
    username: str = ""  # from the stored credential; the server does not echo it


@dataclass(frozen=True)
class ProjectNode:
    name: str
    status: str  # "loaded", "unloaded", "loading" ...


@dataclass(frozen=True)
class Dossier:
    id: str
    name: str
    owner: str  # the owner's full name, as the server gives it
    created: datetime | None
    modified: datetime | None
    description: str = ""


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    alias: str = ""
    description: str = ""
    # Per-node status; empty when the caller may not use the project monitor (not an admin).
    nodes: tuple[ProjectNode, ...] = field(default=())
    loaded: bool = True

    @property
    def not_loaded_on(self) -> list[str]:
        return [n.name for n in self.nodes if n.status != "loaded"]
