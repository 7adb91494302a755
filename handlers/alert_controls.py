"""Snooze and Mute on alert messages, Unmute on App Home, and `/ops alert unmute`.

A click acks first (bot.interactions.on_click), checks the clicker may silence that alert
(its owner, or a member of the channel it posts to: bot.alert_mutes), stores the silence,
tells the clicker (ephemeral) what is silenced and until when, and adds one line to the alert
message itself ("Snoozed by @x until …", replaced by the next click, not repeated).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import alert_mutes, errors
from bot.blocks import alert_controls as blocks
from bot.blocks.time import slack_date
from bot.commands import Invocation
from bot.home import publish_home
from bot.interactions import STALE_BUTTON, Click, on_click

log = logging.getLogger(__name__)

# The farthest a picked day may be: a longer silence is a mute.
LONGEST_SNOOZE = timedelta(days=366)


def _silence_ref(raw: str) -> blocks.SilenceRef:
    try:
        return blocks.SilenceRef.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        raise errors.UserError(STALE_BUTTON) from None


async def snooze_clicked(click: Click) -> None:
    """Snooze 1 hour / Snooze 1 day."""
    target = _silence_ref(click.value)
    until = click.services.now() + alert_mutes.SNOOZES[click.action_id]
    await _silence(click, target, alert_mutes.ITEM, target.j, until)


async def snooze_until_picked(click: Click) -> None:
    """A day picked in the message's date picker: snoozed until that day begins, in the
    clicker's own time zone (their Slack profile's)."""
    action = (click.body.get("actions") or [{}])[0]
    target = _silence_ref(blocks.ref_of_block(str(action.get("block_id") or "")))
    try:
        day = date.fromisoformat(str(action.get("selected_date") or ""))
    except ValueError:
        raise errors.UserError("Pick a day in the calendar to snooze until.") from None
    zone = await _user_zone(click)
    until = datetime.combine(day, time(0, 0), zone)
    now = click.services.now()
    if until <= now:
        raise errors.UserError(
            "Pick a day after today to snooze until (or use Snooze 1 hour / Snooze 1 day)."
        )
    if until - now > LONGEST_SNOOZE:
        raise errors.UserError(
            "Snoozes last up to a year; pick an earlier day, or use Mute this item."
        )
    await _silence(click, target, alert_mutes.ITEM, target.j, until)


async def mute_item_clicked(click: Click) -> None:
    target = _silence_ref(click.value)
    await _silence(click, target, alert_mutes.ITEM, target.j, None)


async def mute_kind_clicked(click: Click) -> None:
    target = _silence_ref(click.value)
    if not target.k:
        raise errors.UserError(STALE_BUTTON)
    await _silence(click, target, alert_mutes.KIND, target.k, None)


async def _user_zone(click: Click) -> ZoneInfo:
    try:
        name = (await click.client.users_info(user=click.user_id))["user"].get("tz") or "UTC"
        return ZoneInfo(str(name))
    except (SlackApiError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def _silence(
    click: Click,
    target: blocks.SilenceRef,
    scope: str,
    name: str,
    until: datetime | None,
) -> None:
    services = click.services
    row = await alert_mutes.alert_for(services, target.s, click.user_id)
    mute = await alert_mutes.silence(services, row, scope, name, until, click.user_id)
    covered = blocks.what(scope, name, row["source"])
    if until is None:
        told = (
            f":no_bell: Muted {covered} on alert #{row['id']}: nothing more about "
            + ("them" if scope == alert_mutes.KIND else "it")
            + f" is posted until someone runs `/ops alert unmute {row['id']}`."
        )
    else:
        told = (
            f":zzz: Snoozed {covered} on alert #{row['id']} until {slack_date(mute['until'])}: "
            "its news until then is not posted. `/ops alert unmute "
            f"{row['id']}` ends it sooner."
        )
    await click.respond(text=told, response_type="ephemeral", replace_original=False)
    await _mark_message(click, blocks.silenced_note(click.user_id, mute["until"]))


async def _mark_message(click: Click, note: dict[str, Any]) -> None:
    """Add who silenced it to the alert message, keeping the rest as it is."""
    container = click.body.get("container") or {}
    message = click.body.get("message") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if not channel or not ts or not message.get("blocks"):
        return
    try:
        await click.client.chat_update(
            channel=channel,
            ts=ts,
            text=message.get("text") or "",
            blocks=blocks.with_note(list(message["blocks"]), note),
        )
    except SlackApiError as error:  # the silence holds; only the line on the message is lost
        log.warning("could not mark alert message %s: %s", ts, error.response.get("error"))


async def unmute_clicked(click: Click) -> None:
    """App Home's Unmute: lift the silences it listed, then draw Home again."""
    try:
        target = blocks.UnmuteRef.model_validate(json.loads(click.value))
    except (ValueError, ValidationError):
        raise errors.UserError(STALE_BUTTON) from None
    row = await alert_mutes.alert_for(click.services, target.s, click.user_id)
    if target.m:
        note = await alert_mutes.lift_ids(click.services, row, target.m, click.user_id)
    else:
        note = await alert_mutes.lift(click.services, row, "all", click.user_id)
    if (click.body.get("view") or {}).get("type") == "home":
        await publish_home(click.services, click.client, click.user_id)
    await click.respond(text=note, response_type="ephemeral", replace_original=False)


async def unmute(inv: Invocation) -> None:
    """`/ops alert unmute <id> [all|<item or kind>]`."""
    raw = inv.a.text("id").lstrip("#")
    row = await alert_mutes.alert_for(inv.services, int(raw), inv.user_id)
    note = await alert_mutes.lift(inv.services, row, " ".join(inv.a.words("what")), inv.user_id)
    await inv.reply(text=note)


def register(app: AsyncApp) -> None:
    app.action(blocks.SNOOZE_1H)(on_click(snooze_clicked))
    app.action(blocks.SNOOZE_1D)(on_click(snooze_clicked))
    app.action(blocks.SNOOZE_UNTIL)(on_click(snooze_until_picked))
    app.action(blocks.MUTE_ITEM)(on_click(mute_item_clicked))
    app.action(blocks.MUTE_KIND)(on_click(mute_kind_clicked))
    app.action(blocks.UNMUTE)(on_click(unmute_clicked))
