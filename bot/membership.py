"""A digest or alert posted in a channel speaks with its owner's credentials, so the owner must
be a member of that channel as well as the bot: what it shows is what *they* may see, shown to
people *they* share a channel with.

Checked when one is added (and confirmed, and resumed), at each run, and when Slack says the
owner left (`member_left_channel`). An owner who is gone pauses it, and gets one DM saying
why and how to resume. When Slack cannot say (an API error), nothing is paused: the post
fails or succeeds on its own, and a person's digest is never stopped on a guess.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store import subscriptions as subs

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

NOT_A_MEMBER = (
    "You are not in <#{channel}>. What is posted there is what *your* linked "
    "accounts can see, so you must be a member too: join <#{channel}>, then run "
    "the command again."
)
PAUSED_DM = (
    ":double_vertical_bar: I paused {what} in <#{channel}>: you are no longer a "
    "member there, and {it} posts what *your* linked accounts can see. Join "
    "<#{channel}> again, then {resume}. Or remove {them} with {remove}."
)


async def is_member(slack: AsyncWebClient, channel: str, user_id: str) -> bool | None:
    """Whether the user is in the channel; None when Slack could not say."""
    cursor = ""
    try:
        while True:
            page = await slack.conversations_members(
                channel=channel, limit=1000, cursor=cursor or None
            )
            if user_id in (page.get("members") or []):
                return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return False
    except SlackApiError as error:
        log.warning("could not list the members of %s: %s", channel, error.response.get("error"))
        return None


async def owner_present(services: Services, row: dict[str, Any]) -> bool:
    """For a run: False (and the subscription paused, the owner told) if the owner left the
    channel it posts to. A DM subscription is always fine."""
    if not row["channel"]:
        return True
    if await is_member(services.slack, row["channel"], row["owner"]) is not False:
        return True
    await pause_absent(services, row["owner"], row["channel"], [row])
    return False


async def pause_absent(
    services: Services, owner: str, channel: str, rows: list[dict[str, Any]]
) -> None:
    """Pause these subscriptions of `owner` in `channel` and send the owner one DM."""
    rows = [r for r in rows if not r["paused"]]
    if not rows:
        return
    now = services.now().isoformat()
    for row in rows:
        await services.store.run(subs.set_paused, row["id"], True, now)
        if services.scheduler is not None:
            services.scheduler.removed(row["id"])
        await services.audit.record(
            user_id=owner,
            action=f"{row['kind']}.pause",
            target=f"#{row['id']}",
            detail=f"owner no longer in {channel}",
        )
    names = [f"{r['kind']} #{r['id']}" for r in rows]
    many = len(rows) > 1
    text = PAUSED_DM.format(
        what=", ".join(names[:-1]) + " and " + names[-1] if many else names[0],
        channel=channel,
        it="they each" if many else "it",
        resume=" and ".join(f"`/ops {r['kind']} resume {r['id']}`" for r in rows),
        them="them" if many else "it",
        remove=" and ".join(f"`/ops {r['kind']} remove {r['id']}`" for r in rows),
    )
    try:
        await services.slack.chat_postMessage(channel=owner, text=text)
    except SlackApiError as error:
        log.warning(
            "could not tell %s about paused subscriptions: %s", owner, error.response.get("error")
        )


async def member_left(services: Services, user_id: str, channel: str) -> None:
    """Slack says `user_id` left `channel`: pause what they post there."""
    rows = [r for r in await services.store.run(subs.for_owner, user_id) if r["channel"] == channel]
    await pause_absent(services, user_id, channel, rows)
