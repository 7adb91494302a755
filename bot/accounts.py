"""Linked accounts: the only place where the vault and the links table meet.

Handlers ask for `credential(user, platform)` and get a decrypted `Credential`, or `NotLinked`.
Secrets are encrypted before they reach `bot.store`, and nothing here logs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import errors
from bot.platforms.base import Credential, VerifiedAccount
from bot.store import Store, links
from bot.vault import Vault


@dataclass(frozen=True)
class LinkedAccount:
    """A link as people see it: no secret."""

    platform: str
    instance: str
    account: str
    kind: str
    linked_at: str
    verified_at: str
    details: dict[str, Any]


class Accounts:
    def __init__(self, *, store: Store, vault: Vault, now: Any) -> None:
        self.store = store
        self.vault = vault
        self._now = now  # () -> aware datetime

    def _stamp(self) -> str:
        now: datetime = self._now()
        return now.isoformat(timespec="seconds")

    async def link(
        self, user_id: str, platform: str, instance: str, verified: VerifiedAccount
    ) -> LinkedAccount:
        stamp = self._stamp()
        row = {
            "user_id": user_id,
            "platform": platform,
            "instance": instance,
            "account": verified.account,
            "kind": verified.kind,
            "secret": self.vault.encrypt(verified.secret),
            "details": json.dumps(verified.details, sort_keys=True),
            "linked_at": stamp,
            "verified_at": stamp,
        }
        await self.store.run(links.save, row)
        return _public(row)

    async def credential(
        self, user_id: str, platform: str, instance: str | None = None
    ) -> Credential:
        row = await self.store.read(links.get, user_id, platform, instance)
        if row is None:
            raise errors.NotLinked(platform, instance)
        return Credential(
            user_id=user_id,
            platform=platform,
            instance=row["instance"],
            account=row["account"],
            secret=self.vault.decrypt(row["secret"]),
            kind=row["kind"],
            details=json.loads(row["details"] or "{}"),
        )

    async def save_secret(self, credential: Credential, secret: str) -> None:
        """A platform rotated the secret (e.g. a new refresh token): store the new one."""
        await self.store.run(
            links.update_secret,
            credential.user_id,
            credential.platform,
            credential.instance,
            self.vault.encrypt(secret),
            self._stamp(),
        )

    async def mark_broken(self, user_id: str, platform: str, instance: str, reason: str) -> None:
        """The platform no longer takes the stored credential (the person deleted that very
        key): `/ops links` shows the link as broken, with `reason`, until it is linked again
        (linking writes fresh details). `reason` is shown to the person: never a secret."""
        stamp = self._stamp()

        def mark(db: Any) -> None:
            row = links.get(db, user_id, platform, instance)
            if row is None:
                return
            details = json.loads(row["details"] or "{}")
            details.update(broken=reason, broken_at=stamp)
            links.save(db, {**row, "details": json.dumps(details, sort_keys=True)})

        await self.store.run(mark)

    async def unlink(self, user_id: str, platform: str, instance: str) -> bool:
        return bool(await self.store.run(links.delete, user_id, platform, instance))

    async def for_user(self, user_id: str) -> list[LinkedAccount]:
        return [_public(row) for row in await self.store.run(links.for_user, user_id)]


def _public(row: dict[str, Any]) -> LinkedAccount:
    details = row["details"]
    return LinkedAccount(
        platform=row["platform"],
        instance=row["instance"],
        account=row["account"],
        kind=row["kind"] or "",
        linked_at=row["linked_at"],
        verified_at=row["verified_at"],
        details=json.loads(details) if isinstance(details, str) and details else {},
    )
