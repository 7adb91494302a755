"""Async Astakos client over `PlatformHTTP`, written from the wire protocol (astakos.md).

One client per configured instance. Every method takes the caller's token, because the bot
acts with the credentials of the person who asked. Two kinds of token exist: user tokens
(quotas, projects, memberships, user catalogs) and service (component) tokens (commissions,
service quotas). The server answers the wrong kind with 401 "Invalid X-Auth-Token"; the client
then checks which kind it was given and raises `Forbidden` with a detail that says which token
the call needs, instead of telling a person that a working token was "refused".

All requests go to the scheme + host of the configured auth URL; from catalog URLs only the
path is used (§1.2).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterable
from typing import Any

import httpx

from bot import errors
from bot.platforms.answers import checked, expect_list
from bot.platforms.astakos.models import (
    PRETTY_RESOURCES,
    Catalogs,
    Commission,
    Endpoint,
    Membership,
    Project,
    Quota,
    Resolution,
    UserInfo,
    amount,
)
from bot.platforms.http import PlatformHTTP, default_reason

PLATFORM = "astakos"

# -- inferred / unverified choices: correct them here -------------------------------------------
# [INF] identity path assumed when the configured URL has none (the server default, §1.2).
DEFAULT_IDENTITY_PATH = "/identity/v2.0"
# The account service entry and version the official client looks for (§1.2) [CLI].
ACCOUNT_SERVICE, ACCOUNT_VERSION = "astakos_account", "v1.0"
# [INF] No endpoint names the component behind a service token. Its resources are namespaced
# by component ("cyclades.vm"), so the name is read from the resources it owns (§2.8).


def service_name_from_resources(resources: Iterable[str]) -> str:
    prefixes = sorted({r.split(".", 1)[0] for r in resources})
    return "+".join(prefixes) or "service"


# [SRV] application actions: the official client sends "reasons" but the server reads
# "reason" (§2.16); we send what the server reads.
APPLICATION_REASON_KEY = "reason"
# -----------------------------------------------------------------------------------------------

APPLICATION_ACTIONS = ("approve", "deny", "dismiss", "cancel")
MEMBERSHIP_ACTIONS = ("accept", "reject", "remove", "cancel", "leave")
PROJECT_STATES = ("uninitialized", "active", "suspended", "terminated", "deleted")


def astakos_reason(response: httpx.Response) -> str:
    """The message of a cloudFault body (`{"<faultName>": {"code", "message", ...}}`).

    A 413 from issuing a commission becomes the official client's QuotaLimit text (§2.11).
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict):
            data = inner.get("data")
            if response.status_code == 413 and isinstance(data, dict):
                text = quota_limit_text(data)
                if text:
                    return text
            message = inner.get("message")
            if isinstance(message, str) and message:
                return message[:300]
    return default_reason(response)


def quota_limit_text(data: dict[str, Any]) -> str | None:
    """Why a commission went over a limit, from the 413 body's `data`."""
    try:
        provision = data["provision"]
        resource, quantity = provision["resource"], int(provision["quantity"])
        limit, usage = int(data["limit"]), int(data["usage"])
    except (KeyError, TypeError, ValueError):
        return None
    pretty = PRETTY_RESOURCES.get(resource, resource)
    holder = provision.get("holder", "")
    if data.get("name") == "NoQuantityError":
        return (
            f"Cannot release {amount(resource, -quantity)} of '{pretty}' for {holder}: "
            f"only {amount(resource, usage)} is in use."
        )
    return (
        f"Limit for resource '{pretty}' exceeded for {holder}. "
        f"Available: {amount(resource, limit - usage)}, "
        f"Requested: {amount(resource, quantity)}"
    )


@checked
class AstakosClient:
    """The Astakos calls the bot makes, for one instance."""

    def __init__(
        self,
        *,
        instance: str,
        auth_url: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        url = httpx.URL(auth_url)
        self.identity = url.path.rstrip("/") or DEFAULT_IDENTITY_PATH
        self.http = PlatformHTTP(
            platform=PLATFORM,
            instance=instance,
            base_url=str(url.copy_with(path="/", query=None, fragment=None)),
            timeout=timeout,
            reason=astakos_reason,
            transport=transport,
            ssl_context=ssl_context,
        )
        self._account: str | None = None  # path of astakos_account v1.0, from the catalog

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- plumbing ----------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        headers = {"X-Auth-Token": token}
        content = b""
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return await self.http.json(method, path, headers=headers, params=params, content=content)

    async def _account_path(self) -> str:
        if self._account is None:
            await self.catalog()
        assert self._account is not None
        return self._account

    def _learn_catalog(self, catalog: list[dict[str, Any]]) -> list[Endpoint]:
        endpoints = []
        for entry in catalog:
            for ep in entry.get("endpoints", []):
                endpoints.append(
                    Endpoint(
                        service=entry.get("name", ""),
                        type=entry.get("type", ""),
                        version=ep.get("versionId", ""),
                        public_url=ep.get("publicURL", ""),
                        ui_url=ep.get("SNF:uiURL", ""),
                    )
                )
        for ep in endpoints:
            if ep.service == ACCOUNT_SERVICE and ep.version == ACCOUNT_VERSION:
                self._account = httpx.URL(ep.public_url).path.rstrip("/")
                break
        else:
            raise self.http.error(
                errors.Unavailable,
                f"the service catalog has no {ACCOUNT_SERVICE} {ACCOUNT_VERSION} endpoint",
            )
        return endpoints

    async def _account_call(
        self,
        method: str,
        rest: str,
        *,
        token: str,
        needs: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """A call under the account prefix that needs a `user` or a `service` token."""
        path = await self._account_path() + rest
        try:
            return await self._call(method, path, token=token, body=body, params=params)
        except errors.Unauthorized:
            other = "user" if needs == "service" else "service"
            if await self._token_is(other, token):
                raise self.http.error(
                    errors.Forbidden, f"this needs a {needs} token; a {other} token was given", 401
                ) from None
            raise

    async def _token_is(self, kind: str, token: str) -> bool:
        """Whether the token is a working token of that kind (used only after a 401)."""
        try:
            if kind == "user":
                await self._call(
                    "POST",
                    f"{self.identity}/tokens",
                    token=token,
                    body={"auth": {"token": {"id": token}}},
                )
            else:
                await self._call("GET", await self._account_path() + "/commissions", token=token)
        except errors.Unauthorized:
            return False
        return True

    # -- identity ----------------------------------------------------------------------------
    async def catalog(self) -> list[Endpoint]:
        """The public service catalog (no authentication, §2.2)."""
        answer = await self._call("POST", f"{self.identity}/tokens", token="")
        return self._learn_catalog(answer["access"]["serviceCatalog"])

    async def authenticate(self, *, token: str) -> UserInfo:
        """Who the token belongs to: a user (with uuid and username) or a service component."""
        try:
            answer = await self._call(
                "POST",
                f"{self.identity}/tokens",
                token=token,
                body={"auth": {"token": {"id": token}}},
            )
        except errors.Unauthorized as refused:
            endpoints = await self.catalog()
            try:
                owned = await self._call(
                    "GET", await self._account_path() + "/service_project_quotas", token=token
                )
            except errors.Unauthorized:
                raise refused from None
            resources = {r for per_project in (owned or {}).values() for r in per_project}
            return UserInfo(
                kind="service", name=service_name_from_resources(resources), endpoints=endpoints
            )
        access = answer["access"]
        endpoints = self._learn_catalog(access.get("serviceCatalog", []))
        user = access["user"]
        names = await self.usernames(token=token, uuids=[user["id"]])
        return UserInfo(
            kind="user",
            name=user.get("name", ""),
            uuid=user["id"],
            username=names.get(user["id"], ""),
            projects=user.get("projects", []),
            expires=access.get("token", {}).get("expires"),
            endpoints=endpoints,
        )

    # -- user catalogs -----------------------------------------------------------------------
    async def catalogs(
        self,
        *,
        token: str,
        uuids: Iterable[str] = (),
        usernames: Iterable[str] = (),
        as_service: bool = False,
    ) -> Catalogs:
        """uuid -> username and username -> uuid maps; unknown ones are simply absent."""
        rest = "/service/user_catalogs" if as_service else "/user_catalogs"
        answer = await self._account_call(
            "POST",
            rest,
            token=token,
            needs="service" if as_service else "user",
            body={"uuids": list(uuids), "displaynames": list(usernames)},
        )
        return Catalogs.model_validate(answer)

    async def usernames(
        self, *, token: str, uuids: Iterable[str], as_service: bool = False
    ) -> dict[str, str]:
        return (await self.catalogs(token=token, uuids=uuids, as_service=as_service)).uuid_catalog

    async def uuids(
        self, *, token: str, usernames: Iterable[str], as_service: bool = False
    ) -> dict[str, str]:
        found = await self.catalogs(token=token, usernames=usernames, as_service=as_service)
        return found.displayname_catalog

    # -- quotas ------------------------------------------------------------------------------
    async def quotas(self, *, token: str, project: str | None = None) -> list[Quota]:
        """The caller's quotas, per project and resource; `project` is an id or a name."""
        answer = await self._account_call("GET", "/quotas", token=token, needs="user") or {}
        lines = [
            Quota(project=pid, resource=res, **numbers)
            for pid, per_resource in answer.items()
            for res, numbers in per_resource.items()
        ]
        if project is None:
            return lines
        wanted = {project}
        if project not in answer:
            wanted = {p.id for p in await self.projects(token=token, name=project)}
        chosen = [q for q in lines if q.project in wanted]
        if not chosen:
            raise self.http.error(
                errors.NotFound, f"no quotas from project {project} (not a member?)", 404
            )
        return chosen

    async def service_quotas(
        self, *, token: str, user: str | None = None, project: str | None = None
    ) -> list[Quota]:
        """Member quotas on the calling service's resources (service token)."""
        params = {k: v for k, v in (("user", user), ("project", project)) if v}
        answer = (
            await self._account_call(
                "GET", "/service_quotas", token=token, needs="service", params=params
            )
            or {}
        )
        return [
            Quota(holder=uid, project=pid, resource=res, **numbers)
            for uid, per_project in answer.items()
            for pid, per_resource in per_project.items()
            for res, numbers in per_resource.items()
        ]

    async def service_project_quotas(
        self, *, token: str, project: str | None = None
    ) -> list[Quota]:
        """Whole-project quotas on the calling service's resources (service token)."""
        params = {"project": project} if project else None
        answer = (
            await self._account_call(
                "GET", "/service_project_quotas", token=token, needs="service", params=params
            )
            or {}
        )
        return [
            Quota(
                project=pid,
                resource=res,
                limit=n["project_limit"],
                usage=n["project_usage"],
                pending=n["project_pending"],
                **n,
            )
            for pid, per_resource in answer.items()
            for res, n in per_resource.items()
        ]

    # -- commissions (service token) ---------------------------------------------------------
    async def pending_commissions(self, *, token: str) -> list[int]:
        """Serials still pending for the calling service."""
        answer = await self._account_call("GET", "/commissions", token=token, needs="service")
        return [int(serial) for serial in expect_list(answer, "commission serials")]

    async def commission(self, *, token: str, serial: int) -> Commission:
        try:
            answer = await self._account_call(
                "GET", f"/commissions/{int(serial)}", token=token, needs="service"
            )
        except errors.NotFound:
            raise self.http.error(
                errors.NotFound,
                f"commission {serial} is not pending (already resolved, unknown, or issued "
                "by another service)",
                404,
            ) from None
        return Commission.model_validate(answer)

    async def pending_commission_details(self, *, token: str) -> list[Commission]:
        """Every pending commission with its provisions; ones resolved meanwhile are left out."""
        serials = await self.pending_commissions(token=token)

        async def one(serial: int) -> Commission | None:
            try:
                return await self.commission(token=token, serial=serial)
            except errors.NotFound:
                return None

        found = await asyncio.gather(*(one(s) for s in serials))
        return [c for c in found if c is not None]

    async def _commission_action(self, *, token: str, serial: int, action: str) -> None:
        try:
            await self._account_call(
                "POST",
                f"/commissions/{int(serial)}/action",
                token=token,
                needs="service",
                body={action: ""},
            )
        except errors.NotFound:
            # Astakos answers an empty 404 for a commission that is no longer pending.
            raise self.http.error(
                errors.Conflict,
                f"commission {serial} is no longer pending (already resolved, or unknown)",
                404,
            ) from None

    async def accept_commission(self, *, token: str, serial: int) -> None:
        await self._commission_action(token=token, serial=serial, action="accept")

    async def reject_commission(self, *, token: str, serial: int) -> None:
        await self._commission_action(token=token, serial=serial, action="reject")

    async def resolve_commissions(
        self,
        *,
        token: str,
        accept: Iterable[int] = (),
        reject: Iterable[int] = (),
        reason: str = "",
    ) -> Resolution:
        """Accept and reject many serials in one call; per-serial failures come back in
        `failed`. `reason` is not sent: the wire has no field for it (keep it in the audit)."""
        body = {"accept": [int(s) for s in accept], "reject": [int(s) for s in reject]}
        answer = await self._account_call(
            "POST", "/commissions/action", token=token, needs="service", body=body
        )
        return Resolution.model_validate(answer)

    async def projects(
        self,
        *,
        token: str,
        state: str | None = None,
        name: str | None = None,
        owner: str | None = None,
        member_only: bool = False,
    ) -> list[Project]:
        """Projects the caller owns or belongs to (all of them for project admins)."""
        if state is not None and state not in PROJECT_STATES:
            raise errors.UserError(
                f"Unknown project state `{state}`. Use one of: {', '.join(PROJECT_STATES)}."
            )
        params = {k: v for k, v in (("name", name), ("state", state), ("owner", owner)) if v}
        if member_only:
            params["mode"] = "member"
        answer = await self._account_call(
            "GET", "/projects", token=token, needs="user", params=params
        )
        return [Project.model_validate(p) for p in expect_list(answer, "projects")]

    async def project(self, *, token: str, project_id: str) -> Project:
        answer = await self._account_call(
            "GET", f"/projects/{project_id}", token=token, needs="user"
        )
        return Project.model_validate(answer)

    async def pending_applications(self, *, token: str) -> list[Project]:
        """Projects whose last application waits for a decision (visible to admins/owners)."""
        return [p for p in await self.projects(token=token) if p.pending_application]

    async def application_action(
        self, *, token: str, project_id: str, app_id: int, action: str, reason: str = ""
    ) -> None:
        """approve / deny (project admins), dismiss / cancel (the applicant)."""
        _check(action, APPLICATION_ACTIONS, "application")
        await self._account_call(
            "POST",
            f"/projects/{project_id}/action",
            token=token,
            needs="user",
            body={action: {APPLICATION_REASON_KEY: reason, "app_id": int(app_id)}},
        )

    # -- memberships -------------------------------------------------------------------------
    async def memberships(self, *, token: str, project_id: str | None = None) -> list[Membership]:
        params = {"project": project_id} if project_id else None
        answer = await self._account_call(
            "GET", "/projects/memberships", token=token, needs="user", params=params
        )
        return [Membership.model_validate(m) for m in expect_list(answer, "memberships")]

    async def membership(self, *, token: str, membership_id: int) -> Membership:
        answer = await self._account_call(
            "GET", f"/projects/memberships/{int(membership_id)}", token=token, needs="user"
        )
        return Membership.model_validate(answer)

    async def membership_action(
        self, *, token: str, membership_id: int, action: str, reason: str = ""
    ) -> None:
        """accept / reject / remove (project owner or admin), cancel / leave (the member)."""
        _check(action, MEMBERSHIP_ACTIONS, "membership")
        await self._account_call(
            "POST",
            f"/projects/memberships/{int(membership_id)}/action",
            token=token,
            needs="user",
            body={action: reason},
        )


def _check(action: str, allowed: tuple[str, ...], what: str) -> None:
    if action not in allowed:
        raise errors.UserError(
            f"Unknown {what} action `{action}`. Use one of: {', '.join(allowed)}."
        )
