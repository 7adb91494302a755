"""A Synnefo Astakos emulator: identity, account, quotas, commissions, projects, memberships.

Speaks the wire protocol of /work/shared/protocols/astakos.md (what `astakosclient` 0.19 sends
and the 0.21 server answers): cloudFault error bodies, user tokens vs component (service)
tokens, the quotaholder's holding arithmetic and the project/membership state machines.

    with AstakosEmulator() as astakos:
        astakos.url                  # "http://127.0.0.1:PORT"; auth_url: url + /identity/v2.0
        astakos.quota("user:" + DEMO["alice"]["uuid"], "project:" + CHEM, "cyclades.vm")
        astakos.commission(56)               # a pending commission, or None once resolved

All routes go through one dispatcher so that unknown paths answer 400 "API endpoint not found"
and wrong methods 405 with `Allow`, as the server does, with the cloudFault body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from emulators.base import Emulator

# -- inferred / unverified choices (protocol §4.3 and [INF] tags): correct them here ---------
IDENTITY_PREFIX = "/identity/v2.0"
ACCOUNT_PREFIX = "/account/v1.0"
UI_PREFIX = "/ui"
OAUTH2_PREFIX = "/astakos/oauth2"  # [INF] path of the astakos_oauth2 endpoint
# Catalog URLs name other hosts on purpose: the client must use only their paths (§1.2).
CATALOG_HOST = "https://accounts.example.org"
TOKEN_LIFETIME = 30 * 24 * 3600.0  # [INF] deployment setting
# [INF] exact texts of quotaholder errors are deployment dependent (§4.3); tests match on
# status and fault name.
NO_CAPACITY_TEXT = "{holder} has not enough capacity of {resource}."
NO_QUANTITY_TEXT = "{holder} has not enough quantity of {resource}."
NO_HOLDING_TEXT = "{holder} has no stock of {resource}."
# [INF] projects whose quotas are hidden from GET quotas ("hidden (deleted etc.)").
QUOTA_VISIBLE_PROJECT_STATES = {"active", "suspended"}
# ---------------------------------------------------------------------------------------------

MAX_MEMBERS_INFINITE = 2**63 - 1
GiB = 1024**3

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "notAllowed",
    409: "conflict",
    411: "lengthRequired",
    413: "overLimit",
    500: "internalServerError",
    502: "badGateway",
    503: "serviceUnavailable",
}
PROJECT_STATES = {"uninitialized", "active", "suspended", "terminated", "deleted"}
PROJECT_ACTIONS = {"suspend", "unsuspend", "terminate", "reinstate"}
APPLICATION_ACTIONS = {"approve", "deny", "dismiss", "cancel"}
MEMBERSHIP_ACTIONS = {"leave", "cancel", "accept", "reject", "remove"}
PROVISION_KEYS = {"holder", "source", "resource", "quantity"}

ALICE = "c0ffee00-1111-4222-8333-444455556666"
BOB = "dead0000-1111-4222-8333-444455556666"
CAROL = "ca201000-1111-4222-8333-444455556666"
DAVE = "da7e0000-1111-4222-8333-444455556666"
ERIN = "e1210000-1111-4222-8333-444455556666"  # inactive
CHEM = "9d5a6b7c-0000-4000-8000-000000000042"
BIO = "9d5a6b7c-0000-4000-8000-000000000043"
ASTRO = "9d5a6b7c-0000-4000-8000-000000000044"
GEO = "9d5a6b7c-0000-4000-8000-000000000045"
OLD = "9d5a6b7c-0000-4000-8000-000000000046"
ML = "9d5a6b7c-0000-4000-8000-000000000047"

DEMO: dict[str, dict[str, str]] = {
    "alice": {
        "token": "aB3dE5fG7hI9jK1lM3nO5p==",
        "uuid": ALICE,
        "username": "alice@example.org",
        "name": "Alice Example",
    },
    "bob": {
        "token": "bQ7rS9tU1vW3xY5zA7bC9d==",
        "uuid": BOB,
        "username": "bob@example.org",
        "name": "Bob Builder",
    },
    "service": {"token": "cYcL4d3sS3rv1c3T0k3n==", "name": "cyclades"},
}
OTHER_TOKENS = {
    "carol": "cR0lT0k3nXXXXXXXXXXXXX==",
    "dave": "d4v3T0k3nYYYYYYYYYYYYY==",
    "erin": "3r1nT0k3nZZZZZZZZZZZZZ==",
    "pithos": "p1th0sS3rv1c3T0k3n==",
    "astakos": "4st4k0sS3rv1c3T0k3n==",
}


class Fault(Exception):
    """An Astakos error answer: cloudFault body, or an empty body where the server sends one."""

    def __init__(
        self,
        status: int,
        message: str = "",
        *,
        data: dict[str, Any] | None = None,
        empty: bool = False,
        details: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.data = status, message, data
        self.empty, self.details, self.headers = empty, details, headers or {}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        media_type="application/json; charset=UTF-8",
        headers={"Vary": "X-Auth-Token", **(headers or {})},
    )


def _empty(status: int = 200) -> Response:
    return Response(b"", status_code=status, media_type="application/json; charset=UTF-8")


def cloud_fault(
    status: int, message: str, *, data: dict[str, Any] | None = None, details: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "message": message}
    if details:
        body["details"] = ""
    if data is not None:
        body["data"] = data
    return {FAULT_NAMES.get(status, "computeFault"): body}


@dataclass
class User:
    uuid: str
    username: str  # the display name: the e-mail address
    realname: str
    token: str
    expires: float
    active: bool = True
    admin: bool = False  # project admin: sees and decides everything


@dataclass
class Component:
    name: str
    token: str
    ui_url: str
    services: list[dict[str, Any]]


@dataclass
class Resource:
    name: str
    service: str
    component: str
    description: str
    unit: str | None = None


@dataclass
class Holding:
    limit: int
    usage_min: int = 0
    usage_max: int = 0


@dataclass
class Application:
    id: int
    project: str
    state: str
    applicant: str
    fields: dict[str, Any]


@dataclass
class Project:
    id: str
    state: str
    created: float
    fields: dict[str, Any]  # name, owner, homepage, description, end_date, policies, resources
    system: bool = False
    last_application: int | None = None
    deactivated: float | None = None


@dataclass
class Membership:
    id: int
    user: str
    project: str
    state: str
    stamps: dict[str, float] = field(default_factory=dict)


@dataclass
class Commission:
    serial: int
    component: str
    name: str
    issue_time: float
    provisions: list[dict[str, Any]]


Key = tuple[str, str | None, str]
Handler = Callable[..., Awaitable[Response]]


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class AstakosEmulator(Emulator):
    name = "astakos"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._table = self._route_table()
        self.reset()

    def reset(self) -> None:
        """Back to the seeded state (tests share one running server and reset it)."""
        self.users: dict[str, User] = {}
        self.components: dict[str, Component] = {}
        self.resources: dict[str, Resource] = {}
        self.holdings: dict[Key, Holding] = {}
        self.projects: dict[str, Project] = {}
        self.applications: dict[int, Application] = {}
        self.memberships: dict[int, Membership] = {}
        self.commissions: dict[int, Commission] = {}
        self.feedback: list[dict[str, str]] = []
        self.next_serial = 56
        self._next_app = 10
        self._next_membership = 300
        self.faults.clear()
        self.requests.clear()
        _seed(self)

    # -- test helpers ------------------------------------------------------------------------
    def quota(self, holder: str, source: str | None, resource: str) -> dict[str, int]:
        """The reported numbers of one holding (§3): limit, usage (= usage_max), pending."""
        h = self.holdings[(holder, source, resource)]
        return {"limit": h.limit, "usage": h.usage_max, "pending": h.usage_max - h.usage_min}

    def commission(self, serial: int) -> dict[str, Any] | None:
        """A pending commission as the API shows it, or None once resolved / unknown."""
        c = self.commissions.get(serial)
        return None if c is None else self._commission_json(c)

    def user_by_name(self, name: str) -> User:
        return next(u for u in self.users.values() if u.username.split("@")[0] == name)

    # -- emulator plumbing -------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
        return [Route("/{path:path}", self._dispatch, methods=methods)]

    def error_response(self, status: int, message: str) -> Response:
        return _json(cloud_fault(status, message), status)

    def normalize_path(self, path: str) -> str:
        # Every server route accepts an optional trailing slash.
        return path.rstrip("/") or "/"

    def _route_table(self) -> list[tuple[re.Pattern[str], dict[str, tuple[str | None, Handler]]]]:
        a = re.escape(ACCOUNT_PREFIX)
        rows: list[tuple[str, dict[str, tuple[str | None, Handler]]]] = [
            (re.escape(IDENTITY_PREFIX) + "/tokens", {"POST": (None, self._tokens)}),
            (re.escape(UI_PREFIX) + "/get_services", {"GET": (None, self._get_services)}),
            (a + "/resources", {"GET": (None, self._get_resources)}),
            (a + "/user_catalogs", {"POST": ("user", self._user_catalogs)}),
            (a + "/service/user_catalogs", {"POST": ("service", self._user_catalogs)}),
            (a + "/feedback", {"POST": ("user", self._feedback)}),
            (a + "/quotas", {"GET": ("user", self._quotas)}),
            (a + "/service_quotas", {"GET": ("service", self._service_quotas)}),
            (a + "/service_project_quotas", {"GET": ("service", self._service_project_quotas)}),
            (
                a + "/commissions",
                {
                    "GET": ("service", self._pending_commissions),
                    "POST": ("service", self._issue_commission),
                },
            ),
            (a + "/commissions/action", {"POST": ("service", self._resolve_commissions)}),
            (a + r"/commissions/(?P<serial>\d+)", {"GET": ("service", self._get_commission)}),
            (
                a + r"/commissions/(?P<serial>\d+)/action",
                {"POST": ("service", self._commission_action)},
            ),
            (a + "/projects", {"GET": ("user", self._get_projects)}),
            (
                a + "/projects/memberships",
                {"GET": ("user", self._get_memberships), "POST": ("user", self._join_or_enroll)},
            ),
            (a + r"/projects/memberships/(?P<mid>\d+)", {"GET": ("user", self._get_membership)}),
            (
                a + r"/projects/memberships/(?P<mid>\d+)/action",
                {"POST": ("user", self._membership_action)},
            ),
            (a + r"/projects/(?P<pid>[^/]+)", {"GET": ("user", self._get_project)}),
            (a + r"/projects/(?P<pid>[^/]+)/action", {"POST": ("user", self._project_action)}),
        ]
        return [(re.compile(pattern), methods) for pattern, methods in rows]

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        try:
            for pattern, methods in self._table:
                match = pattern.fullmatch(path)
                if match is None:
                    continue
                if request.method not in methods:
                    allow = ", ".join(sorted(methods))
                    raise Fault(405, "Method not allowed", headers={"Allow": allow})
                needs, handler = methods[request.method]
                caller = self._caller(request, needs)
                return await handler(request, caller, **match.groupdict())
            raise Fault(400, "API endpoint not found")
        except Fault as fault:
            if fault.empty:
                return _empty(fault.status)
            body = cloud_fault(fault.status, fault.message, data=fault.data, details=fault.details)
            return _json(body, fault.status, fault.headers)

    # -- tokens ------------------------------------------------------------------------------
    def _caller(self, request: Request, needs: str | None) -> User | Component | None:
        if needs is None:
            return None
        token = request.headers.get("x-auth-token")
        if not token:
            raise Fault(401, "Access denied. No authentication token")
        if needs == "service":
            component = next((c for c in self.components.values() if c.token == token), None)
            if component is None:  # a user token here too: the server only knows components
                raise Fault(401, "Invalid X-Auth-Token")
            return component
        user = next((u for u in self.users.values() if u.token == token), None)
        if user is None:
            raise Fault(401, "Invalid X-Auth-Token")
        self._check_user(user)
        return user

    def _check_user(self, user: User) -> None:
        if not user.active:
            raise Fault(401, "User inactive")
        if user.expires <= self.clock():
            raise Fault(401, "Authentication expired")

    async def _tokens(self, request: Request, caller: None) -> Response:
        raw = await request.body()
        if not raw:  # public mode: only the catalog
            return _json({"access": {"serviceCatalog": self._catalog()}})
        body = _load(raw)
        auth = body.get("auth") if isinstance(body, dict) else None
        if not isinstance(auth, dict):
            raise Fault(400, "Malformed request")
        user: User | None
        if isinstance(auth.get("token"), dict) and "id" in auth["token"]:
            token = auth["token"]["id"]
            user = next((u for u in self.users.values() if u.token == token), None)
            if user is None:
                raise Fault(401, "Invalid token")
        elif isinstance(auth.get("passwordCredentials"), dict):
            creds = auth["passwordCredentials"]
            user = self.users.get(creds.get("username", ""))
            if user is None or user.token != creds.get("password"):
                raise Fault(401, "Invalid credentials")
        else:
            raise Fault(400, "Malformed request")
        self._check_user(user)
        tenant = auth.get("tenantName")
        if tenant is not None and tenant != user.uuid:
            raise Fault(400, "Not conforming tenantName")
        member_of = [
            m.project
            for m in self.memberships.values()
            if m.user == user.uuid
            and m.state == "accepted"
            and self.projects[m.project].state == "active"
        ]
        return _json(
            {
                "access": {
                    "token": {
                        "id": user.token,
                        "expires": iso(user.expires),
                        "tenant": {"id": user.uuid, "name": user.realname},
                    },
                    "user": {
                        "id": user.uuid,
                        "name": user.realname,
                        "roles": [{"id": "1", "name": "default"}],
                        "roles_links": [],
                        "projects": member_of,
                    },
                    "serviceCatalog": self._catalog(),
                }
            }
        )

    def _catalog(self) -> list[dict[str, Any]]:
        entries = []
        for component in self.components.values():
            for service in component.services:
                endpoint = {
                    "versionId": service["version"],
                    "publicURL": service["url"],
                    "SNF:uiURL": component.ui_url,
                    "region": "default",
                }
                if service["name"] == "astakos_weblogin":
                    endpoint["SNF:webloginURL"] = f"{CATALOG_HOST}/ui/login"
                entries.append(
                    {
                        "name": service["name"],
                        "type": service["type"],
                        "endpoints_links": [],
                        "endpoints": [endpoint],
                    }
                )
        return entries

    async def _get_services(self, request: Request, caller: None) -> Response:
        return _json(
            [
                {
                    "name": c.name,
                    "url": c.ui_url,
                    "order": i + 1,
                    "verbose_name": c.name.title(),
                    "cloudbar": {"show": c.name != "astakos"},
                    "dashboard": {"show": True, "order": i + 1, "description": c.name.title()},
                }
                for i, c in enumerate(self.components.values())
            ]
        )

    async def _get_resources(self, request: Request, caller: None) -> Response:
        return _json(
            {
                r.name: {
                    "service": r.service,
                    "description": r.description,
                    "unit": r.unit,
                    "ui_visible": True,
                    "api_visible": True,
                }
                for r in self.resources.values()
            }
        )

    # -- user catalogs and feedback ----------------------------------------------------------
    async def _user_catalogs(self, request: Request, caller: User | Component) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise Fault(400, "Request body should be json formatted.") from None
        if not isinstance(body, dict):
            raise Fault(400, "Request body should be json formatted.")
        service = isinstance(caller, Component)
        uuids, names = body.get("uuids", []), body.get("displaynames", [])
        everyone = list(self.users.values())
        for value, what in ((uuids, "uuids"), (names, "displaynames")):
            if value is None and service:
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise Fault(400, f"Provided {what} should be a list of strings")
        by_uuid = {u.uuid: u.username for u in everyone}
        by_name = {u.username: u.uuid for u in everyone}
        return _json(
            {
                "uuid_catalog": by_uuid
                if uuids is None
                else {x: by_uuid[x] for x in uuids if x in by_uuid},
                "displayname_catalog": by_name
                if names is None
                else {x: by_name[x] for x in names if x in by_name},
            }
        )

    async def _feedback(self, request: Request, caller: User) -> Response:
        # Labelled application/octet-stream by the client, but it is a form (§2.9).
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if "feedback_msg" not in form:
            raise Fault(400, "Invalid data")
        self.feedback.append(
            {
                "user": caller.uuid,
                "message": form["feedback_msg"][0],
                "data": form.get("feedback_data", [""])[0],
            }
        )
        return _empty()

    # -- quotas --------------------------------------------------------------------------------
    def _numbers(self, key: Key) -> dict[str, int]:
        h = self.holdings[key]
        return {"limit": h.limit, "usage": h.usage_max, "pending": h.usage_max - h.usage_min}

    def _six(self, user: str, project: str, resource: str) -> dict[str, int]:
        mine = self._numbers((f"user:{user}", f"project:{project}", resource))
        whole = self._numbers((f"project:{project}", None, resource))
        return {**mine, **{f"project_{k}": v for k, v in whole.items()}}

    def _user_holdings(self, resources: set[str]) -> list[tuple[str, str, str]]:
        """(user uuid, project uuid, resource) of every user holding on those resources."""
        found = []
        for holder, source, resource in self.holdings:
            if holder.startswith("user:") and source and resource in resources:
                found.append((holder[5:], source[8:], resource))
        return found

    async def _quotas(self, request: Request, caller: User) -> Response:
        projects = {
            m.project
            for m in self.memberships.values()
            if m.user == caller.uuid
            and m.state == "accepted"
            and self.projects[m.project].state in QUOTA_VISIBLE_PROJECT_STATES
        }
        answer: dict[str, dict[str, Any]] = {}
        for user, project, resource in self._user_holdings(set(self.resources)):
            if user == caller.uuid and project in projects:
                answer.setdefault(project, {})[resource] = self._six(user, project, resource)
        return _json(answer)

    def _owned(self, component: Component) -> set[str]:
        return {r.name for r in self.resources.values() if r.component == component.name}

    async def _service_quotas(self, request: Request, caller: Component) -> Response:
        users = _csv(request.query_params.get("user"))
        projects = _csv(request.query_params.get("project"))
        answer: dict[str, dict[str, dict[str, Any]]] = {}
        for user, project, resource in self._user_holdings(self._owned(caller)):
            if (users and user not in users) or (projects and project not in projects):
                continue
            answer.setdefault(user, {}).setdefault(project, {})[resource] = self._six(
                user, project, resource
            )
        if users and not answer:
            raise Fault(404, f"No user with UUID '{','.join(users)}'")
        return _json(answer)

    async def _service_project_quotas(self, request: Request, caller: Component) -> Response:
        projects = _csv(request.query_params.get("project"))
        owned = self._owned(caller)
        answer: dict[str, dict[str, Any]] = {}
        for holder, source, resource in self.holdings:
            if not holder.startswith("project:") or source is not None or resource not in owned:
                continue
            project = holder[8:]
            if projects and project not in projects:
                continue
            numbers = self._numbers((holder, None, resource))
            answer.setdefault(project, {})[resource] = {
                f"project_{k}": v for k, v in numbers.items()
            }
        if projects and not answer:
            raise Fault(404, f"No project with UUID '{','.join(projects)}'")
        return _json(answer)

    # -- commissions ---------------------------------------------------------------------------
    def issue(
        self,
        component: str,
        provisions: list[dict[str, Any]],
        *,
        name: str = "",
        force: bool = False,
        auto_accept: bool = False,
    ) -> int:
        """Issue a commission (§3): all-or-nothing; raises Fault 404/413 like the server."""
        merged: dict[Key, int] = {}
        for p in provisions:
            key = (p["holder"], p["source"], p["resource"])
            merged[key] = merged.get(key, 0) + p["quantity"]
        staged: dict[Key, Holding] = {}
        for key, quantity in merged.items():
            holder, source, resource = key
            shown = {"holder": holder, "source": source, "resource": resource, "quantity": quantity}
            current = staged.get(key) or self.holdings.get(key)
            if current is None:
                raise Fault(
                    404,
                    NO_HOLDING_TEXT.format(holder=holder, resource=resource),
                    data={"name": "NoHoldingError", "provision": shown},
                )
            new = Holding(current.limit, current.usage_min, current.usage_max)
            if quantity >= 0:
                new.usage_max += quantity
                if not force and new.usage_max > new.limit:
                    raise Fault(
                        413,
                        NO_CAPACITY_TEXT.format(holder=holder, resource=resource),
                        data={
                            "name": "NoCapacityError",
                            "provision": shown,
                            "limit": current.limit,
                            "usage": current.usage_max,
                        },
                    )
            else:
                new.usage_min += quantity
                if new.usage_min < 0:  # force does not help a release below zero
                    raise Fault(
                        413,
                        NO_QUANTITY_TEXT.format(holder=holder, resource=resource),
                        data={
                            "name": "NoQuantityError",
                            "provision": shown,
                            "limit": 0,
                            "usage": current.usage_min,
                        },
                    )
            staged[key] = new
        for key, new in staged.items():
            held = self.holdings[key]
            held.usage_min, held.usage_max = new.usage_min, new.usage_max
        serial = self.next_serial
        self.next_serial += 1
        self.commissions[serial] = Commission(
            serial=serial,
            component=component,
            name=name,
            issue_time=self.clock(),
            provisions=[
                {"holder": h, "source": s, "resource": r, "quantity": q}
                for (h, s, r), q in merged.items()
            ],
        )
        if auto_accept:
            self.resolve(component, serial, accept=True)
        return serial

    def resolve(self, component: str, serial: int, *, accept: bool) -> bool:
        """Accept or reject one pending commission; False if it is not this component's."""
        c = self.commissions.get(serial)
        if c is None or c.component != component:
            return False
        for p in c.provisions:
            h = self.holdings[(p["holder"], p["source"], p["resource"])]
            q = p["quantity"]
            if accept:
                if q >= 0:
                    h.usage_min += q
                else:
                    h.usage_max += q
            elif q >= 0:
                h.usage_max -= q
            else:
                h.usage_min -= q
        del self.commissions[serial]
        return True

    def _commission_json(self, c: Commission) -> dict[str, Any]:
        return {
            "serial": c.serial,
            "name": c.name,
            "issue_time": iso(c.issue_time),
            "provisions": [dict(p) for p in c.provisions],
        }

    async def _pending_commissions(self, request: Request, caller: Component) -> Response:
        return _json(sorted(s for s, c in self.commissions.items() if c.component == caller.name))

    async def _issue_commission(self, request: Request, caller: Component) -> Response:
        body = _load(await request.body())
        bad = Fault(400, "Invalid data", details=False)
        if not isinstance(body, dict) or not isinstance(body.get("provisions"), list):
            raise bad
        force, auto_accept = body.get("force", False), body.get("auto_accept", False)
        name = body.get("name", "")
        if (
            not isinstance(force, bool)
            or not isinstance(auto_accept, bool)
            or not isinstance(name, str)
        ):
            raise bad
        for p in body["provisions"]:
            if (
                not isinstance(p, dict)
                or not PROVISION_KEYS <= set(p)
                or not isinstance(p["quantity"], int)
                or isinstance(p["quantity"], bool)
            ):
                raise bad
        serial = self.issue(
            caller.name, body["provisions"], name=name, force=force, auto_accept=auto_accept
        )
        return _json({"serial": serial}, 201)

    async def _get_commission(self, request: Request, caller: Component, serial: str) -> Response:
        c = self.commissions.get(int(serial))
        if c is None or c.component != caller.name:
            raise Fault(404, empty=True)
        return _json(self._commission_json(c))

    async def _commission_action(
        self, request: Request, caller: Component, serial: str
    ) -> Response:
        body = _load(await request.body())
        if not isinstance(body, dict):
            raise Fault(400, "Malformed request")
        accept, reject = "accept" in body, "reject" in body
        if accept == reject:
            raise Fault(400, "Specify either accept or reject action.")
        if not self.resolve(caller.name, int(serial), accept=accept):
            raise Fault(404, empty=True)
        return _empty()

    async def _resolve_commissions(self, request: Request, caller: Component) -> Response:
        body = _load(await request.body())
        if not isinstance(body, dict):
            raise Fault(400, "Malformed request")
        accept, reject = body.get("accept", []), body.get("reject", [])
        if not isinstance(accept, list) or not isinstance(reject, list):
            raise Fault(400, '"accept" and "reject" should reference lists of serials.')
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in accept + reject):
            raise Fault(400, "Serials should be integer.")
        conflicting = [s for s in dict.fromkeys(accept) if s in reject]
        accepted, rejected, not_found = [], [], []
        for serials, verdict, done in ((accept, True, accepted), (reject, False, rejected)):
            for s in dict.fromkeys(serials):
                if s in conflicting:
                    continue
                (done if self.resolve(caller.name, s, accept=verdict) else not_found).append(s)
        failed = [
            [s, {"itemNotFound": {"code": 404, "message": f"serial {s} does not exist"}}]
            for s in not_found
        ]
        failed += [
            [
                s,
                {
                    "badRequest": {
                        "code": 400,
                        "message": f"cannot both accept and reject serial {s}",
                    }
                },
            ]
            for s in conflicting
        ]
        return _json({"accepted": accepted, "rejected": rejected, "failed": failed})

    # -- projects ------------------------------------------------------------------------------
    def _is_member(self, user: str, project: str) -> bool:
        return any(
            m.user == user and m.project == project and m.state == "accepted"
            for m in self.memberships.values()
        )

    def _may_see_application(self, caller: User, p: Project) -> bool:
        app = self.applications.get(p.last_application or -1)
        return (
            caller.admin
            or p.fields.get("owner") == caller.uuid
            or (app is not None and app.applicant == caller.uuid)
        )

    def _project_json(self, p: Project, caller: User) -> dict[str, Any]:
        f = p.fields
        out = {
            "id": p.id,
            "state": p.state,
            "creation_date": iso(p.created),
            "name": f["name"],
            "owner": f.get("owner"),
            "homepage": f.get("homepage", ""),
            "description": f.get("description", ""),
            "end_date": f.get("end_date"),
            "join_policy": f["join_policy"],
            "leave_policy": f["leave_policy"],
            "max_members": f.get("max_members", MAX_MEMBERS_INFINITE),
            "private": f.get("private", False),
            "system_project": p.system,
            "resources": _grants(f.get("resources", {})),
        }
        if self._may_see_application(caller, p):
            if p.last_application is not None:
                out["last_application"] = self._application_json(
                    self.applications[p.last_application]
                )
            if p.deactivated is not None:
                out["deactivation_date"] = iso(p.deactivated)
        return out

    def _application_json(self, app: Application) -> dict[str, Any]:
        f = app.fields
        return {
            "id": app.id,
            "state": app.state,
            "name": f["name"],
            "owner": f.get("owner"),
            "applicant": app.applicant,
            "homepage": f.get("homepage", ""),
            "description": f.get("description", ""),
            "start_date": f.get("start_date"),
            "end_date": f.get("end_date"),
            "comments": f.get("comments", ""),
            "join_policy": f["join_policy"],
            "leave_policy": f["leave_policy"],
            "max_members": f.get("max_members", MAX_MEMBERS_INFINITE),
            "private": f.get("private", False),
            "resources": _grants(f.get("resources", {})),
        }

    async def _get_projects(self, request: Request, caller: User) -> Response:
        q = request.query_params
        state, mode = q.get("state"), q.get("mode", "default")
        if state is not None and state not in PROJECT_STATES:
            raise Fault(400, f"Unrecognized state {state}")
        if mode not in ("default", "member"):
            raise Fault(400, f"Unrecognized mode {mode}")
        found = []
        for p in self.projects.values():
            member = self._is_member(caller.uuid, p.id)
            if mode == "member":
                if not (member and p.state == "active"):
                    continue
            elif not (
                caller.admin
                or member
                or p.fields.get("owner") == caller.uuid
                or self._may_see_application(caller, p)
            ):
                continue
            if state and p.state != state:
                continue
            if q.get("name") and p.fields["name"] != q["name"]:
                continue
            if q.get("owner") and p.fields.get("owner") != q["owner"]:
                continue
            found.append(self._project_json(p, caller))
        return _json(found)

    def _project(self, pid: str, caller: User) -> Project:
        p = self.projects.get(pid)
        if p is None:
            raise Fault(404, f"Project {pid} not found")
        if p.fields.get("private") and not (
            caller.admin
            or self._is_member(caller.uuid, pid)
            or self._may_see_application(caller, p)
        ):
            raise Fault(403, "You do not have access to this project")
        return p

    async def _get_project(self, request: Request, caller: User, pid: str) -> Response:
        return _json(self._project_json(self._project(pid, caller), caller))

    async def _project_action(self, request: Request, caller: User, pid: str) -> Response:
        p = self._project(pid, caller)
        body = _load(await request.body())
        if not isinstance(body, dict):
            raise Fault(400, "Malformed request")
        actions = [k for k in body if k in PROJECT_ACTIONS | APPLICATION_ACTIONS]
        if not actions:
            raise Fault(400, "No recognized action")
        if len(body) > 1:
            raise Fault(400, "Multiple actions not supported")
        action, args = actions[0], body[actions[0]] or {}
        if action in PROJECT_ACTIONS:
            self._do_project_action(p, action, caller)
        else:
            if "app_id" not in args:  # the server's KeyError (§2.16)
                raise Fault(500, "Internal Server Error")
            self._do_application_action(p, action, int(args["app_id"]), caller)
        return _empty()

    def _do_project_action(self, p: Project, action: str, caller: User) -> None:
        if not caller.admin:
            raise Fault(403, f"Only project admins may {action} a project")
        allowed = {
            "suspend": {"active"},
            "unsuspend": {"suspended"},
            "terminate": {"active", "suspended"},
            "reinstate": {"terminated"},
        }
        if p.state not in allowed[action]:
            raise Fault(409, f"Cannot {action} project in state '{p.state}'")
        p.state = {
            "suspend": "suspended",
            "unsuspend": "active",
            "terminate": "terminated",
            "reinstate": "active",
        }[action]
        p.deactivated = self.clock() if p.state in ("suspended", "terminated") else None

    def _do_application_action(self, p: Project, action: str, app_id: int, caller: User) -> None:
        app = self.applications.get(app_id)
        if app is None:
            raise Fault(404, f"Application {app_id} not found")
        if app.project != p.id:
            raise Fault(409, f"Application {app_id} does not refer to project {p.id}")
        if action in ("approve", "deny") and not caller.admin:
            raise Fault(403, f"Only project admins may {action} an application")
        if action in ("dismiss", "cancel") and app.applicant != caller.uuid:
            raise Fault(403, f"Only the applicant may {action} an application")
        needed = "denied" if action == "dismiss" else "pending"
        if app.state != needed:
            raise Fault(409, f"Cannot {action} application {app_id} in state '{app.state}'")
        app.state = {
            "approve": "approved",
            "deny": "denied",
            "dismiss": "dismissed",
            "cancel": "cancelled",
        }[action]
        if action == "approve":
            p.fields = dict(app.fields)
            if p.state == "uninitialized":
                p.state = "active"
                owner = p.fields.get("owner")
                if owner and not any(
                    m.user == owner and m.project == p.id for m in self.memberships.values()
                ):
                    self._add_membership(owner, p.id, "accepted")
            self._sync_holdings(p)

    # -- memberships ---------------------------------------------------------------------------
    def _add_membership(self, user: str, project: str, state: str) -> Membership:
        self._next_membership += 1
        m = Membership(self._next_membership, user, project, state, {state: self.clock()})
        self.memberships[m.id] = m
        return m

    def _allowed(self, m: Membership, caller: User) -> list[str]:
        p = self.projects[m.project]
        moderator = caller.admin or p.fields.get("owner") == caller.uuid
        mine = m.user == caller.uuid
        allowed = []
        if m.state == "accepted" and mine:
            allowed.append("leave")
        if m.state == "requested" and mine:
            allowed.append("cancel")
        if m.state in ("requested", "leave_requested") and moderator:
            allowed += ["accept", "reject"]
        if m.state in ("accepted", "suspended") and moderator:
            allowed.append("remove")
        return allowed

    def _membership_json(self, m: Membership, caller: User) -> dict[str, Any]:
        out = {
            "id": m.id,
            "user": m.user,
            "project": m.project,
            "state": m.state,
            "allowed_actions": self._allowed(m, caller),
        }
        out.update({state: iso(ts) for state, ts in m.stamps.items()})
        return out

    def _may_see_membership(self, m: Membership, caller: User) -> bool:
        return (
            caller.admin
            or m.user == caller.uuid
            or self.projects[m.project].fields.get("owner") == caller.uuid
        )

    async def _get_memberships(self, request: Request, caller: User) -> Response:
        project = request.query_params.get("project")
        return _json(
            [
                self._membership_json(m, caller)
                for m in self.memberships.values()
                if self._may_see_membership(m, caller) and (project is None or m.project == project)
            ]
        )

    def _membership(self, mid: str, caller: User) -> Membership:
        m = self.memberships.get(int(mid))
        if m is None:
            raise Fault(404, f"Membership {mid} not found")
        if not self._may_see_membership(m, caller):
            raise Fault(403, "You do not have access to this membership")
        return m

    async def _get_membership(self, request: Request, caller: User, mid: str) -> Response:
        return _json(self._membership_json(self._membership(mid, caller), caller))

    async def _membership_action(self, request: Request, caller: User, mid: str) -> Response:
        m = self._membership(mid, caller)
        body = _load(await request.body())
        if not isinstance(body, dict):
            raise Fault(400, "Malformed request")
        actions = [k for k in body if k in MEMBERSHIP_ACTIONS]
        if not actions:
            raise Fault(400, "No recognized action")
        if len(body) > 1:
            raise Fault(400, "Multiple actions not supported")
        action = actions[0]
        if action not in self._allowed(m, caller):
            moderator = caller.admin or self.projects[m.project].fields.get("owner") == caller.uuid
            if action in ("accept", "reject", "remove") and not moderator:
                raise Fault(403, f"You may not {action} members of this project")
            raise Fault(409, f"Cannot {action} membership {m.id} in state '{m.state}'")
        leave_auto = self.projects[m.project].fields["leave_policy"] == "auto"
        if action == "accept":
            m.state = "removed" if m.state == "leave_requested" else "accepted"
        else:
            m.state = {
                "reject": "rejected" if m.state == "requested" else "accepted",
                "remove": "removed",
                "cancel": "cancelled",
                "leave": "removed" if leave_auto else "leave_requested",
            }[action]
        m.stamps[m.state] = self.clock()
        self._sync_holdings(self.projects[m.project])
        return _empty()

    async def _join_or_enroll(self, request: Request, caller: User) -> Response:
        body = _load(await request.body())
        if (
            not isinstance(body, dict)
            or len(body) != 1
            or not isinstance(next(iter(body.values())), dict)
        ):
            raise Fault(400, "Malformed request")
        action, args = next(iter(body.items()))
        p = self.projects.get(str(args.get("project")))
        if action == "join":
            if p is None:
                raise Fault(404, f"Project {args.get('project')} not found")
            if p.fields["join_policy"] == "closed" or p.state != "active":
                raise Fault(409, "The project does not accept join requests")
            if any(
                m.user == caller.uuid
                and m.project == p.id
                and m.state in ("requested", "accepted", "leave_requested", "suspended")
                for m in self.memberships.values()
            ):
                raise Fault(409, "Membership already exists")
            state = "accepted" if p.fields["join_policy"] == "auto" else "requested"
            m = self._add_membership(caller.uuid, p.id, state)
        elif action == "enroll":
            if p is None:
                raise Fault(409, f"Project {args.get('project')} not found")
            if not (caller.admin or p.fields.get("owner") == caller.uuid):
                raise Fault(403, "You may not enroll members in this project")
            user = next((u for u in self.users.values() if u.username == args.get("user")), None)
            if user is None or not user.active:
                raise Fault(409, f"User {args.get('user')} does not exist or is inactive")
            m = self._add_membership(user.uuid, p.id, "accepted")
        else:
            raise Fault(400, "No recognized action")
        self._sync_holdings(p)
        return _json({"id": m.id})

    # -- holdings follow grants and memberships (§3, last paragraph) --------------------------
    def _sync_holdings(self, p: Project) -> None:
        grants = p.fields.get("resources", {})
        for resource, (project_cap, _member_cap) in grants.items():
            key = (f"project:{p.id}", None, resource)
            self.holdings.setdefault(key, Holding(0)).limit = project_cap
        for m in self.memberships.values():
            if m.project != p.id:
                continue
            for resource, (_, member_cap) in grants.items():
                key = (f"user:{m.user}", f"project:{p.id}", resource)
                limit = member_cap if m.state in ("accepted", "leave_requested") else 0
                if key in self.holdings or limit:
                    self.holdings.setdefault(key, Holding(0)).limit = limit


def _grants(resources: dict[str, tuple[int, int]]) -> dict[str, dict[str, int]]:
    return {r: {"project_capacity": pc, "member_capacity": mc} for r, (pc, mc) in resources.items()}


def _load(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise Fault(400, "Invalid JSON data") from None


def _csv(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


# -- seed ----------------------------------------------------------------------------------------
def _seed(e: AstakosEmulator) -> None:
    """Users, components, projects, memberships, usage and pending commissions."""
    now = e.clock()
    day = 86400.0
    people = [
        (ALICE, "alice@example.org", "Alice Example", DEMO["alice"]["token"], True, True),
        (BOB, "bob@example.org", "Bob Builder", DEMO["bob"]["token"], True, False),
        (CAROL, "carol@example.org", "Carol Chemist", OTHER_TOKENS["carol"], True, False),
        (DAVE, "dave@example.org", "Dave Geologist", OTHER_TOKENS["dave"], True, False),
        (ERIN, "erin@example.org", "Erin Former", OTHER_TOKENS["erin"], False, False),
    ]
    for uuid, username, realname, token, active, admin in people:
        e.users[uuid] = User(uuid, username, realname, token, now + TOKEN_LIFETIME, active, admin)

    def svc(name: str, type_: str, version: str, url: str) -> dict[str, str]:
        return {"name": name, "type": type_, "version": version, "url": url}

    e.components = {
        c.name: c
        for c in [
            Component(
                "astakos",
                OTHER_TOKENS["astakos"],
                f"{CATALOG_HOST}/ui",
                [
                    svc("astakos_account", "account", "v1.0", CATALOG_HOST + ACCOUNT_PREFIX),
                    svc("astakos_identity", "identity", "v2.0", CATALOG_HOST + IDENTITY_PREFIX),
                    svc("astakos_oauth2", "astakos_auth", "", CATALOG_HOST + OAUTH2_PREFIX),
                    svc("astakos_weblogin", "astakos_weblogin", "", CATALOG_HOST + "/ui/login"),
                ],
            ),
            Component(
                "cyclades",
                DEMO["service"]["token"],
                "https://cyclades.example.org/ui",
                [
                    svc(
                        "cyclades_compute",
                        "compute",
                        "v2.0",
                        "https://cyclades.example.org/compute/v2.0",
                    ),
                    svc(
                        "cyclades_network",
                        "network",
                        "v2.0",
                        "https://cyclades.example.org/network/v2.0",
                    ),
                    svc(
                        "cyclades_plankton",
                        "image",
                        "v1.0",
                        "https://cyclades.example.org/image/v1.0",
                    ),
                ],
            ),
            Component(
                "pithos",
                OTHER_TOKENS["pithos"],
                "https://pithos.example.org/ui",
                [
                    svc(
                        "pithos_object-store",
                        "object-store",
                        "v1",
                        "https://pithos.example.org/object-store/v1",
                    ),
                ],
            ),
        ]
    }
    for name, service, component, description, unit in [
        ("cyclades.vm", "cyclades_compute", "cyclades", "Number of virtual machines", None),
        ("cyclades.cpu", "cyclades_compute", "cyclades", "Number of virtual machine CPUs", None),
        ("cyclades.ram", "cyclades_compute", "cyclades", "Virtual machine memory", "bytes"),
        ("cyclades.disk", "cyclades_compute", "cyclades", "Virtual machine disk size", "bytes"),
        (
            "cyclades.floating_ip",
            "cyclades_network",
            "cyclades",
            "Number of Floating IP addresses",
            None,
        ),
        (
            "cyclades.network.private",
            "cyclades_network",
            "cyclades",
            "Number of private networks",
            None,
        ),
        ("pithos.diskspace", "pithos_object-store", "pithos", "Pithos account quota", "bytes"),
        (
            "astakos.pending_app",
            "astakos_account",
            "astakos",
            "Number of pending project applications",
            None,
        ),
    ]:
        e.resources[name] = Resource(name, service, component, description, unit)

    system_grants = {
        "cyclades.vm": (2, 2),
        "cyclades.cpu": (4, 4),
        "cyclades.ram": (4 * GiB, 4 * GiB),
        "cyclades.disk": (40 * GiB, 40 * GiB),
        "cyclades.floating_ip": (1, 1),
        "cyclades.network.private": (2, 2),
        "pithos.diskspace": (20 * GiB, 20 * GiB),
        "astakos.pending_app": (2, 2),
    }
    for uuid, *_ in people:
        e.projects[uuid] = Project(
            uuid,
            "active",
            now - 400 * day,
            {
                "name": f"system:{uuid}",
                "owner": None,
                "end_date": None,
                "join_policy": "closed",
                "leave_policy": "closed",
                "private": False,
                "resources": dict(system_grants),
            },
            system=True,
        )
        e.memberships[len(e.memberships) + 1] = Membership(
            len(e.memberships) + 1, uuid, uuid, "accepted", {"accepted": now - 400 * day}
        )

    def fields(
        name: str,
        owner: str,
        description: str,
        resources: dict[str, tuple[int, int]],
        join: str = "moderated",
        **extra: Any,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "owner": owner,
            "homepage": f"https://{name}",
            "description": description,
            "end_date": iso(now + 300 * day),
            "start_date": None,
            "comments": "",
            "join_policy": join,
            "leave_policy": "auto",
            "max_members": MAX_MEMBERS_INFINITE,
            "private": False,
            "resources": resources,
            **extra,
        }

    chem = fields(
        "chem.example.org",
        ALICE,
        "Chemistry group",
        {
            "cyclades.vm": (10, 5),
            "cyclades.cpu": (40, 16),
            "cyclades.ram": (64 * GiB, 16 * GiB),
            "cyclades.disk": (500 * GiB, 200 * GiB),
            "cyclades.floating_ip": (4, 2),
        },
    )
    bio = fields(
        "bio.example.org",
        BOB,
        "Bioinformatics pipelines",
        {
            "cyclades.vm": (6, 3),
            "cyclades.ram": (24 * GiB, 8 * GiB),
            "pithos.diskspace": (1024 * GiB, 200 * GiB),
        },
    )
    bio_more = dict(
        bio,
        resources=dict(bio["resources"], **{"cyclades.vm": (10, 5)}),
        comments="more VMs for the spring sequencing run",
    )
    astro = fields(
        "astro.example.org",
        CAROL,
        "Telescope image reduction",
        {"cyclades.vm": (8, 4), "pithos.diskspace": (2048 * GiB, 512 * GiB)},
        comments="new observing season",
    )
    geo = fields("geo.example.org", DAVE, "Seismic models", {"cyclades.vm": (4, 2)})
    old = fields("old.example.org", ALICE, "Finished 2023 course", {"cyclades.vm": (20, 1)})
    ml = fields(
        "ml.example.org",
        BOB,
        "GPU experiments",
        {"cyclades.vm": (50, 25)},
        comments="please approve",
    )

    def project(
        pid: str,
        state: str,
        f: dict[str, Any],
        apps: list[tuple[str, str, dict[str, Any]]],
        age: float,
    ) -> None:
        e.projects[pid] = Project(pid, state, now - age * day, dict(f))
        for app_state, applicant, app_fields in apps:
            e._next_app += 1
            e.applications[e._next_app] = Application(
                e._next_app, pid, app_state, applicant, dict(app_fields)
            )
            e.projects[pid].last_application = e._next_app
        if state in ("suspended", "terminated"):
            e.projects[pid].deactivated = now - 10 * day

    project(CHEM, "active", chem, [("approved", ALICE, chem)], 120)
    project(BIO, "active", bio, [("approved", BOB, bio), ("pending", BOB, bio_more)], 90)
    project(ASTRO, "uninitialized", astro, [("pending", CAROL, astro)], 2)
    project(GEO, "suspended", geo, [("approved", DAVE, geo)], 200)
    project(OLD, "terminated", old, [("approved", ALICE, old)], 700)
    project(ML, "uninitialized", ml, [("denied", BOB, ml)], 20)

    for user, pid, state, age in [
        (ALICE, CHEM, "accepted", 119),
        (BOB, CHEM, "accepted", 100),
        (CAROL, CHEM, "requested", 1),
        (DAVE, CHEM, "rejected", 30),
        (BOB, BIO, "accepted", 89),
        (ALICE, BIO, "accepted", 60),
        (DAVE, BIO, "requested", 3),
        (DAVE, GEO, "accepted", 199),
        (ALICE, OLD, "accepted", 699),
    ]:
        m = e._add_membership(user, pid, state)
        m.stamps = {"requested": now - age * day}
        if state != "requested":
            m.stamps[state] = now - age * day + 300
    for p in e.projects.values():
        if p.state != "uninitialized":
            e._sync_holdings(p)

    # Committed usage (usage_min = usage_max); project holdings carry the members' sum.
    committed = [
        (ALICE, ALICE, "cyclades.vm", 1),
        (ALICE, ALICE, "cyclades.ram", 3 * GiB + GiB // 2),
        (ALICE, ALICE, "cyclades.cpu", 2),
        (ALICE, ALICE, "pithos.diskspace", 12 * GiB),
        (ALICE, CHEM, "cyclades.vm", 4),
        (ALICE, CHEM, "cyclades.cpu", 10),
        (ALICE, CHEM, "cyclades.ram", 14 * GiB),
        (ALICE, CHEM, "cyclades.disk", 120 * GiB),
        (ALICE, CHEM, "cyclades.floating_ip", 1),
        (BOB, CHEM, "cyclades.vm", 2),
        (BOB, CHEM, "cyclades.cpu", 4),
        (BOB, CHEM, "cyclades.ram", 4 * GiB),
        (ALICE, BIO, "cyclades.vm", 1),
        (ALICE, BIO, "pithos.diskspace", 180 * GiB),
        (BOB, BIO, "cyclades.vm", 2),
        (BOB, BIO, "cyclades.ram", 6 * GiB),
        (BOB, BOB, "cyclades.vm", 1),
        (BOB, BOB, "cyclades.cpu", 1),
        (DAVE, GEO, "cyclades.vm", 2),
    ]
    for user, pid, resource, amount in committed:
        for key in (
            (f"user:{user}", f"project:{pid}", resource),
            (f"project:{pid}", None, resource),
        ):
            h = e.holdings[key]
            h.usage_min += amount
            h.usage_max += amount

    def both(user: str, pid: str, changes: dict[str, int]) -> list[dict[str, Any]]:
        out = []
        for resource, q in changes.items():
            out.append(
                {
                    "holder": f"user:{user}",
                    "source": f"project:{pid}",
                    "resource": resource,
                    "quantity": q,
                }
            )
            out.append(
                {"holder": f"project:{pid}", "source": None, "resource": resource, "quantity": q}
            )
        return out

    # Pending commissions, issued through the real arithmetic so the numbers stay consistent.
    pending = [
        (
            -3 * 3600,
            "cyclades",
            "create vm alice-web-3",
            both(ALICE, CHEM, {"cyclades.vm": 1, "cyclades.cpu": 2, "cyclades.ram": 2 * GiB}),
            False,
        ),
        (-2 * 3600, "cyclades", "resize vm bob-db-1", both(BOB, CHEM, {"cyclades.cpu": 4}), False),
        (
            -90 * 60,
            "cyclades",
            "destroy vm alice-scratch",
            both(ALICE, ALICE, {"cyclades.vm": -1, "cyclades.cpu": -2}),
            False,
        ),
        # Issued with force by an operator: accepting it leaves bob over his system limit.
        (
            -45 * 60,
            "cyclades",
            "create vm bob-batch-1 (forced)",
            both(BOB, BOB, {"cyclades.vm": 2, "cyclades.cpu": 4}),
            True,
        ),
        (
            -20 * 60,
            "pithos",
            "upload sequencing-run-7",
            both(ALICE, BIO, {"pithos.diskspace": 10 * GiB}),
            False,
        ),
    ]
    for offset, component, name, provisions, force in pending:
        serial = e.issue(component, provisions, name=name, force=force)
        e.commissions[serial].issue_time = now + offset
