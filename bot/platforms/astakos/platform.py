"""Synnefo Astakos as the bot core sees it: link form, token verification, instance status.

A person links a user token (quotas, projects, memberships), a service (component) token,
e.g. Cyclades', for commission handling, or both, per instance: `/ops link astakos
<instance>` keeps whichever it is under its role, `... service` asks for a service token.
Verification asks Astakos whose token it is, so the account shows as the username, or as
the service name.

The instance URL is the identity endpoint (the official client's `auth_url`), e.g.
`https://accounts.example.org/identity/v2.0`; a bare host assumes `/identity/v2.0`.
"""

from __future__ import annotations

import time
from typing import ClassVar

from bot import errors
from bot.platforms.astakos import DESCRIPTOR
from bot.platforms.astakos.client import ACCOUNT_SERVICE, AstakosClient
from bot.platforms.base import (
    InstanceConfig,
    InstanceStatus,
    LinkField,
    Platform,
    VerifiedAccount,
)

SERVICE = "service"  # the link role of a service token (bot.store.links); a user token: ''


class AstakosPlatform(Platform[AstakosClient]):
    key = DESCRIPTOR.key
    title = DESCRIPTOR.title
    short_title = DESCRIPTOR.short_title
    # A person may hold both on one instance: a user token (quotas, projects, members) and a
    # service token (commissions, the service's quotas); each command takes the one it needs.
    link_roles: ClassVar[dict[str, str]] = {SERVICE: "service token"}

    def open_client(self, config: InstanceConfig) -> AstakosClient:
        return AstakosClient(
            instance=config.name,
            auth_url=config.url,
            timeout=config.timeout,
            transport=self.transport,
            ssl_context=config.ssl_context(),
        )

    def derive_ui_url(self, instance: InstanceConfig) -> str | None:
        # Synnefo serves the Astakos web UI at `ui/` beside `identity/v2.0` on the same
        # host; other layouts need the ui_url setting.
        url = instance.url.rstrip("/")
        suffix = "/identity/v2.0"
        return url[: -len(suffix)] + "/ui" if url.endswith(suffix) else None

    def link_fields(self, instance: InstanceConfig) -> list[LinkField]:
        return [
            LinkField(
                name="token",
                label="Token",
                secret=True,
                hint="Your API token (Astakos UI > API access), or a service token "
                "(e.g. Cyclades') to handle commissions.",
            )
        ]

    async def verify(self, instance: str, values: dict[str, str]) -> VerifiedAccount:
        token = (values.get("token") or "").strip()
        if not token:
            raise errors.UserError("Paste an Astakos token to link your account.")
        info = await self.client(instance).authenticate(token=token)
        if info.kind == "service":
            return VerifiedAccount(
                account=info.name,
                secret=token,
                kind="service token",
                details={"service": info.name},
                role=SERVICE,
            )
        return VerifiedAccount(
            account=info.username or info.name,
            secret=token,
            kind="user token",
            details={"uuid": info.uuid, "name": info.name, "projects": list(info.projects)},
        )

    async def status(self, instance: str) -> InstanceStatus:
        """Reachable, latency and version from the public catalog (no credential needed).
        Only a timeout, a refused connection or a 5xx is unreachable; any other refusal
        still proves Astakos is there."""
        name = self.instance(instance).name
        started = time.perf_counter()
        try:
            endpoints = await self.client(name).catalog()
        except errors.Unavailable as exc:
            return InstanceStatus(instance=name, reachable=False, detail=exc.detail)
        except errors.PlatformError as exc:
            latency = round((time.perf_counter() - started) * 1000, 1)
            return InstanceStatus(
                instance=name, reachable=True, latency_ms=latency, detail=exc.detail
            )
        latency = round((time.perf_counter() - started) * 1000, 1)
        versions = {e.service: e.version for e in endpoints}
        version = f"account {versions.get(ACCOUNT_SERVICE, '?')}"
        if versions.get("astakos_identity"):
            version = f"identity {versions['astakos_identity']}, {version}"
        return InstanceStatus(
            instance=name,
            reachable=True,
            latency_ms=latency,
            version=version,
            detail=f"{len(versions)} services in catalog",
        )
