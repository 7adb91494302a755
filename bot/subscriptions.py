"""A person's digests and alerts as services: list them with their next runs, and pause,
resume, remove or run one now. Used by `/ops digest …` and `/ops alert …`
(handlers.subscriptions), their buttons, and the App Home tab (bot.home)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import errors, membership
from bot.store import subscriptions as subs

if TYPE_CHECKING:
    from bot.services import Services


def next_runs(services: Services, row: dict[str, Any]) -> list[datetime]:
    if services.scheduler is None:
        return []
    return services.scheduler.next_runs(row)


async def listing_rows(
    services: Services, user_id: str
) -> list[tuple[dict[str, Any], list[datetime]]]:
    rows = await services.store.run(subs.for_owner, user_id)
    return [(row, next_runs(services, row)) for row in rows]


async def owner_must_be_in(client: AsyncWebClient, channel: str, user_id: str) -> None:
    """The owner's credentials speak in the channel: the owner must be in it (bot.membership)."""
    if await membership.is_member(client, channel, user_id) is False:
        raise errors.UserError(membership.NOT_A_MEMBER.format(channel=channel), markup=True)


async def manage(services: Services, user_id: str, action: str, row: dict[str, Any]) -> str:
    """Pause, resume, remove or run now; returns the note to show."""
    scheduler = services.scheduler
    sub_id = row["id"]
    if action == "now":
        if scheduler is None or not services.settings.scheduler_enabled:
            raise errors.UserError(
                "Digests and alerts are switched off on this Switchboard"
                " (`scheduler_enabled = false`); ask its operator."
            )
        outcome = await scheduler.run_now(row)
        await services.audit.record(
            user_id=user_id, action=f"{row['kind']}.now", target=f"#{sub_id}", result=str(outcome)
        )
        where = f"<#{row['channel']}>" if row["channel"] else "your DMs"
        if row["kind"] == subs.ALERT:
            return f"Checked #{sub_id}: {outcome} new item(s) posted to {where}."
        if outcome == "delivered":
            return f"Posted #{sub_id} to {where}."
        return f"#{sub_id} was not posted ({outcome})."
    if action == "remove":
        await services.store.run(subs.remove, sub_id)
        if scheduler is not None:
            scheduler.removed(sub_id)
        note = f"Removed #{sub_id}."
    else:
        paused = action == "pause"
        if not paused and row["channel"]:
            await owner_must_be_in(services.slack, row["channel"], row["owner"])
        await services.store.run(subs.set_paused, sub_id, paused, services.now().isoformat())
        if scheduler is not None:
            if paused:
                scheduler.removed(sub_id)
            elif (fresh := await services.store.run(subs.get, sub_id)) is not None:
                scheduler.added(fresh)
        note = f"{'Paused' if paused else 'Resumed'} #{sub_id}."
    await services.audit.record(
        user_id=user_id, action=f"{row['kind']}.{action}", target=f"#{sub_id}"
    )
    return note
