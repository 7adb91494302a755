"""Strategy One as the bot core sees it: link form, verify, instance status, unlink, clients.

Linking logs in with the chosen mode. Where the server allows it, a password login is exchanged
for an API token and only the token is kept; otherwise the password is kept (encrypted by the
vault). `VerifiedAccount.kind` says which ("API token" or "password") for /ops links.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from bot import errors
from bot.platforms.base import (
    Credential,
    InstanceConfig,
    InstanceStatus,
    LinkField,
    Platform,
    VerifiedAccount,
)
from bot.platforms.mstr import DESCRIPTOR
from bot.platforms.mstr.client import StrategyOneClient
from bot.platforms.mstr.sessions import KIND_API_TOKEN, LOGIN_API_TOKEN, MODE_NAMES, Login

log = logging.getLogger(__name__)

TOKEN_FOR_PASSWORD = "API token instead of your password"
_MODE_CHOICES = {1: ("1", "Standard"), 16: ("16", "LDAP"), 4096: ("4096", "API token")}


class StrategyOneInstance(InstanceConfig):
    """A configured Strategy One (MicroStrategy Library) server. `url` may include the
    context path, e.g. https://bi.example.com/MicroStrategyLibrary."""

    # Login modes offered in the link form (an operator may leave LDAP out).
    login_modes: tuple[int, ...] = (1, 16, 4096)


class StrategyOnePlatform(Platform[StrategyOneClient]):
    key = DESCRIPTOR.key
    title = DESCRIPTOR.title
    short_title = DESCRIPTOR.short_title
    instance_model = StrategyOneInstance

    def __init__(
        self,
        instances: list[InstanceConfig],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(instances, transport=transport)
        self.clock = clock

    def open_client(self, config: InstanceConfig) -> StrategyOneClient:
        # Long-lived: it holds that instance's user sessions.
        return StrategyOneClient(config, clock=self.clock, transport=self.transport)

    def link_fields(self, instance: InstanceConfig) -> list[LinkField]:
        modes = getattr(instance, "login_modes", (1, 16, 4096))
        return [
            LinkField(
                "mode",
                "Login mode",
                choices=tuple(_MODE_CHOICES[m] for m in modes if m in _MODE_CHOICES),
                initial=str(modes[0]) if modes else "1",
            ),
            LinkField("username", "Username", optional=True, hint="Not needed for an API token."),
            LinkField(
                "password",
                "Password or API token",
                secret=True,
                hint="A password is exchanged for an API token where the server allows "
                "it; only the token is kept.",
            ),
        ]

    async def verify(self, instance: str, values: dict[str, str]) -> VerifiedAccount:
        config = self.instance(instance)
        login = _login_from_form(values, getattr(config, "login_modes", (1, 16, 4096)))
        info, kept = await self.client(config.name).verify_login(login=login)
        account = login.username or info.full_name or info.id
        # In words a person reads in /ops links: after a password login, say that a token
        # stands in for the password (a bare "API token" reads as if they had typed one).
        kind = kept.kind
        if kept.kind == KIND_API_TOKEN and login.mode != LOGIN_API_TOKEN:
            kind = TOKEN_FOR_PASSWORD
        return VerifiedAccount(
            account=account,
            secret=kept.to_secret(),
            kind=kind,
            details={
                "user_id": info.id,
                "full_name": info.full_name,
                "login_mode": MODE_NAMES[login.mode],
                "kept": kept.kind,
            },
        )

    async def status(self, instance: str) -> InstanceStatus:
        name = self.instance(instance).name
        started = time.perf_counter()
        try:
            versions = await self.client(name).server_status()
        except errors.PlatformError as exc:
            return InstanceStatus(name, reachable=False, detail=exc.detail)
        latency = (time.perf_counter() - started) * 1000
        return InstanceStatus(
            name,
            reachable=True,
            latency_ms=round(latency, 1),
            version=versions.iserver_version,
            detail=f"web {versions.web_version}",
        )

    async def revoke(self, credential: Credential) -> None:
        """On unlink: log out this user's open sessions. The spec has no API token
        revocation endpoint, so a kept token stays valid on the server until an admin
        removes it."""
        if credential.instance not in self.instances or credential.instance not in self._clients:
            return
        await self._clients[credential.instance].logout(user_id=credential.user_id)


def _login_from_form(values: dict[str, str], allowed: tuple[int, ...]) -> Login:
    try:
        mode = int(str(values.get("mode") or "1").strip())
    except ValueError:
        raise errors.UserError("Pick a login mode: standard, LDAP or API token.") from None
    if mode not in allowed:
        raise errors.UserError(
            f"Login mode {MODE_NAMES.get(mode, mode)} is not offered on this instance."
        )
    username = str(values.get("username") or "").strip()
    secret = str(values.get("password") or "")
    if mode == LOGIN_API_TOKEN:
        return Login(mode=mode, username=username, api_token=secret.strip())
    return Login(mode=mode, username=username, password=secret)
