"""One container for everything listeners and jobs use; built once per process."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import Accounts
from bot.approvals import Approvals
from bot.audit import Audit
from bot.background import Background
from bot.charts import Pictures
from bot.config import Settings
from bot.installation import Installation
from bot.leader import Leader, leadership_for
from bot.platforms import breaker, http
from bot.platforms.registry import Platforms
from bot.respond import Responder, slack_hosts_only
from bot.store import Store
from bot.vault import Vault, load_keys
from bot.watch import Watches

if TYPE_CHECKING:
    from bot.scheduler import Scheduler

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    vault: Vault
    platforms: Platforms
    accounts: Accounts
    audit: Audit
    approvals: Approvals
    slack: AsyncWebClient
    watches: Watches
    responder: Responder
    # The Slack workspace served, and whether the bot token still works (bot.installation).
    installation: Installation
    now: Callable[[], datetime] = utc_now
    notes: list[str] = field(default_factory=list)  # start-up notes for the operator
    # Digests and alerts; started by the server once the bot is up (bot.server, Socket Mode).
    scheduler: Scheduler | None = None
    # Commands' and clicks' work after their ack (bot.commands, bot.interactions).
    background: Background = field(default_factory=Background)
    # Whether this process runs the scheduler, watches and claim recovery (bot/leader.py).
    leader: Leader | None = None
    draining: asyncio.Event = field(default_factory=asyncio.Event)  # set on SIGTERM
    # Drawn charts by data (bot.charts): many digests sharing one picture draw it once.
    pictures: Pictures = field(default_factory=Pictures)

    async def aclose(self) -> None:
        if self.leader is not None:
            await self.leader.stop()
        await self.background.aclose()
        if self.scheduler is not None:
            await self.scheduler.shutdown()
        await self.watches.aclose()
        await self.responder.aclose()
        await self.platforms.aclose()
        self.store.close()


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: base URL from settings, 429s waited out (Retry-After), retried."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url.rstrip("/") + "/")
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=5),
    ]
    return client


def open_services(
    settings: Settings, *, now: Callable[[], datetime] = utc_now, **platform_kwargs: Any
) -> Services:
    """Open the store, the vault and one client per platform instance."""
    source = load_keys(settings)
    notes = []
    if source.created:
        notes.append(
            f"Generated a new encryption key at {source.key_file} (mode 0600). "
            "Back it up: without it the stored credentials cannot be read."
        )
    store = Store(settings.database, pool_size=settings.database_pool)
    vault = Vault(source.keys)
    accounts = Accounts(store=store, vault=vault, now=now)
    if settings.breaker_threshold is not None or settings.breaker_cooldown is not None:
        current = breaker.default_policy()
        breaker.set_default_policy(
            dataclasses.replace(
                current,
                threshold=settings.breaker_threshold or current.threshold,
                cooldown=(
                    current.cooldown
                    if settings.breaker_cooldown is None
                    else settings.breaker_cooldown
                ),
            )
        )
    http.set_max_in_flight(settings.platform_concurrency)
    http.set_max_body(settings.platform_max_body)
    platforms = Platforms.from_settings(settings, **platform_kwargs)
    for platform in platforms.values():
        platform.save_secret = accounts.save_secret
    slack = slack_client(settings)
    audit = Audit(store=store, now=now)
    installation = Installation(slack=slack, audit=audit, team_id=settings.slack_team_id or None)
    watches = Watches(
        store=store,
        slack=slack,
        interval=settings.watch_interval,
        timeout=settings.watch_timeout,
        now=now,
        settle=settings.digest_recovery_settle,
        installation=installation,
    )
    from bot.scheduler import Scheduler

    scheduler = Scheduler()
    # SQLite: this process leads; PostgreSQL: the replica holding the advisory lock.
    leader = Leader(
        leadership_for(settings),
        retry=settings.leader_retry,
        sync_interval=settings.sync_interval,
        claim_interval=settings.claim_check_interval,
    )
    responder = Responder(allowed=slack_hosts_only(settings.slack_api_url))
    services = Services(
        settings=settings,
        store=store,
        vault=vault,
        platforms=platforms,
        accounts=accounts,
        audit=audit,
        approvals=Approvals(store=store, now=now, rules=settings.approval_rules),
        slack=slack,
        watches=watches,
        responder=responder,
        now=now,
        notes=notes,
        scheduler=scheduler,
        installation=installation,
        leader=leader,
    )
    scheduler.attach(services)
    watches.attach(services)
    leader.attach(services)
    return services
