"""Atoti Limits as the bot core sees it: link form, verify, status, and a client per instance."""

from __future__ import annotations

import time

from bot import errors
from bot.platforms.base import (
    Credential,
    InstanceConfig,
    InstanceStatus,
    LinkField,
    Platform,
    VerifiedAccount,
)
from bot.platforms.http import PlatformHTTP
from bot.platforms.limits import DESCRIPTOR
from bot.platforms.limits.client import LimitsClient, encode_secret, limits_reason


class LimitsPlatform(Platform[LimitsClient]):
    key = DESCRIPTOR.key
    title = DESCRIPTOR.title
    short_title = DESCRIPTOR.short_title

    def open_client(self, config: InstanceConfig) -> LimitsClient:
        return LimitsClient(
            PlatformHTTP(
                platform=self.key,
                instance=config.name,
                base_url=config.url,
                timeout=config.timeout,
                reason=limits_reason,
                transport=self.transport,
                headers={"Accept": "application/json"},
                ssl_context=config.ssl_context(),
            )
        )

    def link_fields(self, instance: InstanceConfig) -> list[LinkField]:
        return [
            LinkField("username", "Username", hint="Your Atoti Limits login"),
            LinkField("password", "Password", secret=True),
        ]

    async def verify(self, instance: str, values: dict[str, str]) -> VerifiedAccount:
        """Log in with Basic auth; a refused login raises Unauthorized, a missing role Forbidden."""
        username = (values.get("username") or "").strip()
        password = values.get("password") or ""
        if not username or not password:
            raise errors.UserError("Give both your Atoti Limits username and password.")
        name = self.instance(instance).name
        secret = encode_secret(username, password)
        # Not stored yet: a credential only to try the login with.
        probe = Credential(
            user_id="",
            platform=self.key,
            instance=name,
            account=username,
            secret=secret,
            kind="password",
        )
        as_of = await self.client(name).as_of_date(probe)
        return VerifiedAccount(
            account=username, secret=secret, kind="password", details={"as_of_date": as_of}
        )

    async def status(self, instance: str) -> InstanceStatus:
        """Ping without credentials: an answer, even 401, means the server is up. The version
        comes from the public `/versions/rest` (what the official UI reads first)."""
        name = self.instance(instance).name
        started = time.perf_counter()
        try:
            version = await self.client(name).versions()
        except errors.Unavailable as exc:
            return InstanceStatus(name, reachable=False, detail=exc.detail)
        except errors.PlatformError:
            version = None  # an older server without it: the ping still tells
        try:
            up_since = await self.client(name).ping()
        except (errors.Unauthorized, errors.Forbidden):
            latency = round((time.perf_counter() - started) * 1000, 1)
            return InstanceStatus(
                name,
                reachable=True,
                latency_ms=latency,
                version=version,
                detail="up (the ping needs credentials)",
            )
        except errors.Unavailable as exc:
            return InstanceStatus(name, reachable=False, detail=exc.detail)
        except errors.PlatformError as exc:
            latency = round((time.perf_counter() - started) * 1000, 1)
            return InstanceStatus(
                name,
                reachable=True,
                latency_ms=latency,
                version=version,
                detail=f"answered the ping with an error: {exc.detail}",
            )
        latency = round((time.perf_counter() - started) * 1000, 1)
        return InstanceStatus(
            name,
            reachable=True,
            latency_ms=latency,
            version=version,
            detail=f"up since {up_since:%Y-%m-%d %H:%M} UTC",
        )
