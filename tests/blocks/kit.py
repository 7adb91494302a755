"""What the block tests share: Slack's own validation of what a builder made (the Slack
emulator's, which is slack_sdk.models plus the block-count limits the SDK does not check) and
what a person reads in it."""

from __future__ import annotations

from typing import Any

from emulators import slack_rules
from emulators.slack_webapi import block_problems, check_view
from tests.e2e.helpers import texts

__all__ = ["buttons", "home_text", "message_text", "modal_text", "texts"]


def message_text(blocks: list[dict[str, Any]]) -> str:
    """Everything a person reads in a message's blocks, once Slack has accepted them."""
    assert block_problems(blocks, slack_rules.MAX_MESSAGE_BLOCKS) == []
    return texts(blocks)


def modal_text(view: dict[str, Any]) -> str:
    check_view(view, home=False)  # raises ApiError as Slack's views.open would refuse it
    return f"{view['title']['text']}\n{texts(view['blocks'])}"


def home_text(view: dict[str, Any]) -> str:
    check_view(view, home=True)
    return texts(view["blocks"])


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in these blocks (actions elements and section accessories), in order."""
    found: list[dict[str, Any]] = []
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("type") == "button":
                found.append(element)
    return found
