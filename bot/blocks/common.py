"""Small Block Kit builders shared by every family, and the limits Slack enforces.

Builders return plain dicts. `fit_blocks` keeps a message within Slack's 50 blocks, saying how
many items were left out and how to see them, instead of letting Slack reject the message.
"""

from __future__ import annotations

import re
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_TEXT = 3000
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
CONFIRM_TEXT = 300

Block = dict[str, Any]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Bidirectional controls (embeddings, overrides, isolates, marks): one U+202E in a project name
# would show the rest of the line right to left ("exe.txt" as "txt.exe"). Dropped, not shown.
_BIDI = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


# An `&` that does not already start one of the three entities Slack knows.
_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")


def escape(text: Any) -> str:
    """Text from platforms and people, shown literally: &, < and > escaped so it cannot form
    Slack mentions (`<!channel>`, `<@U…>`) or links (`<http://x|y>`), and bidirectional
    controls removed so it cannot reorder the message around it.

    Escaping twice changes nothing (an existing `&lt;` stays), so a message built from
    escaped parts can be escaped again as a whole where it is shown (`messages.for_error`).
    """
    out = _BARE_AMPERSAND.sub("&amp;", str(text).translate(_BIDI))
    return out.replace("<", "&lt;").replace(">", "&gt;")


# Platform codes in words a person reads; any other code is lower-cased with spaces.
CODE_WORDS = {
    "NON_RECURSIVE_FORCED_BUILD": "forced build",
    "RECURSIVE_BUILD": "recursive build",
    "RECURSIVE_FORCED_BUILD": "recursive forced build",
    "RECURSIVE_MISSING_ONLY_BUILD": "build of what is missing",
    "NOT_STARTED": "not started",
    "PENDING_DELETION": "pending deletion",
}


def words(code: Any) -> str:
    """An enumeration (`NOT_STARTED`, `NON_RECURSIVE_FORCED_BUILD`) in words, escaped."""
    text = str(code or "")
    return escape(CODE_WORDS.get(text, text.replace("_", " ").lower()))


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}


def plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, 150)}


def section(
    text: str, *, accessory: dict[str, Any] | None = None, block_id: str | None = None
) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def fields(*items: str) -> Block:
    return {"type": "section", "fields": [mrkdwn(clip(i, 2000)) for i in items[:10]]}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(clip(t, 2000)) for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def confirm(
    title: str, text: str, ok: str = "Yes", deny: str = "Cancel", danger: bool = True
) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "title": plain(title, 100),
        "text": mrkdwn(clip(text, CONFIRM_TEXT)),
        "confirm": plain(ok, 30),
        "deny": plain(deny, 30),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def button(
    text: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    confirm_dialog: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT),
        "action_id": action_id,
    }
    if value:
        if len(value) > BUTTON_VALUE:
            raise ValueError(f"button value over {BUTTON_VALUE} characters")
        element["value"] = value
    if style:
        element["style"] = style
    if confirm_dialog:
        element["confirm"] = confirm_dialog
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def fit_blocks(
    head: list[Block],
    items: list[list[Block]],
    *,
    more: str,
    tail: list[Block] | None = None,
    limit: int = MAX_MESSAGE_BLOCKS,
) -> list[Block]:
    """head + as many whole items as fit + a note on what was left out + tail.

    `more` is a format string with {shown}, {left} and {total}, e.g.
    "{left} more not shown. Use `/limits breaches 2024-06-10 page 2` to see them."
    """
    tail = tail or []
    room = limit - len(head) - len(tail)
    out = list(head)
    shown = 0
    for index, item in enumerate(items):
        reserve = 1 if index < len(items) - 1 else 0  # keep a slot for the "more" note
        if len(item) > room - reserve:
            break
        out.extend(item)
        room -= len(item)
        shown += 1
    left = len(items) - shown
    if left:
        out.append(context(more.format(shown=shown, left=left, total=len(items))))
    return out + tail


def bar(fraction: float, width: int = 10) -> str:
    """A usage bar for quotas: ▓▓▓▓▓░░░░░ 52%."""
    fraction = max(0.0, fraction)
    filled = min(width, int(fraction * width))  # floor: 95 % must not look full
    return "▓" * filled + "░" * (width - filled) + f" {fraction:.0%}"
