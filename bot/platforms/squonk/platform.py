"""Squonk2 Data Manager as the bot core sees it: instances, link form, verify, status, revoke.

Linking asks for a username and password once; `verify` exchanges them at the instance's
Keycloak (password grant, offline scope where allowed) and returns the refresh/offline token
as the secret to store. The password is dropped right there.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from urllib.parse import quote

import httpx
from pydantic import SecretStr

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
from bot.platforms.squonk import DESCRIPTOR
from bot.platforms.squonk.auth import KeycloakAuth, keycloak_http, token_claims
from bot.platforms.squonk.client import SquonkClient


class SquonkInstance(InstanceConfig):
    """One Squonk2 site. `url` is the DM API base (e.g. `https://dm.example.org/data-manager-api`),
    `keycloak_url` the Keycloak server including any `/auth` prefix."""

    keycloak_url: str
    realm: str
    client_id: str
    client_secret: SecretStr | None = None  # confidential clients only; repr shows ****


def account_page(instance: InstanceConfig) -> str:
    """The realm's account console, where a person sets or changes their own password."""
    if not isinstance(instance, SquonkInstance):
        return ""
    return f"{instance.keycloak_url.rstrip('/')}/realms/{quote(instance.realm, safe='')}/account"


class SquonkPlatform(Platform[SquonkClient]):
    key = DESCRIPTOR.key
    title = DESCRIPTOR.title
    short_title = DESCRIPTOR.short_title
    instance_model = SquonkInstance

    def __init__(
        self,
        instances: list[InstanceConfig],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(instances, transport=transport)
        self.clock = clock
        for config in self.instances.values():
            if not isinstance(config, SquonkInstance):
                raise TypeError(f"{config.name}: a Squonk2 instance needs a SquonkInstance")

    def open_client(self, config: InstanceConfig) -> SquonkClient:
        if not isinstance(config, SquonkInstance):  # checked in __init__; for the type
            raise TypeError(f"{config.name}: a Squonk2 instance needs a SquonkInstance")
        # One set of TLS settings per instance, for the DM and its Keycloak alike.
        tls = config.ssl_context()
        dm = PlatformHTTP(
            platform=self.key,
            instance=config.name,
            base_url=config.url,
            timeout=config.timeout,
            transport=self.transport,
            ssl_context=tls,
        )
        kc = keycloak_http(
            platform=self.key,
            instance=config.name,
            keycloak_url=config.keycloak_url,
            timeout=config.timeout,
            transport=self.transport,
            ssl_context=tls,
        )
        secret = config.client_secret.get_secret_value() if config.client_secret else None
        auth = KeycloakAuth(
            http=kc,
            realm=config.realm,
            client_id=config.client_id,
            client_secret=secret,
            clock=self.clock,
            # looked up at call time: the services container sets it later
            on_rotate=lambda credential, new: self.save_secret(credential, new),
        )
        return SquonkClient(http=dm, auth=auth)

    def link_fields(self, instance: InstanceConfig) -> list[LinkField]:
        return [
            LinkField("username", "Username", hint="Your Squonk2 (Keycloak) user name"),
            LinkField(
                "password",
                "Password",
                secret=True,
                hint="Used once to obtain a token; the bot never stores it. Sign in "
                "through your organisation? Set a password first at "
                f"{account_page(instance)}",
            ),
        ]

    def derive_ui_url(self, instance: InstanceConfig) -> str | None:
        # Squonk2 sites serve the Data Manager UI beside its API (…/data-manager-api and
        # …/data-manager-ui on the same host); any other layout needs the ui_url setting.
        api = instance.url.rstrip("/")
        if api.endswith("/data-manager-api"):
            return api[: -len("api")] + "ui"
        return None

    def refused_hint(self, instance: InstanceConfig) -> str:
        # A federated account (Google, SAML, LDAP...) has no Keycloak password until its
        # owner sets one; Keycloak refuses it exactly like a wrong password.
        return (
            f"If you sign in through your organisation, your account may have no "
            f"password yet: set one at {account_page(instance)}, then link again."
        )

    async def verify(self, instance: str, values: dict[str, str]) -> VerifiedAccount:
        username = (values.get("username") or "").strip()
        password = values.get("password") or ""  # as typed: spaces may be part of it
        if not username or not password:
            raise errors.UserError("Give both your Squonk2 username and password.")
        client = self.client(instance)
        started = self.clock()
        tokens = await client.auth.password_grant(username=username, password=password)
        if not tokens.refresh_token:
            raise client.auth.http.error(
                errors.Rejected, "Keycloak issued no refresh token for this client"
            )
        client.auth.remember(tokens, started=started)
        credential = Credential(
            user_id="",
            platform=self.key,
            instance=instance,
            account=username,
            secret=tokens.refresh_token,
        )
        try:
            await client.ping(credential)  # the DM accepts this realm's tokens for this user
        except errors.PlatformError:
            # Not linked after all: do not leave a live Keycloak session behind.
            with contextlib.suppress(errors.PlatformError):
                await client.auth.logout(refresh_token=tokens.refresh_token)
            client.auth.forget(credential)
            raise
        claims = token_claims(tokens.access_token)
        return VerifiedAccount(
            account=str(claims.get("preferred_username") or username),
            secret=tokens.refresh_token,
            kind="offline token" if tokens.offline else "refresh token",
            details={"offline": tokens.offline, "refresh_expires_in": tokens.refresh_expires_in},
        )

    async def status(self, instance: str) -> InstanceStatus:
        client = self.client(instance)
        started = time.perf_counter()
        try:
            version = await client.version()
        except errors.PlatformError as exc:
            return InstanceStatus(instance=instance, reachable=False, detail=exc.detail)
        latency = (time.perf_counter() - started) * 1000
        return InstanceStatus(
            instance=instance, reachable=True, latency_ms=round(latency, 1), version=version
        )

    async def revoke(self, credential: Credential) -> None:
        """Log the stored token's session out at Keycloak (unlink). Raises Unavailable if
        Keycloak cannot be reached; a token that is already dead is not an error."""
        auth = self.client(credential.instance).auth
        await auth.logout(refresh_token=auth.current_refresh_token(credential))
        auth.forget(credential)
