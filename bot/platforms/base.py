"""What every platform gives the bot core: its instances, its link form, verify, status.

A platform package (`bot/platforms/<key>/`) holds `client.py` (async client over
`PlatformHTTP`), `models.py` (pydantic response shapes) and `platform.py`, a subclass of
`Platform` below. The core (link modal, `/ops links`, `/ops status`, App Home, the vault) only
talks to this interface, so adding a platform adds no code to the core.

A credential travels as `Credential`: who owns it and the decrypted secret string. Platforms
whose secret has several parts (mode + user + password, a refresh token and its realm ...) keep
them as one JSON string. Where a platform rotates its secret (Keycloak refresh tokens), it calls
`self.save_secret(credential, new_secret)`, which the services container wires to the store.
"""

from __future__ import annotations

import ssl
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from bot import errors


class InstanceConfig(BaseModel):
    """One configured platform instance. Platforms subclass this to add their own fields.

    `ui_url`: where people open the platform in a browser ("Open in ..." buttons); platforms
    whose UI lives beside the API derive it when it is not set.
    `ca_bundle`: a PEM file of the CA(s) to trust instead of the system's (a company CA).
    `client_cert` / `client_key`: a PEM client certificate (and its key, when not in the same
    file) for servers that require mutual TLS.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str
    timeout: float = 10.0
    ui_url: str | None = None
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS settings for this instance's HTTP client; None: the system's defaults.
        A missing or unreadable file fails at start-up with the instance named."""
        if not (self.ca_bundle or self.client_cert):
            return None
        try:
            context = ssl.create_default_context(cafile=self.ca_bundle)
            if self.client_cert:
                context.load_cert_chain(self.client_cert, self.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"instance {self.name}: cannot load its TLS files ({type(exc).__name__}: {exc})"
            ) from None
        return context


@dataclass(frozen=True)
class LinkField:
    """One input of the link form (modal or web form)."""

    name: str
    label: str
    secret: bool = False
    optional: bool = False
    hint: str = ""
    # (value, label) pairs make a select instead of a text input.
    choices: tuple[tuple[str, str], ...] = ()
    initial: str = ""


@dataclass(frozen=True)
class VerifiedAccount:
    """What `verify` learned: the account name shown to people and the secret to store."""

    account: str
    secret: str
    kind: str = ""  # "API key", "user token", "service token", "refresh token" ...
    details: dict[str, Any] = field(default_factory=dict)  # non-secret extras
    # Which of the person's links on the instance this is: '' the usual one, or a second
    # kind the platform declares in `link_roles` (an Astakos service token: "service").
    role: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"VerifiedAccount(account={self.account!r}, kind={self.kind!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class Credential:
    """A linked account with its decrypted secret, as handlers and clients use it."""

    user_id: str
    platform: str
    instance: str
    account: str
    secret: str
    kind: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    role: str = ""  # '' or the platform's second kind of link (bot.store.links)

    def __repr__(self) -> str:  # never print the secret
        return (
            f"Credential(user_id={self.user_id!r}, platform={self.platform!r}, "
            f"instance={self.instance!r}, account={self.account!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class InstanceStatus:
    instance: str
    reachable: bool
    latency_ms: float | None = None
    version: str | None = None
    detail: str = ""


SecretSaver = Callable[[Credential, str], Awaitable[None]]


async def _no_saver(credential: Credential, secret: str) -> None:
    return None


class Closable(Protocol):
    async def aclose(self) -> None: ...


ClientT = TypeVar("ClientT", bound=Closable)


class Platform(ABC, Generic[ClientT]):
    """A platform as the bot core sees it. `client(instance)` gives the instance's client
    (of type `ClientT`), opened by `open_client` on first use and kept until `aclose`."""

    key: ClassVar[str]  # "dss": command family, store key, TOML table name
    title: ClassVar[str]  # "Dataiku DSS"
    short_title: ClassVar[str] = ""  # where room is short ("Squonk2"); "": the title
    instance_model: ClassVar[type[InstanceConfig]] = InstanceConfig
    # A second kind of credential a person may link beside the usual one on an instance, by
    # role word -> what it is in words (`/ops link astakos <instance> service`: an Astakos
    # service token). `verify` sets the role from what the credential turns out to be.
    link_roles: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        instances: list[InstanceConfig],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.instances: dict[str, InstanceConfig] = {i.name: i for i in instances}
        self.transport = transport  # tests may inject one; normally None (real network)
        self.save_secret: SecretSaver = _no_saver
        self._clients: dict[str, ClientT] = {}

    def client(self, instance_name: str | None = None) -> ClientT:
        """The named (or the only/first) instance's client, opened on first use."""
        config = self.instance(instance_name)
        client = self._clients.get(config.name)
        if client is None:
            client = self._clients[config.name] = self.open_client(config)
        return client

    @abstractmethod
    def open_client(self, config: InstanceConfig) -> ClientT:
        """A new client for one instance (`client` keeps it)."""

    def instance(self, name: str | None = None) -> InstanceConfig:
        """The named instance, or the only/first one when no name is given."""
        if not self.instances:
            raise errors.UserError(f"No {self.title} instance is configured.")
        if name is None:
            return next(iter(self.instances.values()))
        try:
            return self.instances[name]
        except KeyError:
            known = ", ".join(f"`{n}`" for n in self.instances)
            raise errors.UserError(
                f"There is no {self.title} instance `{name}`. Configured: {known}."
            ) from None

    @abstractmethod
    def link_fields(self, instance: InstanceConfig) -> list[LinkField]:
        """The inputs the link form asks for (never the URL: instances are configured)."""

    @abstractmethod
    async def verify(self, instance: str, values: dict[str, str]) -> VerifiedAccount:
        """Check the credential against the platform; raise a `bot.errors` error if refused."""

    @abstractmethod
    async def status(self, instance: str) -> InstanceStatus:
        """Reachable?, latency, version. Never raises for an outage: reports it."""

    def ui_url(self, instance: str | None = None) -> str | None:
        """Where people open this instance in a browser: the `ui_url` setting, else what the
        platform derives from its API URL; None when unknown (no "Open in" button)."""
        config = self.instance(instance)
        url = config.ui_url or self.derive_ui_url(config)
        return url.rstrip("/") if url else None

    def derive_ui_url(self, instance: InstanceConfig) -> str | None:
        """The UI's URL when it lives beside the API. Default: unknown."""
        return None

    def refused_hint(self, instance: InstanceConfig) -> str:
        """A line added under the link form's secret field when the platform refused the
        credential: where the person can fix it. Default: nothing."""
        return ""

    async def revoke(self, credential: Credential) -> None:
        """Revoke the stored token where the platform can (on unlink). Default: nothing."""
        return None

    async def aclose(self) -> None:
        """Close the per-instance clients; a later `client` call opens a fresh one."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
