"""The Squonk2 Data Manager (DM) API, as far as Switchboard and the official client use it.

Served under `/data-manager-api` (clients are configured with `emulator.dm_api_url`). Every
route but `/version` and `/mode` wants `Authorization: Bearer <access token>` issued by the
given `KeycloakEmulator` (checked in-process: signature, `typ`, `exp` on the shared clock); the
caller is the token's `preferred_username`.

Job instances follow a timeline computed from `self.clock()`, so a test moves them with a
FakeClock: PENDING for the job's `pending_s`, RUNNING for its `run_s`, then COMPLETED or
FAILED as seeded per job. Task states and events are derived from the same timeline, with
absent keys (not nulls) for what has not happened yet, as the protocol asks (6.2.7).
`DELETE /instance/{id}` starts a removal task; the instance stops (if still running) and
disappears once the removal is done.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulators.base import Emulator
from emulators.keycloak import (
    DEMO,
    DEMO_CLIENT_SECRET,
    DEMO_CONFIDENTIAL_CLIENT,
    DEMO_PUBLIC_CLIENT,
    KeycloakEmulator,
    parse_form,
)

__all__ = [
    "DEMO",
    "DEMO_CLIENT_SECRET",
    "DEMO_CONFIDENTIAL_CLIENT",
    "DEMO_PUBLIC_CLIENT",
    "SquonkEmulator",
]

PREFIX = "/data-manager-api"
DM_VERSION = "3.7.2"
JOB_APPLICATION_ID = "datamanagerjobs.squonk.it"
AS_NAME = re.compile(r"^[A-Za-z0-9]+[A-Za-z0-9\-_. ]*[A-Za-z0-9]+$")  # 2-80 chars (4.5)
CALLBACK_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# --- Inferred DM behaviour (the protocol marks these [INF] or leaves them open) --------------
# Correct them here only.
UNKNOWN_PROJECT_ON_LAUNCH = 403  # POST /instance declares 201/400/401/403/409, no 404
UNKNOWN_JOB_ON_LAUNCH = 403  # as "job disabled" (4.5: 403 DmError)
UNKNOWN_PROJECT_FILTER = 404  # GET /instance|/task?project_id=<unknown>
UNKNOWN_JOB_BY_VERSION = 404  # GET /job/get-by-version declares no 404; /job/{id} does
REMOVAL_SECONDS = 3.0  # how long a DELETE's removal task runs
KILLED_EXIT_CODE = 143  # exit code of a job stopped by DELETE (SIGTERM)
KILLED_PHASE = "FAILED"  # phase of a job stopped by DELETE before it ended
# ---------------------------------------------------------------------------------------------


def iso(t: float) -> str:
    """ISO-8601 UTC with milliseconds and `Z` (format assumed, protocol 4.4)."""
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def run_time(seconds: float) -> str:
    """A Python timedelta string such as `0:12:32`."""
    return str(timedelta(seconds=int(max(seconds, 0))))


def _id(kind: str, seed: str | None = None) -> str:
    value = uuid.uuid5(uuid.NAMESPACE_URL, f"squonk:{kind}:{seed}") if seed else uuid.uuid4()
    return f"{kind}-{value}"


@dataclass
class Project:
    id: str
    name: str
    creator: str
    created: float
    private: bool
    administrators: list[str]
    editors: list[str]
    observers: list[str]
    size: int = 0
    product_id: str = field(default_factory=lambda: _id("product"))
    unit_id: str = field(default_factory=lambda: _id("unit"))
    organisation_id: str = "org-9a8b7c6d-0000-4000-8000-000000000003"

    def can_see(self, user: str) -> bool:
        return not self.private or self.can_observe(user)

    def can_observe(self, user: str) -> bool:
        return user in self.administrators or user in self.editors or user in self.observers

    def can_edit(self, user: str) -> bool:
        return user in self.administrators or user in self.editors

    def summary(self) -> dict[str, Any]:
        return {
            "project_id": self.id,
            "name": self.name,
            "creator": self.creator,
            "created": iso(self.created),
            "private": self.private,
            "administrators": list(self.administrators),
            "editors": list(self.editors),
            "observers": list(self.observers),
            "size": self.size,
            "product_id": self.product_id,
            "unit_id": self.unit_id,
            "organisation_id": self.organisation_id,
        }


@dataclass
class Job:
    id: int
    collection: str
    job: str
    version: str
    name: str
    description: str
    category: str
    keywords: list[str]
    command: str
    # How an instance of this job behaves (seeded per job).
    outcome: str = "COMPLETED"  # or "FAILED"
    pending_s: float = 5.0
    run_s: float = 60.0
    exit_code: int = 0
    error_message: str = ""
    image_type: str = "SIMPLE"
    disabled: bool = False
    disabled_reason: str = ""
    disabled_remedy: str = ""
    exchange_rate: str = "0.5"
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def image_name(self) -> str:
        return f"registry.example.org/{self.collection}/{self.job}"

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "collection": self.collection,
            "job": self.job,
            "version": self.version,
            "name": self.name,
            "image_type": self.image_type,
            "required_assets": [],
            "disabled": self.disabled,
            "category": self.category,
            "keywords": list(self.keywords),
            "description": self.description,
            "doc_url": f"https://docs.example.org/jobs/{self.collection}/{self.job}",
        }
        if self.disabled:
            out["disabled_reason"] = self.disabled_reason
            out["disabled_remedy"] = self.disabled_remedy
        return out

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "application": {
                "kind": "DataManagerJob",
                "application_id": JOB_APPLICATION_ID,
                "latest_version": "v1",
            },
            "command": base64.b64encode(self.command.encode()).decode(),
            "command_encoding": "BASE64",
            "image_name": self.image_name,
            "image_tag": self.version,
            "image_project_directory": "/data",
            "image_working_directory": "/data",
            "exchange_rate": self.exchange_rate,
            "variables": self.variables,
        }


@dataclass
class Instance:
    id: str
    name: str
    project_id: str
    owner: str
    job: Job
    specification: dict[str, Any]
    launched: float
    task_id: str
    pending_s: float
    run_s: float
    outcome: str
    exit_code: int
    error_message: str = ""
    callback_token: str = ""
    deleted_at: float | None = None
    removal_task_id: str = ""

    # -- the timeline ------------------------------------------------------------------------
    @property
    def started_at(self) -> float:
        return self.launched + self.pending_s

    @property
    def natural_end(self) -> float:
        return self.started_at + self.run_s

    @property
    def killed(self) -> bool:
        return self.deleted_at is not None and self.deleted_at < self.natural_end

    @property
    def stop_at(self) -> float:
        return self.deleted_at if self.killed else self.natural_end  # type: ignore[return-value]

    def removed(self, now: float) -> bool:
        return self.deleted_at is not None and now >= self.deleted_at + REMOVAL_SECONDS

    def has_started(self, now: float) -> bool:
        return now >= self.started_at and self.started_at < self.stop_at

    def phase(self, now: float) -> str:
        if now >= self.stop_at:
            return KILLED_PHASE if self.killed else self.outcome
        return "RUNNING" if now >= self.started_at else "PENDING"

    def final_exit_code(self) -> int:
        return KILLED_EXIT_CODE if self.killed else self.exit_code

    def summary(self, now: float, *, with_id: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if with_id:
            out["id"] = self.id
        out.update(
            {
                "name": self.name,
                "project_id": self.project_id,
                "owner": self.owner,
                "archived": False,
                "application_id": JOB_APPLICATION_ID,
                "application_version": "v1",
                "application_type": "JOB",
                "application_specification": json.dumps(self.specification),
                "phase": self.phase(now),
                "launched": iso(self.launched),
            }
        )
        if self.has_started(now):
            out["started"] = iso(self.started_at)
        stopped = now >= self.stop_at
        if stopped:
            out["stopped"] = iso(self.stop_at)
        if self.has_started(now):
            out["run_time"] = run_time(min(now, self.stop_at) - self.started_at)
        else:
            out["run_time"] = run_time(0)
        out.update(
            {
                "job_collection": self.job.collection,
                "job_job": self.job.job,
                "job_name": self.job.name,
                "job_id": self.job.id,
                "job_version": self.job.version,
                "job_image_type": self.job.image_type,
                "outputs": {},
                "coins": self.coins(now),
            }
        )
        if stopped and self.phase(now) == "FAILED":
            out["error_message"] = (
                "Instance was deleted" if self.killed else self.error_message or "Job failed"
            )
        return out

    def coins(self, now: float) -> str:
        hours = max(min(now, self.stop_at) - self.started_at, 0) / 3600
        return f"{hours * float(self.job.exchange_rate):.4f}"

    def detail(self, now: float) -> dict[str, Any]:
        out = self.summary(now, with_id=False)
        tasks = [{"id": self.task_id, "purpose": "CREATE"}]
        if self.removal_task_id:
            tasks.append({"id": self.removal_task_id, "purpose": "DELETE"})
        out.update(
            {
                "tasks": tasks,
                "has_valid_callback_token": bool(self.callback_token) and now < self.stop_at,
                "launch_exchange_rate": self.job.exchange_rate,
            }
        )
        return out


@dataclass
class Task:
    id: str
    instance: Instance
    created: float
    removal: bool = False

    def done(self, now: float) -> bool:
        return now >= self._end

    @property
    def _end(self) -> float:
        if self.removal:
            return self.created + REMOVAL_SECONDS
        return self.instance.stop_at

    def states(self, now: float) -> list[tuple[float, str, str]]:
        """(time, state, message) up to `now`, oldest first."""
        i = self.instance
        if self.removal:
            timeline = [
                (self.created, "PENDING", ""),
                (self.created + 0.5, "STARTED", ""),
                (self._end, "SUCCESS", ""),
            ]
        else:
            timeline = [(i.launched, "PENDING", "")]
            if i.started_at < i.stop_at:
                timeline.append((i.started_at, "STARTED", ""))
            if i.killed:
                timeline.append((i.stop_at, "FAILURE", "Instance was deleted"))
            elif i.outcome == "COMPLETED":
                timeline.append((i.stop_at, "SUCCESS", ""))
            else:
                timeline.append((i.stop_at, "FAILURE", i.error_message or "Job failed"))
        return [s for s in timeline if s[0] <= now]

    def events(self, now: float) -> list[tuple[float, str, str]]:
        """(time, level, message) up to `now`, oldest first; ordinals are positions + 1."""
        i = self.instance
        if self.removal:
            timeline = [
                (self.created + 0.5, "INFO", f"Removing instance {i.name}"),
                (self._end, "INFO", "Instance removed"),
            ]
        else:
            timeline = [
                (i.launched + 0.1, "INFO", f"Pulling image {i.job.image_name}:{i.job.version}")
            ]
            if i.started_at < i.stop_at:
                timeline.append((i.started_at + 0.1, "INFO", "Job started"))
            half = i.started_at + i.run_s / 2
            if half < i.stop_at:
                timeline.append((half, "INFO", "Job is running (50%)"))
            if i.killed:
                timeline.append((i.stop_at, "WARNING", "Job stopped: instance deleted"))
            elif i.outcome == "COMPLETED":
                timeline.append((i.stop_at, "INFO", "Job finished"))
            else:
                timeline.append(
                    (
                        i.stop_at,
                        "ERROR",
                        f"Job failed (exit code {i.exit_code}): {i.error_message or 'error'}",
                    )
                )
        return [e for e in timeline if e[0] <= now]

    def summary(self, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "created": iso(self.created),
            "done": self.done(now),
            "purpose": "INSTANCE",
            "purpose_id": self.instance.id,
            "image": f"{self.instance.job.image_name}:{self.instance.job.version}",
            "removal": self.removal,
        }
        if self.done(now):
            out["exit_code"] = 0 if self.removal else self.instance.final_exit_code()
        return out

    def detail(self, now: float, *, prior: int = 0, limit: int = 500) -> dict[str, Any]:
        out = self.summary(now)
        del out["id"]
        out["instance_specification"] = json.dumps(self.instance.specification)
        states = []
        for at, state, message in self.states(now):
            item = {"state": state, "time": iso(at)}
            if message:
                item["message"] = message
            states.append(item)
        events = [
            {"ordinal": n, "level": level, "message": message, "time": iso(at)}
            for n, (at, level, message) in enumerate(self.events(now), start=1)
            if n > prior
        ][:limit]
        out.update({"states": states, "events": events})
        return out


class SquonkEmulator(Emulator):
    """The DM API, trusting access tokens of `keycloak` (shares its clock unless told)."""

    name = "squonk"

    def __init__(
        self,
        *,
        keycloak: KeycloakEmulator,
        clock: Callable[[], float] | None = None,
        seed: bool = True,
    ) -> None:
        super().__init__(clock=clock or keycloak.clock)
        self.keycloak = keycloak
        self._lock = threading.Lock()
        self.projects: dict[str, Project] = {}
        self.jobs: dict[int, Job] = {}
        self.instances: dict[str, Instance] = {}
        self.tasks: dict[str, Task] = {}
        if seed:
            self._seed()

    # -- configuration helpers ---------------------------------------------------------------
    @property
    def dm_api_url(self) -> str:
        return self.url + PREFIX

    def instance_settings(
        self, name: str = "main", *, confidential: bool = False
    ) -> dict[str, Any]:
        """The fields of a Switchboard Squonk2 instance pointing at these emulators."""
        settings: dict[str, Any] = {
            "name": name,
            "url": self.dm_api_url,
            "keycloak_url": self.keycloak.keycloak_url,
            "realm": self.keycloak.realm,
            "client_id": DEMO_CONFIDENTIAL_CLIENT if confidential else DEMO_PUBLIC_CLIENT,
        }
        if confidential:
            settings["client_secret"] = DEMO_CLIENT_SECRET
        return settings

    def reset(self, *, seed: bool = True) -> None:
        """Back to the seeded state at the clock's current time; request log and faults
        cleared, so one running server can serve many tests."""
        with self._lock:
            self.projects.clear()
            self.jobs.clear()
            self.instances.clear()
            self.tasks.clear()
            if seed:
                self._seed()
        self.requests.clear()
        self.faults.clear()

    def project_named(self, name: str) -> Project:
        return next(p for p in self.projects.values() if p.name == name)

    def job_named(self, collection: str, job: str) -> Job:
        return next(j for j in self.jobs.values() if (j.collection, j.job) == (collection, job))

    def phase(self, instance_id: str) -> str:
        return self.instances[instance_id].phase(self.clock())

    # -- seed (protocol 4.x examples and the seed document's im-test/nop) ------------------
    def _seed(self) -> None:
        now = self.clock()
        day = 24 * 3600
        for p in [
            Project(
                _id("project", "demo"),
                "demo",
                "alice",
                now - 90 * day,
                False,
                ["alice"],
                ["alice", "bob"],
                [],
                1073741824,
            ),
            Project(
                _id("project", "chem-screening"),
                "chem-screening",
                "alice",
                now - 40 * day,
                True,
                ["alice"],
                ["alice"],
                [],
                3 * 1073741824,
            ),
            Project(
                _id("project", "bob-sandbox"),
                "bob-sandbox",
                "bob",
                now - 10 * day,
                True,
                ["bob"],
                ["bob"],
                ["alice"],
                52428800,
            ),
        ]:
            self.projects[p.id] = p
        x_option = {
            "options": {"type": "object", "properties": {"x": {"type": "integer", "default": 1}}}
        }
        for j in [
            Job(
                12,
                "im-test",
                "nop",
                "1.0.0",
                "No operation",
                "A job that does nothing",
                "test",
                ["test"],
                "echo hello",
                run_s=30.0,
                variables=x_option,
            ),
            Job(
                13,
                "im-test",
                "event-test",
                "1.0.0",
                "Event test",
                "Emits events for a while",
                "test",
                ["test", "events"],
                "event-test.py",
                run_s=120.0,
            ),
            Job(
                14,
                "im-test",
                "fail",
                "1.0.0",
                "Always fails",
                "A job that exits with 1",
                "test",
                ["test"],
                "exit 1",
                outcome="FAILED",
                run_s=10.0,
                exit_code=1,
                error_message="Exited with status 1",
            ),
            Job(
                21,
                "rdkit",
                "rdkit-molprops",
                "1.2.0",
                "Calculate molecular properties",
                "RDKit descriptors for every molecule of an SD file",
                "cheminformatics",
                ["rdkit", "properties"],
                "molprops.py -i input.sdf -o output.sdf",
                run_s=600.0,
            ),
            Job(
                22,
                "rdkit",
                "max-min-picker",
                "1.0.1",
                "Max/min diversity picker",
                "Picks a diverse subset",
                "cheminformatics",
                ["rdkit", "diversity"],
                "max_min_picker.py",
                pending_s=10.0,
                run_s=300.0,
            ),
            Job(
                31,
                "im-virtual-screening",
                "smina-docking",
                "2.1.0",
                "Docking with smina",
                "Docks ligands into a receptor",
                "docking",
                ["docking", "smina"],
                "smina -r receptor.pdb -l ligands.sdf",
                outcome="FAILED",
                run_s=900.0,
                exit_code=2,
                error_message="Receptor file receptor.pdb not found",
            ),
            Job(
                32,
                "im-virtual-screening",
                "shape-align",
                "0.9.0",
                "Shape alignment",
                "3D shape screening",
                "screening",
                ["shape"],
                "shape_align.py",
                disabled=True,
                disabled_reason="Missing asset 'openeye-licence'",
                disabled_remedy="Ask an administrator to add the asset",
            ),
        ]:
            self.jobs[j.id] = j
        demo = self.project_named("demo").id
        chem = self.project_named("chem-screening").id
        sandbox = self.project_named("bob-sandbox").id
        for name, project, owner, job, ago in [
            ("nightly-props", demo, "alice", self.job_named("rdkit", "rdkit-molprops"), 41),
            ("qc-batch-7", demo, "bob", self.job_named("im-test", "nop"), 2 * 3600),
            ("events-check", demo, "alice", self.job_named("im-test", "event-test"), day),
            (
                "dock-ligands-a",
                chem,
                "alice",
                self.job_named("im-virtual-screening", "smina-docking"),
                3600,
            ),
            ("picker-run", sandbox, "bob", self.job_named("rdkit", "max-min-picker"), 2),
        ]:
            self._launch(
                name=name,
                project_id=project,
                owner=owner,
                job=job,
                spec={"collection": job.collection, "job": job.job, "version": job.version},
                at=now - ago,
                seed=name,
            )

    def _launch(
        self,
        *,
        name: str,
        project_id: str,
        owner: str,
        job: Job,
        spec: dict[str, Any],
        at: float,
        seed: str | None = None,
        callback_token: str = "",
    ) -> Instance:
        instance = Instance(
            id=_id("instance", seed),
            name=name,
            project_id=project_id,
            owner=owner,
            job=job,
            specification=spec,
            launched=at,
            task_id=_id("task", seed),
            pending_s=job.pending_s,
            run_s=job.run_s,
            outcome=job.outcome,
            exit_code=job.exit_code,
            error_message=job.error_message,
            callback_token=callback_token,
        )
        self.instances[instance.id] = instance
        self.tasks[instance.task_id] = Task(instance.task_id, instance, at)
        return instance

    # -- plumbing ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        p = PREFIX
        return [
            Route(f"{p}/version", self._version, methods=["GET"]),
            Route(f"{p}/mode", self._mode, methods=["GET"]),
            Route(f"{p}/account-server/namespace", self._namespace, methods=["GET"]),
            Route(f"{p}/project", self._projects, methods=["GET"]),
            Route(f"{p}/project/{{project_id}}", self._project, methods=["GET"]),
            Route(f"{p}/instance", self._instances, methods=["GET"]),
            Route(f"{p}/instance", self._start_instance, methods=["POST"]),
            Route(f"{p}/instance/dry-run", self._dry_run, methods=["POST"]),
            Route(f"{p}/instance/{{instance_id}}", self._instance, methods=["GET"]),
            Route(f"{p}/instance/{{instance_id}}", self._delete_instance, methods=["DELETE"]),
            Route(f"{p}/task", self._tasks, methods=["GET"]),
            Route(f"{p}/task/{{task_id}}", self._task, methods=["GET"]),
            Route(f"{p}/job", self._jobs, methods=["GET"]),
            Route(f"{p}/job/get-by-version", self._job_by_version, methods=["GET"]),
            Route(f"{p}/job/{{job_id:int}}", self._job, methods=["GET"]),
        ]

    def error_response(self, status: int, message: str) -> Response:
        """`DmError`: `{"error": "..."}` as JSON (protocol 3, 6.2.6)."""
        return JSONResponse({"error": message}, status_code=status)

    def _user(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        claims = self.keycloak.validate_access_token(header[7:].strip())
        if not claims:
            return None
        return str(claims.get("preferred_username") or claims.get("sub"))

    @staticmethod
    def _unauthorized() -> Response:
        return Response(status_code=401)  # declared without a body (6.2.9)

    def _visible_instance(self, instance_id: str, now: float) -> Instance | None:
        instance = self.instances.get(instance_id)
        if instance is None or instance.removed(now):
            return None
        return instance

    # -- handlers ----------------------------------------------------------------------------
    async def _version(self, request: Request) -> Response:
        return JSONResponse({"version": DM_VERSION})

    async def _mode(self, request: Request) -> Response:
        return JSONResponse({"mode": "DEVELOPMENT"})

    async def _namespace(self, request: Request) -> Response:
        if self._user(request) is None:
            return self._unauthorized()
        return JSONResponse({"namespace": "account-server"})

    async def _projects(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        wanted = request.query_params.get("project_name")
        with self._lock:
            items = [
                p.summary()
                for p in self.projects.values()
                if p.can_see(user) and (wanted is None or p.name == wanted)
            ]
        return JSONResponse({"count": len(items), "projects": items})

    async def _project(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        project_id = request.path_params["project_id"]
        project = self.projects.get(project_id)
        if project is None:
            return self.error_response(404, f"Project {project_id} does not exist")
        if not project.can_see(user):
            return self.error_response(403, f"You do not have access to project {project_id}")
        return JSONResponse({**project.summary(), "files": []})

    def _project_filter(self, request: Request, user: str) -> tuple[str | None, Response | None]:
        project_id = request.query_params.get("project_id")
        if project_id is None:
            return None, None
        project = self.projects.get(project_id)
        if project is None:
            return None, self.error_response(
                UNKNOWN_PROJECT_FILTER, f"Project {project_id} does not exist"
            )
        if not project.can_see(user):
            return None, self.error_response(403, f"You do not have access to project {project_id}")
        return project_id, None

    async def _instances(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        project_id, failure = self._project_filter(request, user)
        if failure is not None:
            return failure
        now = self.clock()
        with self._lock:
            items = [
                i.summary(now)
                for i in sorted(self.instances.values(), key=lambda i: i.launched)
                if not i.removed(now)
                and self.projects[i.project_id].can_see(user)
                and (project_id is None or i.project_id == project_id)
            ]
        return JSONResponse({"count": len(items), "instances": items})

    async def _instance(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        instance_id = request.path_params["instance_id"]
        now = self.clock()
        instance = self._visible_instance(instance_id, now)
        if instance is None:
            return self.error_response(404, f"Instance {instance_id} does not exist")
        if not self.projects[instance.project_id].can_see(user):
            return self.error_response(403, f"You do not have access to instance {instance_id}")
        return JSONResponse(instance.detail(now))

    def _check_launch(
        self, form: dict[str, str], user: str
    ) -> tuple[Project, Job, dict[str, Any]] | Response:
        """Validate a POST /instance form: (project, job, specification) or an error."""
        for name in ("application_id", "as_name", "project_id", "specification"):
            if not form.get(name):
                return self.error_response(400, f"Missing form field '{name}'")
        if form["application_id"] != JOB_APPLICATION_ID:
            return self.error_response(400, f"Unknown application '{form['application_id']}'")
        name = form["as_name"]
        if not (2 <= len(name) <= 80 and AS_NAME.match(name)):
            return self.error_response(400, f"Invalid instance name '{name}'")
        try:
            spec = json.loads(form["specification"])
        except ValueError:
            return self.error_response(400, "The specification is not valid JSON")
        if not isinstance(spec, dict) or not all(
            isinstance(spec.get(k), str) for k in ("collection", "job", "version")
        ):
            return self.error_response(
                400, "The specification needs 'collection', 'job' and 'version'"
            )
        if "variables" in spec and not isinstance(spec["variables"], dict):
            return self.error_response(400, "The specification's 'variables' must be a map")
        project = self.projects.get(form["project_id"])
        if project is None:
            return self.error_response(
                UNKNOWN_PROJECT_ON_LAUNCH, f"Project {form['project_id']} does not exist"
            )
        if not project.can_edit(user):
            return self.error_response(403, f"You are not an editor of project {project.name}")
        wanted = (spec["collection"], spec["job"], spec["version"])
        job = next(
            (j for j in self.jobs.values() if (j.collection, j.job, j.version) == wanted), None
        )
        label = "{}/{}@{}".format(*wanted)
        if job is None:
            return self.error_response(UNKNOWN_JOB_ON_LAUNCH, f"Job {label} does not exist")
        if job.disabled:
            return self.error_response(403, f"Job {label} is disabled: {job.disabled_reason}")
        return project, job, spec

    def _command(self, job: Job, spec: dict[str, Any]) -> str:
        extra = " ".join(f"--{k} {v}" for k, v in sorted((spec.get("variables") or {}).items()))
        return f"{job.command} {extra}".strip()

    async def _start_instance(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        form = parse_form(await request.body())
        checked = self._check_launch(form, user)
        if isinstance(checked, Response):
            return checked
        project, job, spec = checked
        token = ""
        if form.get("callback_url"):
            if form.get("generate_callback_token", "").lower() == "true":
                token = "".join(secrets.choice(CALLBACK_ALPHABET) for _ in range(22))
            token = form.get("callback_token") or token
        with self._lock:
            instance = self._launch(
                name=form["as_name"],
                project_id=project.id,
                owner=user,
                job=job,
                spec=spec,
                at=self.clock(),
                callback_token=token,
            )
        body: dict[str, Any] = {
            "instance_id": instance.id,
            "task_id": instance.task_id,
            "command": self._command(job, spec),
        }
        if token:
            body["callback_token"] = token
        return JSONResponse(body, status_code=201)

    async def _dry_run(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        checked = self._check_launch(parse_form(await request.body()), user)
        if isinstance(checked, Response):
            return checked
        _, job, spec = checked
        return JSONResponse({"command": self._command(job, spec)}, status_code=201)

    async def _delete_instance(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        instance_id = request.path_params["instance_id"]
        now = self.clock()
        with self._lock:
            instance = self._visible_instance(instance_id, now)
            if instance is None:
                return self.error_response(404, f"Instance {instance_id} does not exist")
            project = self.projects[instance.project_id]
            if user != instance.owner and not project.can_edit(user):
                return self.error_response(
                    403, f"Only the owner or a project editor may delete {instance_id}"
                )
            if instance.deleted_at is None:
                instance.deleted_at = now
                instance.removal_task_id = _id("task")
                self.tasks[instance.removal_task_id] = Task(
                    instance.removal_task_id, instance, now, removal=True
                )
        return JSONResponse({"task_id": instance.removal_task_id})

    def _task_visible(self, task: Task, user: str) -> bool:
        return self.projects[task.instance.project_id].can_see(user)

    async def _tasks(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        project_id, failure = self._project_filter(request, user)
        if failure is not None:
            return failure
        q = request.query_params
        exclude_done = q.get("exclude_done", "").lower() == "true"
        exclude_removal = q.get("exclude_removal", "").lower() == "true"
        excluded = set(re.split(r"[.,]", q.get("exclude_purpose", ""))) - {""}
        purpose = q.get("purpose")
        now = self.clock()
        with self._lock:
            items = [
                t.summary(now)
                for t in sorted(self.tasks.values(), key=lambda t: t.created)
                if self._task_visible(t, user)
                and (project_id is None or t.instance.project_id == project_id)
                and not (exclude_done and t.done(now))
                and not (exclude_removal and t.removal)
                and "INSTANCE" not in excluded
                and (purpose is None or purpose == "INSTANCE")
            ]
        return JSONResponse({"count": len(items), "tasks": items})

    async def _task(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        task_id = request.path_params["task_id"]
        task = self.tasks.get(task_id)
        if task is None:
            return self.error_response(404, f"Task {task_id} does not exist")
        if not self._task_visible(task, user):
            return self.error_response(403, f"You do not have access to task {task_id}")
        q = request.query_params
        try:
            prior = int(q.get("event_prior_ordinal", "0"))
            limit = int(q.get("event_limit", "500"))
        except ValueError:
            return self.error_response(400, "event_prior_ordinal and event_limit are integers")
        if prior < 0 or limit < 1:
            return self.error_response(400, "event_prior_ordinal >= 0 and event_limit >= 1")
        return JSONResponse(task.detail(self.clock(), prior=prior, limit=limit))

    async def _jobs(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        _, failure = self._project_filter(request, user)
        if failure is not None:
            return failure
        items = [j.summary() for j in sorted(self.jobs.values(), key=lambda j: j.id)]
        return JSONResponse({"count": len(items), "jobs": items})

    async def _job(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return self.error_response(404, f"Job {request.path_params['job_id']} does not exist")
        return JSONResponse(job.detail())

    async def _job_by_version(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self._unauthorized()
        q = request.query_params
        wanted = (q.get("collection"), q.get("job"), q.get("version"))
        if not all(wanted):
            return self.error_response(400, "collection, job and version are required")
        job = next(
            (j for j in self.jobs.values() if (j.collection, j.job, j.version) == wanted), None
        )
        if job is None:
            return self.error_response(
                UNKNOWN_JOB_BY_VERSION, "Job {}/{}@{} does not exist".format(*wanted)
            )
        return JSONResponse(job.detail())
