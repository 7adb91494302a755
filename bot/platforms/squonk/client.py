"""The async Squonk2 Data Manager client, written from protocol squonk2.md section 4.

Every call runs with one user's `Credential` (its secret is a Keycloak refresh/offline token):
`KeycloakAuth` turns it into a live access token sent as `Authorization: Bearer`. DM bodies
are form-encoded (4.5), the job specification being a JSON string inside the form.
Errors come from `PlatformHTTP` with the DM's own `{"error": ...}` text.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot import errors
from bot.platforms.answers import checked
from bot.platforms.base import Credential
from bot.platforms.http import PlatformHTTP
from bot.platforms.squonk.auth import KeycloakAuth
from bot.platforms.squonk.models import Instance, Job, Project, StartedInstance, Task

JOB_APPLICATION_ID = "datamanagerjobs.squonk.it"
PROJECT_ID = re.compile(r"^project-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INSTANCE_NAME = re.compile(r"^[A-Za-z0-9]+[A-Za-z0-9\-_. ]*[A-Za-z0-9]+$")

M = TypeVar("M", bound=BaseModel)


@checked
class SquonkClient:
    """One Squonk2 instance's DM API, called with a user's credential."""

    def __init__(self, *, http: PlatformHTTP, auth: KeycloakAuth) -> None:
        self.http = http
        self.auth = auth

    def __repr__(self) -> str:
        return f"SquonkClient(instance={self.http.instance!r})"

    async def aclose(self) -> None:
        """Close the DM's HTTP client and its Keycloak's."""
        await self.http.aclose()
        await self.auth.http.aclose()

    async def _call(self, credential: Credential, method: str, path: str, **kwargs: Any) -> Any:
        """One authenticated DM call. If the DM refuses an access token we believed live
        (revoked session, clock skew), refresh once and retry before giving up."""
        token = await self.auth.access_token(credential)
        try:
            return await self.http.json(method, path, headers=_bearer(token), **kwargs)
        except errors.Unauthorized:
            self.auth.invalidate(credential)
        token = await self.auth.access_token(credential)
        return await self.http.json(method, path, headers=_bearer(token), **kwargs)

    def _parse(self, model: type[M], data: Any) -> M:
        """A response shape, or BadAnswer if the DM answered something else."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self.http.error(
                errors.BadAnswer,
                f"unexpected {model.__name__} from the DM ({exc.error_count()} problems)",
            ) from None

    def _items(self, model: type[M], body: Any, key: str) -> list[M]:
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise self.http.error(errors.BadAnswer, f"the DM answered without '{key}'")
        return [self._parse(model, item) for item in items]

    # -- service ------------------------------------------------------------------------------
    async def version(self) -> str:
        """The DM version (`GET /version`, no token)."""
        body = await self.http.json("GET", "/version")
        return str((body or {}).get("version", ""))

    async def ping(self, credential: Credential) -> None:
        """An authenticated liveness check (`GET /account-server/namespace`)."""
        await self._call(credential, "GET", "/account-server/namespace")

    # -- projects ------------------------------------------------------------------------------
    async def projects(self, credential: Credential) -> list[Project]:
        body = await self._call(credential, "GET", "/project")
        return self._items(Project, body, "projects")

    async def project(self, credential: Credential, *, project: str) -> Project:
        """A project by id (`project-<uuid>`) or by exact name; NotFound names what was asked."""
        if PROJECT_ID.match(project):
            try:
                body = await self._call(credential, "GET", f"/project/{project}")
            except errors.NotFound:
                raise self.http.error(errors.NotFound, f"no project {project}", 404) from None
            return self._parse(Project, body)
        body = await self._call(credential, "GET", "/project", params={"project_name": project})
        found = self._items(Project, body, "projects")
        exact = [p for p in found if p.name == project]
        if not exact:
            raise self.http.error(errors.NotFound, f"no project named '{project}'", 404)
        return exact[0]

    # -- instances ----------------------------------------------------------------------------
    async def instances(
        self, credential: Credential, *, project: str | None = None
    ) -> list[Instance]:
        """Job instances the user can see, optionally of one project (id or name)."""
        params = {}
        if project:
            params["project_id"] = (await self.project(credential, project=project)).project_id
        body = await self._call(credential, "GET", "/instance", params=params)
        return self._items(Instance, body, "instances")

    async def instance(self, credential: Credential, *, instance_id: str) -> Instance:
        body = await self._call(credential, "GET", f"/instance/{instance_id}")
        return self._parse(Instance, {**(body or {}), "id": instance_id})

    async def start(
        self,
        credential: Credential,
        *,
        collection: str,
        job: str,
        version: str,
        project: str,
        name: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> StartedInstance:
        """Launch a job in a project (id or name): the new instance and task, and the DM's
        expanded command."""
        name = name or f"{job}-{uuid.uuid4().hex[:6]}"
        if not (2 <= len(name) <= 80 and INSTANCE_NAME.match(name)):
            raise errors.UserError(
                "An instance name has 2 to 80 characters: letters, digits, `-`, `_`, `.` or "
                "spaces, starting and ending with a letter or digit."
            )
        project_id = (await self.project(credential, project=project)).project_id
        specification: dict[str, Any] = {"collection": collection, "job": job, "version": version}
        if variables:
            specification["variables"] = variables
        form = {
            "application_id": JOB_APPLICATION_ID,
            "as_name": name,
            "project_id": project_id,
            "specification": json.dumps(specification),
        }
        body = await self._call(credential, "POST", "/instance", data=form)
        return self._parse(StartedInstance, body)

    async def stop_instance(self, credential: Credential, *, instance_id: str) -> str:
        """Delete (stop and remove) an instance; returns the removal task id."""
        body = await self._call(credential, "DELETE", f"/instance/{instance_id}")
        return str((body or {}).get("task_id", ""))

    # -- tasks ---------------------------------------------------------------------------------
    async def tasks(
        self, credential: Credential, *, exclude_done: bool = False, project: str | None = None
    ) -> list[Task]:
        params: dict[str, str] = {}
        if exclude_done:
            params["exclude_done"] = "true"
        if project:
            params["project_id"] = (await self.project(credential, project=project)).project_id
        body = await self._call(credential, "GET", "/task", params=params)
        return self._items(Task, body, "tasks")

    async def task(
        self,
        credential: Credential,
        *,
        task_id: str,
        event_prior_ordinal: int = 0,
        event_limit: int = 0,
    ) -> Task:
        """A task with its states and events (events after `event_prior_ordinal` only)."""
        params: dict[str, int] = {}
        if event_prior_ordinal:
            params["event_prior_ordinal"] = event_prior_ordinal
        if event_limit:
            params["event_limit"] = event_limit
        body = await self._call(credential, "GET", f"/task/{task_id}", params=params)
        return self._parse(Task, {**(body or {}), "id": task_id})

    # -- jobs ----------------------------------------------------------------------------------
    async def jobs(self, credential: Credential, *, filter: str | None = None) -> list[Job]:
        """The job catalogue; `filter` keeps jobs whose label, name, category or keywords
        contain it (case-insensitive)."""
        body = await self._call(credential, "GET", "/job")
        jobs = self._items(Job, body, "jobs")
        if not filter:
            return jobs
        needle = filter.lower()
        return [
            j
            for j in jobs
            if needle in " ".join([j.label, j.name, j.category or "", *j.keywords]).lower()
        ]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
