"""Snoozes and mutes on alert subscriptions, as services: the alert runner asks `silenced`
before it posts an item; the Snooze / Mute buttons, `/ops alert unmute` and App Home's
Unmute button set and lift them.

What each silences, for that subscription only:
- a snooze: the item's later facts (its subject) until the snooze ends;
- a mute of the item: everything about the item (subject), until someone lifts it;
- a mute of a kind: every item of that kind (AlertItem.kind) from the subscription's source.

A fact silenced when it happened is remembered as heard (bot.store.alert_mutes.hushed), so
it is not posted when the silence ends: only facts after the end are.

Who may silence or lift: the subscription's owner, or anyone in the channel it posts to (the
people who see its messages there); a DM alert is its owner's alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import errors, membership
from bot.blocks import alert_controls as blocks
from bot.store import alert_mutes as rows
from bot.store import subscriptions as subs
from bot.suggest import code, did_you_mean

if TYPE_CHECKING:
    from bot.digests.base import AlertItem
    from bot.services import Services

ITEM, KIND = rows.ITEM, rows.KIND
SNOOZES = {blocks.SNOOZE_1H: timedelta(hours=1), blocks.SNOOZE_1D: timedelta(days=1)}
NOT_YOURS = (
    "Only the owner of alert #{id} or a member of the channel it posts to can snooze, mute "
    "or unmute it."
)
UNMUTE_USAGE = (
    "`/ops alert unmute <id> [all|<item or kind>]`: `/ops alert list` shows each alert's "
    "mutes and snoozes."
)


def stamp(when: datetime) -> str:
    """The store's time text: UTC ISO, which sorts as time does."""
    return when.astimezone(UTC).isoformat(timespec="seconds")


async def silenced(services: Services, row: dict[str, Any], item: AlertItem, now: datetime) -> bool:
    """Is this item not to be told on this subscription: silenced at `now` (a snooze or mute
    of its subject, a mute of its kind), or this same fact was heard during an earlier
    silence? A fact silenced now is remembered, so it stays untold when the silence ends."""
    subject = item.subject or item.key
    # The fact: the subject's state when the source names one, else the item itself.
    fact = f"{subject}\x1f{item.state or item.key}"
    return bool(
        await services.store.run(rows.hushed, row["id"], subject, item.kind, fact, stamp(now))
    )


async def may_silence(services: Services, row: dict[str, Any], user_id: str) -> bool:
    """The owner, or (for a channel alert) anyone Slack says is in that channel."""
    if user_id == row["owner"]:
        return True
    if not row["channel"]:
        return False
    return await membership.is_member(services.slack, row["channel"], user_id) is True


async def alert_for(services: Services, sub_id: int, user_id: str) -> dict[str, Any]:
    """The alert subscription `user_id` may silence or lift, else a UserError saying why."""
    row = await services.store.run(subs.get, sub_id)
    if row is None or row["kind"] != subs.ALERT:
        raise errors.UserError(
            f"There is no alert #{sub_id} (it may have been removed). `/ops alert list` shows "
            "yours."
        )
    if not await may_silence(services, row, user_id):
        raise errors.UserError(NOT_YOURS.format(id=sub_id))
    return row


async def silence(
    services: Services,
    row: dict[str, Any],
    scope: str,
    target: str,
    until: datetime | None,
    by: str,
) -> dict[str, Any]:
    """Snooze (until a time) or mute (until=None) `target`; recorded in the audit trail."""
    mute = await services.store.run(
        rows.put,
        row["id"],
        scope,
        target,
        stamp(until) if until else "",
        by,
        stamp(services.now()),
    )
    await services.audit.record(
        user_id=by,
        action="alert.snooze" if until else "alert.mute",
        target=f"#{row['id']} {scope} {target}"[:300],
        detail=f"until {stamp(until)}" if until else "",
    )
    return mute


async def live(services: Services, sub_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The silences in force now, per subscription (ended snoozes are gone)."""
    found: dict[int, list[dict[str, Any]]] = await services.store.run(
        rows.live, sub_ids, stamp(services.now())
    )
    return found


async def lift(services: Services, row: dict[str, Any], wanted: str, by: str) -> str:
    """Lift the silences `wanted` names ("" or `all`: every one); returns the note to show.
    A name that matches none gets a UserError with the close ones."""
    mutes = (await live(services, [row["id"]])).get(row["id"], [])
    if not mutes:
        raise errors.UserError(f"Nothing is muted or snoozed on alert #{row['id']}.")
    if wanted.lower() in ("", "all"):
        chosen = mutes
    else:
        folded = wanted.casefold()
        chosen = [
            m
            for m in mutes
            if folded in (m["target"].casefold(), blocks.plural(m["target"]).casefold())
        ]
        if not chosen:
            names = [m["target"] for m in mutes]
            raise errors.UserError(
                f"Alert #{row['id']} has no mute or snooze on {code(wanted)}."
                + did_you_mean(wanted, names)
                + " It has: "
                + ", ".join(code(n) for n in names[:10])
                + f". {UNMUTE_USAGE}"
            )
    return await lift_ids(services, row, [m["id"] for m in chosen], by, chosen)


async def lift_ids(
    services: Services,
    row: dict[str, Any],
    ids: list[int],
    by: str,
    described: list[dict[str, Any]] | None = None,
) -> str:
    """Lift these silences of the alert (by id); the note says what was lifted."""
    if described is None:
        described = [
            m for m in (await live(services, [row["id"]])).get(row["id"], []) if m["id"] in ids
        ]
    gone = await services.store.run(rows.lift, row["id"], ids)
    await services.audit.record(
        user_id=by,
        action="alert.unmute",
        target=f"#{row['id']}",
        detail=", ".join(f"{m['scope']} {m['target']}" for m in described)[:300],
    )
    if not gone:
        return f"Nothing was muted or snoozed on alert #{row['id']} any more."
    lifted = ", ".join(blocks.what(m["scope"], m["target"]) for m in described[:5])
    more = f" and {len(described) - 5} more" if len(described) > 5 else ""
    return f":bell: Unmuted on alert #{row['id']}: {lifted}{more}. New facts post again."
