"""What a test writes into a bot's database before (or while) it runs as a process: a DSS
link made as the link modal makes it, and digests written as `/ops digest add` writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.accounts import Accounts
from bot.platforms.base import VerifiedAccount
from bot.store import Store
from bot.store import subscriptions as subs
from bot.vault import Vault
from emulators.dss import DEMO as DSS_DEMO


async def link_dss(store: Store, secret_key: str, user: str, account: str = "alice") -> None:
    """`user` linked to DSS `prod` with the demo `account`'s key, encrypted under `secret_key`."""
    accounts = Accounts(
        store=store, vault=Vault([secret_key.encode()]), now=lambda: datetime.now(UTC)
    )
    await accounts.link(
        user,
        "dss",
        "prod",
        VerifiedAccount(account=account, secret=DSS_DEMO[account]["api_key"], kind="API key"),
    )


async def dss_digest(
    store: Store, owner: str, *, trigger: str, created_at: datetime, channel: str = "C0OPS"
) -> dict[str, Any]:
    """One DSS digest of `owner`'s into `channel`; the row as the store keeps it."""
    row: dict[str, Any] = await store.run(
        subs.add,
        {
            "owner": owner,
            "kind": "digest",
            "platforms": "dss",
            "trigger": trigger,
            "tz": "UTC",
            "channel": channel,
            "skip_empty": 0,
            "created_at": created_at.isoformat(),
        },
    )
    return row


async def overdue_digests(store: Store, owner: str, count: int) -> None:
    """`count` DSS digests every 5 minutes whose run fell due 20 s ago (while no bot ran):
    a leader catches them all up at start-up, at the same moment, into one channel."""
    created = datetime.now(UTC) - timedelta(minutes=5, seconds=20)
    for _ in range(count):
        await dss_digest(store, owner, trigger="every 5m", created_at=created)
