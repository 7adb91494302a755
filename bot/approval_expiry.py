"""Approvals past their expiry: every copy loses its buttons and says so.

The scheduler-leading process (bot/leader.py) sweeps at start-up and every
`claim_check_interval` seconds, beside the recovery of stale claims. Each approval found due
is marked expired by one conditional UPDATE (`bot.store.approvals.expire`): whichever process
wins it (this sweep, an old and a new leader, or a late click on another replica) redraws
the copies, so they are redrawn once. A click in flight keeps its claim: an approval being
acted on is not open, so it is never marked expired under it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from bot import approval_kinds
from bot.approval_kinds import Place
from bot.approvals import Approval, update_recorded_copies

# The kinds register themselves when their platform's kinds module is imported.
from bot.platforms.astakos import kinds as _astakos  # noqa: F401 (imported to register)
from bot.platforms.limits import kinds as _limits  # noqa: F401 (imported to register)

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


def _render(kind: approval_kinds.ApprovalKind, approval: Approval) -> list[dict[str, Any]]:
    return kind.render(approval, Place())


async def sweep(services: Services) -> list[Approval]:
    """Expire every open approval past its time (see the module docstring); returns those
    this process expired."""
    expired = []
    for due in await services.approvals.due():
        try:
            if not await services.approvals.expire(due.id):
                continue  # another process (or a click) got there first
            record = await services.approvals.get(due.id)
            await services.audit.record(
                user_id="",
                action=f"{record.platform}.expire",
                platform=record.platform,
                instance=record.instance,
                target=record.target,
                result="expired",
                detail=f"no decision by {record.expires_at}",
            )
            kind = approval_kinds.find(record.platform, record.kind)
            if kind is not None:
                await update_recorded_copies(services, record, partial(_render, kind))
            expired.append(record)
        except Exception:
            log.exception("could not expire the approval %s", due.id)
    if expired:
        log.info("expired %d approval(s) past their time", len(expired))
    return expired
