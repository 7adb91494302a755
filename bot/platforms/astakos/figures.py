"""What accepting a commission changes: each holding's usage of each resource before → after,
against its limit ("Virtual Machine: 3 → 4 of 5"), from the commission's provisions and the
issuing service's quotas (service token, protocol §2.8).

Astakos reports `usage` with pending imports already counted (§3): before accepting an import
of q the holding uses `usage − q` without it and `usage` with it; a release of q is counted
until accepted (`usage` → `usage − q`). The member holdings are shown (`user:` from
`project:`); a commission that moves only project holdings shows those.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from bot import errors
from bot.approval_kinds import Figures, figures_key
from bot.blocks import astakos as cards
from bot.blocks import common as b
from bot.platforms.astakos.approvals import holder
from bot.platforms.astakos.client import AstakosClient
from bot.platforms.astakos.models import Commission, Provision, Quota, amount
from bot.platforms.base import Credential

log = logging.getLogger(__name__)

Holding = tuple[str, str | None, str]  # (holder, source, resource) as in the provisions


def _shown(c: Commission) -> list[Provision]:
    members = [p for p in c.provisions if p.holder.startswith("user:")]
    return members or list(c.provisions)


def _uuid(label: str | None) -> str:
    return (label or "").partition(":")[2]


async def commission_figures(
    client: AstakosClient,
    credential: Credential,
    commissions: Iterable[Commission],
    known: dict[str, str],
) -> dict[int, Figures | None]:
    """Per commission serial, its figures; None for one whose holdings Astakos did not report
    (or when the quotas could not be read: a list still shows, its dialogs say so)."""
    found = list(commissions)
    users = sorted({_uuid(p.holder) for c in found for p in _shown(c) if p.source})
    projects = sorted({_uuid(p.holder) for c in found for p in _shown(c) if not p.source})
    token = credential.secret
    try:
        member, whole = await asyncio.gather(
            client.service_quotas(token=token, user=",".join(users)) if users else _none(),
            client.service_project_quotas(token=token, project=",".join(projects))
            if projects
            else _none(),
        )
    except errors.PlatformError as error:
        log.info(
            "astakos quotas unavailable for the commissions' figures: %s", type(error).__name__
        )
        return {c.serial: None for c in found}
    numbers: dict[Holding, tuple[int, int]] = {}
    for q in member:
        numbers[(f"user:{q.holder}", f"project:{q.project}", q.resource)] = (q.usage, q.limit)
    for q in whole:
        numbers[(f"project:{q.project}", None, q.resource)] = (q.usage, q.limit)
    return {c.serial: _figures(c, numbers, known) for c in found}


async def _none() -> list[Quota]:
    return []


def _figures(
    c: Commission, numbers: dict[Holding, tuple[int, int]], known: dict[str, str]
) -> Figures | None:
    merged: dict[Holding, int] = {}
    for p in _shown(c):  # the same holding twice in one commission is summed, as Astakos does
        key = (p.holder, p.source, p.resource)
        merged[key] = merged.get(key, 0) + p.quantity
    groups: dict[tuple[str, str | None], list[str]] = {}
    key_numbers: list[tuple[str, str | None, str, int, int, int]] = []
    for (who, source, resource), quantity in sorted(merged.items(), key=str):
        if (who, source, resource) not in numbers:
            return None
        usage, limit = numbers[(who, source, resource)]
        before, after = usage - max(quantity, 0), usage + min(quantity, 0)
        over = " :warning: over the limit" if after > limit else ""
        groups.setdefault((who, source), []).append(
            f"{cards.pretty(resource)}: {amount(resource, before)} → {amount(resource, after)}"
            f" of {amount(resource, limit)}{over}"
        )
        key_numbers.append((who, source, resource, before, after, limit))
    lines = tuple(
        f"{_name(who, known)}{' from ' + _name(source, known) if source else ''}: "
        + "; ".join(changes)
        for (who, source), changes in groups.items()
    )
    return Figures(lines, figures_key(*key_numbers))


def _name(label: str | None, known: dict[str, str]) -> str:
    return b.escape(holder(label, known))
