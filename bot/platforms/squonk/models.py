"""Response shapes of the Squonk2 DM API and Keycloak (protocol squonk2.md 2.1, 4.x).

Only the fields the bot shows or acts on are declared; the rest is ignored, so a newer DM with
more fields still parses. Optional keys are absent until they happen (`started`, `stopped`,
`exit_code`), hence the None defaults.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TERMINAL_PHASES = frozenset({"COMPLETED", "FAILED", "SUCCEEDED"})


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TokenResponse(_Shape):
    """Keycloak's token endpoint answer. Never repr'd with its tokens (see __repr__)."""

    access_token: str
    expires_in: int = 300
    refresh_token: str = ""
    refresh_expires_in: int = 0
    scope: str = ""

    def __repr__(self) -> str:
        return f"TokenResponse(expires_in={self.expires_in}, scope={self.scope!r})"

    __str__ = __repr__

    @property
    def offline(self) -> bool:
        return "offline_access" in self.scope.split()


class Project(_Shape):
    project_id: str
    name: str
    creator: str = ""
    created: str = ""
    private: bool = False
    administrators: list[str] = Field(default_factory=list)
    editors: list[str] = Field(default_factory=list)
    observers: list[str] = Field(default_factory=list)
    size: int = 0


class InstanceTask(_Shape):
    id: str
    purpose: str  # CREATE | DELETE


class Instance(_Shape):
    """An instance from `GET /instance` (has `id`) or `GET /instance/{id}` (the client fills
    `id` in, since the detail shape has none)."""

    id: str
    name: str
    project_id: str
    owner: str = ""
    phase: str
    launched: str = ""
    started: str | None = None
    stopped: str | None = None
    run_time: str = ""
    application_type: str = "JOB"
    job_collection: str | None = None
    job_job: str | None = None
    job_name: str | None = None
    job_version: str | None = None
    error_message: str | None = None
    coins: str | None = None
    tasks: list[InstanceTask] = Field(default_factory=list)  # detail only

    @property
    def done(self) -> bool:
        """Finished for good (the official example's test: stopped and not RUNNING)."""
        return self.phase in TERMINAL_PHASES or (
            self.stopped is not None and self.phase != "RUNNING"
        )

    @property
    def succeeded(self) -> bool:
        return self.phase in ("COMPLETED", "SUCCEEDED")

    @property
    def job_label(self) -> str:
        if not self.job_collection:
            return ""
        return f"{self.job_collection}/{self.job_job}@{self.job_version}"


class StartedInstance(_Shape):
    instance_id: str
    task_id: str
    command: str | None = None


class TaskState(_Shape):
    state: str
    time: str
    message: str | None = None


class TaskEvent(_Shape):
    ordinal: int
    level: str
    message: str
    time: str


class Task(_Shape):
    """A task from `GET /task` (has `id`) or `GET /task/{id}` (the client fills `id` in)."""

    id: str
    purpose: str
    purpose_id: str = ""
    created: str = ""
    done: bool = False
    removal: bool = False
    exit_code: int | None = None
    image: str | None = None
    states: list[TaskState] = Field(default_factory=list)  # detail only
    events: list[TaskEvent] = Field(default_factory=list)  # detail only

    @property
    def state(self) -> str:
        """The latest state, or RUNNING/DONE from the summary's `done` flag."""
        if self.states:
            return self.states[-1].state
        return "DONE" if self.done else "RUNNING"


class Job(_Shape):
    id: int
    collection: str
    job: str
    version: str
    name: str = ""
    category: str | None = None
    keywords: list[str] = Field(default_factory=list)
    description: str | None = None
    disabled: bool = False
    disabled_reason: str | None = None

    @property
    def label(self) -> str:
        return f"{self.collection}/{self.job}@{self.version}"
