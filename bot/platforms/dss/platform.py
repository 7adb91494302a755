"""Dataiku DSS as the bot core sees it: link form, key verification, instance status.

A person links one personal (or global) API key per instance. Verification asks DSS who the
key is (`/auth/info`) and whether it is admin (probe of an admin-only read), so `/dss whoami`
and the App Home can show it without another call.
"""

from __future__ import annotations

import time

from bot import errors
from bot.platforms.base import (
    InstanceConfig,
    InstanceStatus,
    LinkField,
    Platform,
    VerifiedAccount,
)
from bot.platforms.dss import DESCRIPTOR
from bot.platforms.dss.client import DEFAULT_BASE_PATH, DSSClient


class DSSInstance(InstanceConfig):
    """A DSS instance. `base_path`: `/public/api` (REST docs) or `/dip/publicapi`."""

    base_path: str = DEFAULT_BASE_PATH


class DSSPlatform(Platform[DSSClient]):
    key = DESCRIPTOR.key
    title = DESCRIPTOR.title
    short_title = DESCRIPTOR.short_title
    instance_model = DSSInstance

    def open_client(self, config: InstanceConfig) -> DSSClient:
        return DSSClient(
            instance=config.name,
            base_url=config.url,
            base_path=getattr(config, "base_path", DEFAULT_BASE_PATH),
            timeout=config.timeout,
            transport=self.transport,
            ssl_context=config.ssl_context(),
        )

    def derive_ui_url(self, instance: InstanceConfig) -> str | None:
        # DSS serves its UI and its public API from the same origin.
        return instance.url

    def link_fields(self, instance: InstanceConfig) -> list[LinkField]:
        return [
            LinkField(
                name="api_key",
                label="API key",
                secret=True,
                hint="A personal API key: DSS > your profile > API keys > New key.",
            )
        ]

    async def verify(self, instance: str, values: dict[str, str]) -> VerifiedAccount:
        api_key = (values.get("api_key") or "").strip()
        if not api_key:
            raise errors.UserError("Paste a DSS API key to link your account.")
        client = self.client(instance)
        info = await client.auth_info(api_key=api_key)
        admin = await client.is_admin(api_key=api_key)
        return VerifiedAccount(
            account=info.login,
            secret=api_key,
            kind="API key",
            details={
                "groups": list(info.groups),
                "profile": info.profile,
                "admin": admin,
                "auth_source": info.auth_source,
            },
        )

    async def status(self, instance: str) -> InstanceStatus:
        """Reachable, latency and version without any credential: DSS answers even a 401
        with its `DSS-Version` header. Only a timeout or a refused connection is unreachable."""
        name = self.instance(instance).name
        started = time.perf_counter()
        try:
            probe = await self.client(name).probe()
        except errors.Unavailable as exc:
            return InstanceStatus(instance=name, reachable=False, detail=exc.detail)
        latency = round((time.perf_counter() - started) * 1000, 1)
        return InstanceStatus(
            instance=name,
            reachable=True,
            latency_ms=latency,
            version=probe.version,
            detail=probe.detail,
        )
