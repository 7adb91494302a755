"""Linked accounts: the only place where the vault and the links table meet.

Handlers ask for `credential(user, platform)` and get a decrypted `Credential`, or `NotLinked`.
Secrets are encrypted before they reach `bot.store`, and nothing here logs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
    role: str = ""  # '' or the platform's second kind (`Platform.link_roles`)


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
            "role": verified.role,
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
        self, user_id: str, platform: str, instance: str | None = None, role: str | None = None
    ) -> Credential:
        """The person's credential on `platform` (the first linked instance when none is
        named; the usual role first when none is asked for)."""
        row = await self.store.read(links.get, user_id, platform, instance, role)
        if row is None:
            raise errors.NotLinked(platform, instance)
        return self._credential(row)

    async def credentials(
        self, user_id: str, platform: str, instance: str | None = None
    ) -> list[Credential]:
        """Every role the person linked on `platform` (or one instance), in `credential`'s
        order: a caller picks the one that can do what it needs."""
        rows = await self.store.read(links.find, user_id, platform, instance)
        return [self._credential(row) for row in rows]

    async def able(
        self,
        user_id: str,
        platform: str,
        instance: str,
        refuses: Callable[[Credential], str | None],
    ) -> Credential:
        """Of the roles the person linked on the instance (an Astakos user and service
        token), the first `refuses` has nothing against; else the first, whose refusal the
        caller shows (it says what to link). `NotLinked` when there is none."""
        linked = await self.credentials(user_id, platform, instance)
        if not linked:
            raise errors.NotLinked(platform, instance)
        return next((c for c in linked if not refuses(c)), linked[0])

    def _credential(self, row: dict[str, Any]) -> Credential:
        return Credential(
            user_id=row["user_id"],
            platform=row["platform"],
            instance=row["instance"],
            account=row["account"],
            secret=self.vault.decrypt(row["secret"]),
            kind=row["kind"],
            details=json.loads(row["details"] or "{}"),
            role=row["role"] or "",
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
            credential.role,
        )

    async def mark_broken(
        self, user_id: str, platform: str, instance: str, reason: str, role: str = ""
    ) -> None:
        """The platform no longer takes the stored credential (the person deleted that very
        key): `/ops links` shows the link as broken, with `reason`, until it is linked again
        (linking writes fresh details). `reason` is shown to the person: never a secret."""
        stamp = self._stamp()

        def mark(db: Any) -> None:
            row = links.get(db, user_id, platform, instance, role)
            if row is None:
                return
            details = json.loads(row["details"] or "{}")
            details.update(broken=reason, broken_at=stamp)
            links.save(db, {**row, "details": json.dumps(details, sort_keys=True)})

        await self.store.run(mark)

    async def unlink(self, user_id: str, platform: str, instance: str, role: str = "") -> bool:
        return bool(await self.store.run(links.delete, user_id, platform, instance, role))

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
        role=row.get("role") or "",
    )
