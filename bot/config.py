"""Settings: the environment for secrets and runtime, a TOML file for platform instances.

    SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET   HTTP mode
    SLACK_APP_TOKEN                         Socket Mode (with SLACK_BOT_TOKEN)
    SLACK_API_URL                           Web API base (the emulator, or slack-gov.com)
    SLACK_TEAM_ID                           the workspace served (default: from auth.test)
    SWITCHBOARD_SECRET_KEY                  Fernet key(s), comma separated, newest first
    SWITCHBOARD_DATABASE_URL                postgresql://... for PostgreSQL; unset or sqlite:PATH
                                            for the SQLite file (also `database_url` in the TOML)
    SWITCHBOARD_DATA_DIR / SWITCHBOARD_DB   where the SQLite file (and a generated key) live
    SWITCHBOARD_CONFIG                      the TOML file of platform instances
    SWITCHBOARD_OPERATORS                   Slack user ids allowed `/ops audit`, comma separated
    SWITCHBOARD_PUBLIC_URL                  enables the one-time web link flow

The TOML file has one array of tables per platform, and optional approval restrictions:

    operators = ["U0ALICE"]

    [[dss]]
    name = "prod"
    url = "https://dss.example.com"

    [approvers]                 # action -> Slack user ids or user-group ids (S...)
    "astakos.commission" = ["U0ALICE", "S0ADMINS"]

    [approvers."limits.approve"]  # or a table: who, how many, whether the requester may,
    who = ["S0RISK"]              # and for how long a card takes clicks
    required = 2
    maker_checker = true
    expires_after = "3d"
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.platforms.catalog import DESCRIPTORS
from bot.platforms.descriptor import PlatformDescriptor

# Values people leave in templates; start-up refuses them as if they were missing.
PLACEHOLDERS = {
    "",
    "changeme",
    "change-me",
    "xoxb-...",
    "xapp-...",
    "xoxb-your-token",
    "xapp-your-token",
    "your-signing-secret",
    "todo",
    "placeholder",
}


def is_placeholder(value: str) -> bool:
    """A template's value rather than a real one: the README writes `xoxb-…` and `…`."""
    text = value.strip().lower()
    return (
        text in PLACEHOLDERS
        or text.endswith(("…", "..."))
        or text in ("xoxb-", "xapp-")
        or (text.startswith("<") and text.endswith(">"))
    )


NO_PLATFORMS = (
    "No platform instance is configured: set SWITCHBOARD_CONFIG to a TOML file "
    'with at least one (e.g. [[dss]] name = "prod" url = "https://..."; see the '
    "README). Until then every platform command says it is not configured."
)


class ConfigError(Exception):
    """A setting is missing or wrong. The message is one line an operator can act on."""


def _csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CMD_PREFIX = "SWITCHBOARD_CMD_"


class Commands(BaseSettings):
    """Slash command names: `/ops`, and `/<key>` for each platform unless
    SWITCHBOARD_CMD_<KEY> (or a `commands` value) says otherwise. `switchboard manifest`
    prints a manifest that matches them."""

    model_config = SettingsConfigDict(env_prefix=CMD_PREFIX, extra="allow")

    ops: str = "/ops"

    @model_validator(mode="before")
    @classmethod
    def _platform_names(cls, data: Any) -> Any:
        # Platforms are not fields (they come from the descriptors), so their variables are
        # read here; a value given explicitly wins.
        if not isinstance(data, dict):
            return data
        found = {
            name[len(CMD_PREFIX) :].lower(): value
            for name, value in os.environ.items()
            if name.upper().startswith(CMD_PREFIX) and value.strip()
        }
        return {**found, **data}

    def of(self, key: str) -> str:
        """The slash command of a family ("ops" or a platform key)."""
        if key == "ops":
            return self.ops
        named = (self.model_extra or {}).get(key)
        return str(named) if named else f"/{key}"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def seconds_of(value: Any) -> float:
    """A duration as the TOML gives it: "3d", "12h", "90m", "45s", "2w", or a number of
    seconds; 0 means never."""
    if isinstance(value, bool):
        raise ValueError("give a duration such as 3d, 12h or 90m")
    if isinstance(value, int | float):
        found = _DURATION.match(str(value))
    else:
        found = _DURATION.match(str(value).lower())
    if not found:
        raise ValueError(f"{value!r} is not a duration: give e.g. 3d, 12h or 90m (0: never)")
    return float(found.group(1)) * _UNIT[found.group(2)]


class ApprovalRule(BaseModel):
    """One action's table under `[approvers]`: who may click (as the plain list form), how
    many different people must approve, whether the person who asked may be one of them,
    and how long a card takes clicks (the platform's own deadline wins when earlier)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    who: list[str] = []
    required: int = Field(1, ge=1, le=10)
    # None: the kind's default (off for every kind today).
    maker_checker: bool | None = None
    # Seconds; None: the kind's default (`ApprovalKind.expires_after`); 0: never.
    expires_after: float | None = None

    _seconds = field_validator("expires_after", mode="before")(
        lambda v: None if v is None else seconds_of(v)
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token")
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url")
    )
    # The workspace (T...) this bot serves; unset: asked of Slack (auth.test) at start-up.
    # Signed requests naming another workspace are refused (bot.installation).
    slack_team_id: str | None = Field(
        None, validation_alias=AliasChoices("SLACK_TEAM_ID", "slack_team_id")
    )

    secret_key: SecretStr | None = None
    # postgresql://user:password@host/db, or sqlite:PATH; unset: the SQLite file below.
    database_url: SecretStr | None = None
    # PostgreSQL connections (and store threads) per process.
    database_pool: int = 10
    data_dir: Path = Path("data")
    db: Path | None = None
    config: Path | None = None
    operators: Annotated[list[str], NoDecode] = []
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 3000
    commands: Commands = Field(default_factory=Commands)
    # The platforms this bot knows, in the order people see them (bot.platforms.catalog);
    # a test may add one of its own. Not a setting read from the environment.
    descriptors: tuple[PlatformDescriptor, ...] = Field(DESCRIPTORS, exclude=True)
    # A command whose answer is not ready after this many seconds shows "Working on …" first;
    # a quicker one answers with a single post.
    working_grace: float = 0.5
    # Seconds a platform call may take before the person is told it is unavailable.
    platform_timeout: float = 10.0
    # Circuit breaker per platform instance (bot.platforms.breaker): consecutive "down"
    # failures before it opens, and seconds before one trial call. Unset: the module defaults.
    # Platform calls in flight at once per platform instance (commands, digests, alerts).
    platform_concurrency: int = 16
    # Bytes a platform answer may hold once decoded; past it the answer is refused unread.
    platform_max_body: int = Field(10 * 1024 * 1024, ge=1024)
    breaker_threshold: int | None = None
    breaker_cooldown: float | None = None
    # How often a watch (`/dss future <id> watch`, `/squonk watch`) polls, and for how long.
    watch_interval: float = 15.0
    watch_timeout: float = 24 * 3600.0

    # Scheduler (digests and alerts). A run missed while the bot was down runs once at
    # start-up within `digest_grace` seconds of its time; beyond, it is skipped and recorded.
    scheduler_enabled: bool = True
    digest_grace: float = 3600.0
    # Seconds between an alert's polls (unless the alert says `every <N>m`).
    alert_interval: float = 300.0
    # Digest sections being composed at once per platform instance (bounds memory in a large
    # fan-out); the platform calls themselves are bounded by `platform_concurrency`.
    digest_platform_concurrency: int = 32
    # Slack pacing for digests and alerts: seconds between posts to one channel, and a
    # workspace-wide budget of posts per minute.
    slack_channel_interval: float = 1.0
    slack_workspace_per_minute: int = 100
    # A digest's pictures, uploaded after its text (files.getUploadURLExternal and
    # files.completeUploadExternal, Slack's Tier 4: 100+ a minute, per method): a budget of
    # their own, so that a fan-out's texts never wait behind its pictures.
    slack_uploads_per_minute: int = Field(100, ge=1)
    # After a crash mid-post, wait this long after the post began before looking for it in
    # the channel's history (longer than a Web API call may take), then post it if absent.
    digest_recovery_settle: float = 35.0
    # Charts in digests and Home (bot.charts): off, no chart is drawn and matplotlib is never
    # imported.
    charts: bool = True

    # Leadership (bot/leader.py): a replica that does not lead tries again every
    # `leader_retry` seconds; the leader picks up subscriptions and watches changed on any
    # replica every `sync_interval` seconds.
    leader_retry: float = 5.0
    sync_interval: float = 2.0
    # An approval claim (a click in flight) older than this many seconds was left by a
    # process that died: longer than a click's platform calls may take (each up to
    # `platform_timeout`) plus a margin. The leader looks for such claims at start-up and
    # every `claim_check_interval` seconds (bot/recovery.py).
    claim_stale_after: float = 90.0
    claim_check_interval: float = 15.0
    # SIGTERM: seconds in-flight requests and jobs get to finish before the process exits.
    drain_timeout: float = 20.0

    # From the TOML file: platform key -> instances (each a dict the platform validates).
    platforms: dict[str, list[dict[str, Any]]] = {}
    # action ("astakos.commission", "limits.approve" ...) -> allowed Slack user / group ids.
    approvers: dict[str, list[str]] = {}
    # action -> its quorum, maker-checker and expiry (an `[approvers."<action>"]` table).
    approval_rules: dict[str, ApprovalRule] = {}

    _validate_operators = field_validator("operators", mode="before")(_csv)

    @model_validator(mode="after")
    def _read_toml(self) -> Settings:
        if self.config is None:
            return self
        try:
            data = tomllib.loads(self.config.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"SWITCHBOARD_CONFIG: no file at {self.config}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.config}: not valid TOML ({exc})") from None
        for key, value in data.items():
            if key == "operators":
                self.operators = list(dict.fromkeys([*self.operators, *value]))
            elif key == "approvers":
                self._read_approvers(value)
            elif key == "database_url":
                if self.database_url is None:  # the environment wins
                    self.database_url = SecretStr(str(value))
            elif isinstance(value, list):
                self.platforms.setdefault(key, []).extend(value)
            else:
                raise ConfigError(f"{self.config}: unknown setting `{key}`")
        return self

    def _read_approvers(self, table: Any) -> None:
        """`[approvers]`: each action a list of who may click, or a table (ApprovalRule)."""
        if not isinstance(table, dict):
            raise ConfigError(f"{self.config}: `approvers` must be a table of actions")
        lists: dict[str, list[str]] = {}
        for action, value in table.items():
            if isinstance(value, list):
                lists[action] = [str(v) for v in value]
                continue
            try:
                rule = ApprovalRule.model_validate(value)
            except ValidationError as error:
                problem = error.errors()[0]
                where = ".".join(str(p) for p in problem["loc"])
                raise ConfigError(
                    f'{self.config}: [approvers."{action}"] {where}: {problem["msg"]}'
                ) from None
            self.approval_rules = {action: rule, **self.approval_rules}
            if rule.who:
                lists[action] = rule.who
        self.approvers = {**lists, **self.approvers}

    @property
    def database(self) -> str | Path:
        """What bot.store.Store opens: the PostgreSQL URL, or the SQLite file."""
        url = self.database_url.get_secret_value().strip() if self.database_url else ""
        if url.startswith(("postgresql://", "postgres://")):
            return url
        if url and not url.startswith("sqlite:"):
            raise ConfigError(
                "SWITCHBOARD_DATABASE_URL: give postgresql://user:password@host/db or sqlite:PATH"
            )
        return self.db_path

    @property
    def uses_postgresql(self) -> bool:
        return not isinstance(self.database, Path)

    @property
    def db_path(self) -> Path:
        """The SQLite file (SWITCHBOARD_DATABASE_URL=sqlite:PATH, or SWITCHBOARD_DB, or the
        data folder's switchboard.db); the key file is created beside it."""
        url = self.database_url.get_secret_value().strip() if self.database_url else ""
        if url.startswith("sqlite:"):
            from bot.store.engine import sqlite_path

            path = sqlite_path(url)
            if path is not None:
                return path
        return self.db if self.db is not None else self.data_dir / "switchboard.db"

    def check_for_run(self, *, socket_mode: bool) -> None:
        """Fail with one clear line when what Slack needs is missing or a placeholder."""
        needed = (
            ["slack_bot_token", "slack_app_token"]
            if socket_mode
            else ["slack_bot_token", "slack_signing_secret"]
        )
        env_names = {
            "slack_bot_token": "SLACK_BOT_TOKEN",
            "slack_signing_secret": "SLACK_SIGNING_SECRET",
            "slack_app_token": "SLACK_APP_TOKEN",
        }
        missing = []
        for name in needed:
            value: SecretStr | None = getattr(self, name)
            if value is None or is_placeholder(value.get_secret_value()):
                missing.append(env_names[name])
        if missing:
            # Every missing setting at once: fixing them one start-up at a time is tedious.
            mode = "Socket Mode" if socket_mode else "HTTP mode"
            names = " and ".join(missing) if len(missing) == 2 else ", ".join(missing)
            verb = "is" if len(missing) == 1 else "are"
            raise ConfigError(
                f"{names} {verb} missing or a placeholder ({mode} needs "
                f"{'it' if len(missing) == 1 else 'them'})"
            )
