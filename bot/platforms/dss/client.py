"""Async client for the Dataiku DSS public REST API (shared/protocols/dss.md), over httpx.

One `DSSClient` per configured instance; every call takes the caller's own API key, sent as
HTTP Basic with the key as the username (what `dataikuapi` sends). Failures become `bot.errors`
in `PlatformHTTP`, with DSS's own reason (`detailedMessage`, else `message`).

The base path is `/public/api`, the prefix of the public REST docs; DSS serves the same routes
under `/dip/publicapi` (what the Python client uses), so an operator may pick either per instance.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from bot import errors
from bot.platforms.answers import checked, expect_list
from bot.platforms.dss.models import (
    FAILED_FUTURE_STATUS,  # the inferred choices live in one block in models.py
    ApiKey,
    AuthInfo,
    Future,
    ImpersonationRules,
    Job,
    Notebook,
    NotebookSession,
    Project,
    Scenario,
    ScenarioRun,
    TriggerFire,
    UsageSummary,
)
from bot.platforms.http import DEFAULT_TIMEOUT, PlatformHTTP

PLATFORM = "dss"
DEFAULT_BASE_PATH = "/public/api"
VERSION_HEADER = "DSS-Version"
# How many projects' notebooks a non-admin fleet view reads at once (one call each, plus one
# per live notebook).
NOTEBOOK_CONCURRENCY = 8


@dataclass(frozen=True)
class Probe:
    """What an unauthenticated call learned: the server's version, and any trouble."""

    version: str | None
    detail: str = ""


def dss_reason(response: httpx.Response) -> str:
    """DSS's error body: `detailedMessage`, else `message`, else the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("detailedMessage", "message"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:300]
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def _q(part: str) -> str:
    """One path segment, quoted: keys and names come from people."""
    return quote(str(part), safe="")


def _auth(api_key: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(api_key, "")


@checked
class DSSClient:
    """The bot's calls to one DSS instance. Every method takes the caller's API key."""

    def __init__(
        self,
        *,
        instance: str,
        base_url: str,
        base_path: str = DEFAULT_BASE_PATH,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.instance = instance
        self.http = PlatformHTTP(
            platform=PLATFORM,
            instance=instance,
            base_url=base_url.rstrip("/") + "/" + base_path.strip("/"),
            timeout=timeout,
            reason=dss_reason,
            transport=transport,
            headers={"Accept": "application/json"},
            ssl_context=ssl_context,
        )
        # Every DSS answer (errors included) names its version; keep the last one seen.
        self.server_version: str | None = None
        self.http.client.event_hooks = {"response": [self._note_version]}

    async def _note_version(self, response: httpx.Response) -> None:
        version = response.headers.get(VERSION_HEADER)
        if version:
            self.server_version = version

    async def _get(self, path: str, api_key: str, **params: Any) -> Any:
        return await self.http.json("GET", path, params=_params(params), auth=_auth(api_key))

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- identity --------------------------------------------------------------------------
    async def auth_info(self, *, api_key: str) -> AuthInfo:
        """Who the key is: also the cheapest way to check that a key works."""
        return AuthInfo.model_validate(await self._get("/auth/info", api_key, withSecrets=False))

    async def is_admin(self, *, api_key: str) -> bool:
        """DSS exposes no admin flag: probe an admin-only read. A refused key still raises."""
        try:
            await self._get("/admin/general-settings", api_key)
        except (errors.Forbidden, errors.NotFound, errors.Rejected):
            return False
        return True

    async def probe(self) -> Probe:
        """Call DSS without any credential. Any HTTP answer (a 401 is the normal one) proves
        the server is there and carries its version; only a timeout or a refused connection
        raises (`Unavailable`)."""
        self.server_version = None
        try:
            await self.http.request("GET", "/auth/info")
        except errors.PlatformError as exc:
            if exc.status is None:
                raise
            detail = f"answered HTTP {exc.status}: {exc.detail}" if exc.status >= 500 else ""
            return Probe(version=self.server_version, detail=detail)
        return Probe(version=self.server_version)

    # -- futures ---------------------------------------------------------------------------
    async def list_futures(
        self,
        *,
        api_key: str,
        all_users: bool = False,
        with_scenarios: bool = True,
        with_others: bool = True,
    ) -> list[Future]:
        """Running long tasks: the caller's, or everyone's (`all_users` needs admin)."""
        items = await self._get(
            "/futures/",
            api_key,
            withScenarios=with_scenarios,
            withNotScenarios=with_others,
            allUsers=all_users,
        )
        return [Future.model_validate(item) for item in expect_list(items, "futures")]

    async def get_future(self, *, api_key: str, job_id: str, peek: bool = True) -> Future:
        """A future's state. With `peek=False` a finished task carries its `result`, and a
        task that threw comes back as a failed `Future` with DSS's reason in `error`."""
        path = f"/futures/{_q(job_id)}"
        try:
            return Future.model_validate(await self._get(path, api_key, peek=peek))
        except errors.Unavailable as exc:
            if peek or exc.status != FAILED_FUTURE_STATUS:
                raise
            # DSS reports a thrown task as an HTTP 500 carrying the exception. Peek to tell it
            # from a server outage (which fails the peek too and raises from there).
            state = Future.model_validate(await self._get(path, api_key, peek=True))
            if state.alive or state.has_result:
                raise
            if state.aborted or state.unknown:
                return state
            return state.model_copy(update={"error": exc.detail})

    async def final_state(self, *, api_key: str, job_id: str) -> Future:
        """A future's state, read in full (`peek=False`) once it has stopped, so that a failed
        task names its reason and a finished one carries its result. A running task is only
        peeked at: its result is not ready and nothing more is to be learned."""
        state = await self.get_future(api_key=api_key, job_id=job_id, peek=True)
        if state.alive:
            return state
        full = await self.get_future(api_key=api_key, job_id=job_id, peek=False)
        # A full read may omit what the peek carried (the list-only owner and name).
        return full.model_copy(
            update={
                k: getattr(state, k) for k in ("owner", "display_name") if getattr(full, k) is None
            }
        )

    async def abort_future(self, *, api_key: str, job_id: str) -> None:
        """Abort a running task (its owner or an admin)."""
        await self.http.request("DELETE", f"/futures/{_q(job_id)}", auth=_auth(api_key))

    # -- projects and jobs -----------------------------------------------------------------
    async def list_projects(self, *, api_key: str) -> list[Project]:
        return [
            Project.model_validate(p)
            for p in expect_list(await self._get("/projects/", api_key), "projects")
        ]

    async def running_jobs(
        self, *, api_key: str, project_key: str | None = None, all_users: bool = True
    ) -> list[Job]:
        """Running jobs on the instance (all users' by default), or in one project."""
        if project_key:
            items = await self._get(f"/projects/{_q(project_key)}/jobs/running/", api_key)
        else:
            items = await self._get("/jobs/running/", api_key, allUsers=all_users)
        return [Job.model_validate(item) for item in expect_list(items, "jobs")]

    # -- scenarios -------------------------------------------------------------------------
    async def job_status(self, *, api_key: str, project_key: str, job_id: str) -> Job:
        """One job, running or finished, with the reason it failed when DSS gives one."""
        found = await self._get(f"/projects/{_q(project_key)}/jobs/{_q(job_id)}/", api_key)
        return Job.model_validate(found)

    async def abort_job(self, *, api_key: str, project_key: str, job_id: str) -> None:
        """Abort a running job (whoever started it, or an admin)."""
        await self.http.request(
            "POST", f"/projects/{_q(project_key)}/jobs/{_q(job_id)}/abort", auth=_auth(api_key)
        )

    async def list_scenarios(self, *, api_key: str, project_key: str) -> list[Scenario]:
        items = await self._get(f"/projects/{_q(project_key)}/scenarios/", api_key)
        return [Scenario.model_validate(item) for item in expect_list(items, "scenarios")]

    async def last_runs(
        self,
        *,
        api_key: str,
        project_key: str,
        scenario_id: str,
        limit: int = 10,
        only_finished: bool = False,
    ) -> list[ScenarioRun]:
        """The scenario's latest runs, newest first."""
        path = f"/projects/{_q(project_key)}/scenarios/{_q(scenario_id)}/get-last-runs"
        items = await self._get(path, api_key, limit=limit, onlyFinishedRuns=only_finished)
        return [ScenarioRun.model_validate(item) for item in expect_list(items, "runs")]

    async def run_scenario(
        self,
        *,
        api_key: str,
        project_key: str,
        scenario_id: str,
        params: Mapping[str, Any] | None = None,
    ) -> TriggerFire:
        """Start a run. DSS answers with a trigger fire; the run itself appears a bit later."""
        path = f"/projects/{_q(project_key)}/scenarios/{_q(scenario_id)}/run"
        body = await self.http.json("POST", path, json=dict(params or {}), auth=_auth(api_key))
        trigger = (body or {}).get("trigger") or {}
        return TriggerFire(
            project_key=project_key,
            scenario_id=scenario_id,
            trigger_id=str(trigger.get("id", "")),
            run_id=str(body["runId"]),
            cancelled=bool(body.get("cancelled")),
        )

    async def scenario_run_for_trigger(
        self, *, api_key: str, fire: TriggerFire
    ) -> ScenarioRun | None:
        """The run a trigger fire started, or None while DSS has not created it yet."""
        path = (
            f"/projects/{_q(fire.project_key)}/scenarios/{_q(fire.scenario_id)}/get-run-for-trigger"
        )
        body = await self._get(path, api_key, triggerId=fire.trigger_id, triggerRunId=fire.run_id)
        run = (body or {}).get("scenarioRun")
        return ScenarioRun.model_validate(run) if run else None

    # -- notebooks -------------------------------------------------------------------------
    async def list_notebooks(
        self, *, api_key: str, project_key: str, active: bool = False
    ) -> list[Notebook]:
        """Jupyter notebooks of a project (`active`: only those with a running kernel)."""
        items = await self._get(
            f"/projects/{_q(project_key)}/jupyter-notebooks/", api_key, active=active
        )
        return [Notebook.model_validate(item) for item in expect_list(items, "notebooks")]

    async def notebook_sessions(
        self, *, api_key: str, project_key: str, notebook: str
    ) -> list[NotebookSession]:
        path = f"/projects/{_q(project_key)}/jupyter-notebooks/{_q(notebook)}/sessions"
        return [
            NotebookSession.model_validate(s)
            for s in expect_list(await self._get(path, api_key), "sessions")
        ]

    async def live_notebooks(self, *, api_key: str, project_key: str) -> list[Notebook]:
        """Active notebooks with their sessions filled in (sessions fetched concurrently)."""
        notebooks = await self.list_notebooks(api_key=api_key, project_key=project_key, active=True)
        sessions = await asyncio.gather(
            *(
                self.notebook_sessions(api_key=api_key, project_key=project_key, notebook=n.name)
                for n in notebooks
            )
        )
        return [
            n.model_copy(update={"sessions": s})
            for n, s in zip(notebooks, sessions, strict=True)
            if s
        ]

    async def running_notebooks(self, *, api_key: str) -> list[Notebook]:
        """Every notebook with a live kernel, across all projects (admin: one call,
        `GET /admin/notebooks/`, what `list_running_notebooks()` reads)."""
        items = await self._get("/admin/notebooks/", api_key)
        out = []
        for item in items or []:
            sessions = [NotebookSession.model_validate(s) for s in item.get("activeSessions") or []]
            if sessions:
                notebook = Notebook.model_validate(
                    {k: v for k, v in item.items() if k != "activeSessions"}
                )
                out.append(notebook.model_copy(update={"sessions": sessions}))
        return out

    async def all_live_notebooks(self, *, api_key: str) -> list[Notebook]:
        """Live notebooks across every project the key can read: the admin listing, else
        (a non-admin key is refused it) each readable project's, fetched concurrently."""
        try:
            return await self.running_notebooks(api_key=api_key)
        except (errors.Forbidden, errors.NotFound):
            pass
        projects = await self.list_projects(api_key=api_key)
        gate = asyncio.Semaphore(NOTEBOOK_CONCURRENCY)

        async def one(project_key: str) -> list[Notebook]:
            async with gate:
                return await self.live_notebooks(api_key=api_key, project_key=project_key)

        found = await asyncio.gather(*(one(p.key) for p in projects))
        return [nb for group in found for nb in group]

    async def unload_session(
        self, *, api_key: str, project_key: str, notebook: str, session_id: str
    ) -> None:
        """Stop one kernel session (its creator or an admin)."""
        path = (
            f"/projects/{_q(project_key)}/jupyter-notebooks/{_q(notebook)}"
            f"/sessions/{_q(session_id)}"
        )
        await self.http.request("DELETE", path, auth=_auth(api_key))

    # -- API keys --------------------------------------------------------------------------
    async def list_global_keys(self, *, api_key: str) -> list[ApiKey]:
        items = await self._get("/admin/global-api-keys/", api_key)
        return [
            ApiKey.model_validate({**item, "kind": "global"}) for item in expect_list(items, "keys")
        ]

    async def delete_global_key(self, *, api_key: str, key_id: str) -> None:
        await self.http.request(
            "DELETE", f"/admin/global-api-keys/{_q(key_id)}", auth=_auth(api_key)
        )

    async def list_personal_keys(self, *, api_key: str) -> list[ApiKey]:
        """The caller's own personal keys."""
        items = await self._get("/personal-api-keys/", api_key)
        return [
            ApiKey.model_validate({**item, "kind": "personal"})
            for item in expect_list(items, "keys")
        ]

    async def list_all_personal_keys(self, *, api_key: str) -> list[ApiKey]:
        """Every user's personal keys (admin)."""
        items = await self._get("/admin/personal-api-keys/", api_key)
        return [
            ApiKey.model_validate({**item, "kind": "personal"})
            for item in expect_list(items, "keys")
        ]

    async def delete_personal_key(self, *, api_key: str, key_id: str) -> None:
        """Delete a personal key: one's own, or anyone's for an admin (same path for both)."""
        await self.http.request("DELETE", f"/personal-api-keys/{_q(key_id)}", auth=_auth(api_key))

    # -- admin -----------------------------------------------------------------------------
    async def usage_summary(self, *, api_key: str) -> UsageSummary:
        body = await self._get(
            "/admin/monitoring/global-usage-summary", api_key, withPerProject=False
        )
        return UsageSummary.model_validate(body or {})

    async def get_variables(self, *, api_key: str) -> dict[str, Any]:
        return dict(await self._get("/admin/variables/", api_key) or {})

    async def set_variables(
        self, *, api_key: str, changes: Mapping[str, Any], remove: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Read-modify-write: DSS only replaces the whole object. Returns what was saved."""
        variables = await self.get_variables(api_key=api_key)
        variables.update(changes)
        for name in remove:
            variables.pop(name, None)
        await self.http.request("PUT", "/admin/variables/", json=variables, auth=_auth(api_key))
        return variables

    async def impersonation_rules(self, *, api_key: str) -> ImpersonationRules:
        """User and group impersonation rules, read from the general settings."""
        settings = await self._get("/admin/general-settings", api_key) or {}
        return ImpersonationRules.model_validate(settings.get("impersonation") or {})


def _params(params: Mapping[str, Any]) -> dict[str, str]:
    """Query values as DSS expects them (booleans as `True` / `False`, like dataikuapi)."""
    return {k: str(v) for k, v in params.items() if v is not None}
