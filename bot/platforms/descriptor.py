"""One platform, one place: everything the bot core needs to know of a platform.

Each platform package (`bot/platforms/<key>/__init__.py`) defines one `PlatformDescriptor`
named `DESCRIPTOR`, and `bot/platforms/catalog.py` lists them in the order people see
platforms. The registries (platform classes, titles, digest sections, alert sources, what
waits on a person), the command names, the aliases, help, the manifest's hints, App Home and
the demo are derived from that list: adding a platform adds one entry to it and touches no
other module of the core.

A platform's code is named by reference, `"package.module:attribute"` (or `"package.module"`
for a module), and imported only when first needed, so one platform's import cost or import
failure never touches the others and a descriptor costs nothing to import. A test may give the
objects themselves instead of references.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from bot.approval_kinds import ApprovalKind

if TYPE_CHECKING:
    from contextlib import ExitStack

    from slack_bolt.async_app import AsyncApp

    from bot.charts import Chart
    from bot.commands import CommandFamily
    from bot.config import Settings
    from bot.digests.base import AlertSource, DigestContext, SectionSource
    from bot.platforms.base import Credential, Platform
    from bot.services import Services
    from bot.unfurl import Target

T = TypeVar("T")


class CommandModule(Protocol):
    """What a platform's command module gives: its family and the listeners it registers."""

    family: CommandFamily

    def register(self, app: AsyncApp, settings: Settings) -> None: ...


# What a demo platform's `start` gives: its emulators by name, and the instance settings
# (the TOML table's items) pointing at them.
DemoWorld = tuple[dict[str, Any], list[dict[str, Any]]]


@dataclass(frozen=True)
class DemoSeed:
    """A platform's part of the demo (bot.demo): which demo person links which credential
    (the link form's values), and how to start its emulators on the demo's ExitStack."""

    links: tuple[tuple[str, dict[str, str]], ...]
    start: Callable[[ExitStack], DemoWorld]


@dataclass(frozen=True)
class Unfurl:
    """Link previews of a platform's pages: `shapes`, (kind, pattern) pairs tried in order on
    a link's path, query and fragment (the named groups are the ids); `card`, the blocks a
    linked poster sees, read with their credential."""

    shapes: tuple[tuple[str, re.Pattern[str]], ...]
    card: Callable[[Services, Credential, Target], Awaitable[list[dict[str, Any]]]]


Waiting = Callable[["DigestContext"], Awaitable[list[tuple[str, list[dict[str, Any]]]]]]
# An account's charts for the App Home tab (bot.charts), drawn from its platform's data.
HomeCharts = Callable[["DigestContext"], Awaitable[list["Chart"]]]
# The project names (and ids) an account can see, what `project=` is checked against; None
# when that account cannot list projects (an Astakos service token).
ProjectLister = Callable[["DigestContext"], Awaitable[list[str] | None]]


def load(ref: Any) -> Any:
    """The object a reference names (`"module:attr"` or `"module"`); a non-string as it is."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded


@dataclass(frozen=True)
class PlatformDescriptor:
    """A platform: its identity and where its parts live. Only `key`, `title` and
    `platform` are required; a platform without digests or approvals leaves them out."""

    key: str  # "dss": the command family, store key, TOML table and command name (`/dss`)
    title: str  # "Dataiku DSS", wherever people read the platform's name
    # The `Platform` subclass (instance settings, link form, verify, status, clients).
    platform: str | type[Platform[Any]]
    # Where room is short (a modal's title has 24 characters): "Squonk2"; default the title.
    short_title: str = ""
    # The manifest's description of its slash command (Slack shows it in the command list).
    summary: str = ""
    # Other words people type for it (`/ops link dataiku`, `/ops help strategyone`).
    aliases: tuple[str, ...] = ()
    # The module with its command `family` and `register(app, settings)`.
    commands: str | CommandModule | None = None
    # Digests and alerts: its digest section, what waits on a person (App Home), and its alert
    # sources by name ("dss.futures").
    section: str | SectionSource | None = None
    waiting: str | Waiting | None = None
    alerts: str | Mapping[str, AlertSource] | None = None
    # Subscription filters (bot.filters): the fields its digest section applies, the fields
    # each alert source applies, and what lists the projects an account can see (for a
    # platform that filters by project). Declared beside the code that applies them.
    filters: str | tuple[str, ...] = ()
    alert_filters: str | Mapping[str, tuple[str, ...]] | None = None
    projects: str | ProjectLister | None = None
    # The approval kinds it declares, handled by the generic flow (bot.approval_flow), and
    # registered with bot.approval_kinds when the platform is configured. A reference
    # ("module:KINDS") keeps a platform's approval code unimported until then.
    approval_kinds: tuple[ApprovalKind, ...] | str = ()
    # Its part of the demo: its emulators and the demo people's credentials.
    demo: str | DemoSeed | None = None
    # Link previews of its pages (bot.unfurl), if it has any: their instances' hosts are the
    # manifest's unfurl domains.
    unfurl: str | Unfurl | None = None
    # The charts the App Home tab shows for an account of it (bot.home_charts), if any.
    home_charts: str | HomeCharts | None = None

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # In Settings (`descriptors`): taken as given, never parsed from text.
        return core_schema.is_instance_schema(cls)

    @property
    def slash(self) -> str:
        """The slash command's default name; SWITCHBOARD_CMD_<KEY> renames it."""
        return f"/{self.key}"

    def platform_class(self) -> type[Platform[Any]]:
        cls: type[Platform[Any]] = load(self.platform)
        return cls

    def command_module(self) -> CommandModule | None:
        module: CommandModule | None = load(self.commands) if self.commands else None
        return module

    def section_source(self) -> SectionSource | None:
        source: SectionSource | None = load(self.section) if self.section else None
        return source

    def waiting_source(self) -> Waiting | None:
        source: Waiting | None = load(self.waiting) if self.waiting else None
        return source

    def alert_sources(self) -> Mapping[str, AlertSource]:
        sources: Mapping[str, AlertSource] = load(self.alerts) if self.alerts else {}
        return sources

    def section_filters(self) -> tuple[str, ...]:
        fields: tuple[str, ...] = tuple(load(self.filters))
        return fields

    def alert_filter_fields(self) -> Mapping[str, tuple[str, ...]]:
        fields: Mapping[str, tuple[str, ...]] = (
            load(self.alert_filters) if self.alert_filters else {}
        )
        return fields

    def project_lister(self) -> ProjectLister | None:
        lister: ProjectLister | None = load(self.projects) if self.projects else None
        return lister

    def kinds(self) -> tuple[ApprovalKind, ...]:
        kinds: tuple[ApprovalKind, ...] = tuple(load(self.approval_kinds))
        return kinds

    def demo_seed(self) -> DemoSeed | None:
        seed: DemoSeed | None = load(self.demo) if self.demo else None
        return seed

    def unfurler(self) -> Unfurl | None:
        unfurl: Unfurl | None = load(self.unfurl) if self.unfurl else None
        return unfurl

    def home_chart_source(self) -> HomeCharts | None:
        source: HomeCharts | None = load(self.home_charts) if self.home_charts else None
        return source

    def names(self) -> set[str]:
        """Every word that means this platform: its key and its aliases, lower case."""
        return {self.key, *(a.lower() for a in self.aliases)}
