"""Snooze and Mute on every alert message, and how silences read in lists and on App Home.

The controls are one actions block: Snooze 1 hour, Snooze 1 day, a date picker ("snooze
until"), Mute this item, Mute all <kind>s. Every element says which subscription, subject and
kind it is about: the buttons in their value, the date picker (which has no value) in the
block's id, both the same short JSON (`SilenceRef`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from bot.blocks import common as b
from bot.blocks.time import slack_date
from bot.interactions import ref

if TYPE_CHECKING:
    from bot.digests.base import AlertItem

SNOOZE_1H = "alert_snooze_1h"
SNOOZE_1D = "alert_snooze_1d"
SNOOZE_UNTIL = "alert_snooze_until"
MUTE_ITEM = "alert_mute_item"
MUTE_KIND = "alert_mute_kind"
UNMUTE = "alert_unmute"
# The block that says who silenced the message; replaced, not repeated, by the next click.
SILENCED_BLOCK = "alert_silenced"
BLOCK_PREFIX = "alert_controls:"
BLOCK_ID_LIMIT = 255  # Slack's limit on a block_id


class SilenceRef(BaseModel):
    """What a Snooze or Mute click is about (short keys: Slack limits values)."""

    s: int = Field(description="the subscription id")
    j: str = Field(description="the item's subject")
    k: str = Field(default="", description="the item's kind")


class UnmuteRef(BaseModel):
    """Home's Unmute: the subscription and which of its silences (none: all)."""

    s: int
    m: list[int] = Field(default_factory=list)


def plural(kind: str) -> str:
    """`commission` -> `commissions`, `status` -> `statuses`."""
    return kind + ("es" if kind.endswith(("s", "sh", "ch", "x")) else "s")


def controls(subscription_id: int, item: AlertItem) -> b.Block:
    """The actions block carried by each alert message."""
    value = ref(SilenceRef(s=subscription_id, j=item.subject or item.key, k=item.kind))
    elements: list[dict[str, Any]] = [
        b.button("Snooze 1 hour", SNOOZE_1H, value),
        b.button("Snooze 1 day", SNOOZE_1D, value),
    ]
    block_id = BLOCK_PREFIX + value
    if len(block_id) <= BLOCK_ID_LIMIT:  # a subject too long to name there: no date picker
        elements.append(
            {
                "type": "datepicker",
                "action_id": SNOOZE_UNTIL,
                "placeholder": b.plain("Snooze until…"),
            }
        )
    elements.append(b.button("Mute this item", MUTE_ITEM, value))
    if item.kind:
        elements.append(b.button(f"Mute all {plural(item.kind)}", MUTE_KIND, value))
    if len(block_id) <= BLOCK_ID_LIMIT:
        return b.actions(*elements, block_id=block_id)
    return b.actions(*elements)


def with_controls(subscription_id: int, item: AlertItem) -> list[b.Block]:
    """The item's blocks and its controls, when the message has room for one more block."""
    if len(item.blocks) >= b.MAX_MESSAGE_BLOCKS:
        return list(item.blocks)
    return [*item.blocks, controls(subscription_id, item)]


def ref_of_block(block_id: str) -> str:
    """The SilenceRef JSON a controls block's id carries ("" if it is not one)."""
    return block_id[len(BLOCK_PREFIX) :] if block_id.startswith(BLOCK_PREFIX) else ""


def what(scope: str, target: str, source: str = "") -> str:
    """What a silence covers, in words."""
    if scope == "kind":
        return f"all {b.escape(plural(target))}" + (f" from `{source}`" if source else "")
    return f"`{b.escape(b.clip(target.replace('`', chr(39)), 120))}`"


def silence_line(mute: dict[str, Any], source: str = "") -> str:
    """One silence as a list line: what, snoozed until when or muted, by whom."""
    covered = what(mute["scope"], mute["target"], source)
    if mute["until"]:
        return f":zzz: {covered} snoozed until {slack_date(mute['until'])} by <@{mute['by_user']}>"
    return f":no_bell: {covered} muted by <@{mute['by_user']}>"


def silenced_note(user_id: str, until: str) -> b.Block:
    """The line added to the alert message itself."""
    text = (
        f":zzz: Snoozed by <@{user_id}> until {slack_date(until)}"
        if until
        else f":no_bell: Muted by <@{user_id}>"
    )
    block = b.context(text)
    block["block_id"] = SILENCED_BLOCK
    return block


def with_note(blocks: list[b.Block], note: b.Block) -> list[b.Block]:
    """The message's blocks with `note` in place of an earlier one, else added at the end."""
    kept = [block for block in blocks if block.get("block_id") != SILENCED_BLOCK]
    return [*kept, note]


def silences_section(sub_id: int, mutes: list[dict[str, Any]], source: str) -> b.Block:
    """App Home: an alert's silences, with one Unmute button lifting them all."""
    shown = [silence_line(m, source) for m in mutes[:5]]
    if len(mutes) > 5:
        shown.append(f"{len(mutes) - 5} more: `/ops alert list`")
    label = "Unmute" if len(mutes) == 1 else "Unmute all"
    return b.section(
        "\n".join(shown),
        accessory=b.button(label, UNMUTE, ref(UnmuteRef(s=sub_id, m=[m["id"] for m in mutes]))),
    )
