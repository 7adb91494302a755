"""Stale approval claims: a process killed between claiming an approval (pending → acting)
and finishing it leaves the row in "acting", and every button on it would answer "someone is
acting on this right now" forever.

The scheduler-leading process (bot/leader.py) recovers them at start-up and every
`claim_check_interval` seconds. A claim is stale once it is older than `claim_stale_after`
seconds, longer than a click's platform calls may take (their deadline plus a margin): by
then the claimer's request has landed on the platform or never will. Claims this process
holds itself are never touched. For each stale claim the platform is asked, with the
claimer's own credential, what the item's state is now (each approval kind registers that
check, `bot.approval_kinds.ApprovalKind.check`):

    the claimed action took effect   → done, by the claimer at the claim's time
    the item still waits             → the claim is freed (pending): the buttons work again
    settled some other way           → gone, with what the platform says
    the platform cannot answer now   → left as it is, and asked again at the next check

Then every recorded copy of the card is re-drawn and an audit row says what was found. The
platform action itself is never sent again, so it is never sent twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot import approval_kinds, errors
from bot.approval_kinds import ELSEWHERE, TOOK_EFFECT, WAITING, Current, Place
from bot.approvals import DONE, GONE, Approval, _approval, update_recorded_copies

# The kinds register themselves when their platform's kinds module is imported.
from bot.platforms.astakos import kinds as _astakos  # noqa: F401 (imported to register)
from bot.platforms.limits import kinds as _limits  # noqa: F401 (imported to register)
from bot.store import approvals as rows

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


async def recover_claims(services: Services) -> list[Approval]:
    """Recover every stale claim (see the module docstring); returns the approvals changed."""
    cutoff = services.now() - timedelta(seconds=services.settings.claim_stale_after)
    stale = await services.store.run(rows.stale_claims, cutoff.isoformat(timespec="seconds"))
    changed = []
    for row in stale:
        if row["id"] in services.approvals.inflight:
            continue  # this process is still acting on it
        try:
            record = await _recover(services, row)
        except Exception:
            log.exception("could not recover the claim on %s", row["id"])
            continue
        if record is not None:
            changed.append(record)
    return changed


async def _recover(services: Services, row: dict[str, Any]) -> Approval | None:
    claim = _approval(row)
    kind = approval_kinds.find(claim.platform, claim.kind)
    if kind is None:
        log.warning(
            "no current-state check for %s/%s: claim on %s left as it is",
            claim.platform,
            claim.kind,
            claim.id,
        )
        return None
    try:
        credential = await services.accounts.able(
            claim.actor, claim.platform, claim.instance, kind.token_check
        )
        current = await kind.check(services, credential, claim)
    except errors.NotLinked:
        # The claimer unlinked since: nobody can ask on their behalf. The platform refuses an
        # action on an item no longer waiting, so freeing the claim cannot act twice.
        current = Current(WAITING, "the claimer's account is no longer linked")
    except (errors.Unavailable, errors.Unauthorized, errors.Forbidden) as error:
        log.info(
            "claim on %s: %s cannot say now (%s); asking again later",
            claim.id,
            claim.platform,
            type(error).__name__,
        )
        return None
    if current.state == WAITING:
        if not await services.store.run(rows.free_claim, row):
            return None
        outcome, detail = "freed", current.detail or "the platform still shows it waiting"
    else:
        state = DONE if current.state == TOOK_EFFECT else GONE
        result = current.detail or (
            "confirmed after a restart" if state == DONE else "settled elsewhere"
        )
        if not await services.store.run(rows.settle_claim, row, state, result[:500]):
            return None
        outcome, detail = ("ok" if state == DONE else "gone"), result
    record = await services.approvals.get(claim.id)
    log.info("recovered the claim %s of %s on %s: %s", claim.action, claim.actor, claim.id, outcome)
    await services.audit.record(
        user_id=claim.actor,
        action=f"{claim.platform}.{claim.action}",
        platform=claim.platform,
        instance=claim.instance,
        target=claim.target,
        result=outcome,
        detail=f"recovered after a restart: {detail}",
    )
    await update_recorded_copies(services, record, lambda a: kind.render(a, Place()))
    return record


__all__ = ["ELSEWHERE", "recover_claims"]
