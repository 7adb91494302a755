"""Block Kit shared by every kind of approval: the modal that asks for an optional reason
before a decision (Reject, Deny ...). The cards themselves are drawn by each platform's
blocks module."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bot.blocks import common as b

REASON_CALLBACK = "approval_reason"
REASON_BLOCK = "approval_reason"


class ReasonMeta(BaseModel):
    """The reason modal's private_metadata: the decision asked for and the message its
    button was on (to update it), never who acts (that is the submitter)."""

    approval: str
    action: str
    view: str = ""
    arg: str = ""
    response_url: str = ""
    channel: str = ""
    ts: str = ""
    home: bool = False  # clicked on the App Home tab: draw it again after


def input_id(label: str) -> str:
    """The reason input's action id, from its label ("Reason" -> "reason")."""
    return "_".join(label.lower().split()) or "reason"


def reason_modal(
    *,
    title: str,
    submit: str,
    text: str,
    label: str,
    note: str,
    max_length: int,
    metadata: ReasonMeta,
) -> dict[str, Any]:
    """`text` says what is decided; the input is optional (Slack adds "(optional)" to its
    label); `note` says where the reason goes."""
    blocks: list[b.Block] = [
        b.section(text),
        {
            "type": "input",
            "block_id": REASON_BLOCK,
            "optional": True,
            "label": b.plain(label),
            "element": {
                "type": "plain_text_input",
                "action_id": input_id(label),
                "multiline": True,
                "max_length": max_length,
            },
        },
    ]
    if note:
        blocks.append(b.context(note))
    return {
        "type": "modal",
        "callback_id": REASON_CALLBACK,
        "private_metadata": metadata.model_dump_json(),
        "title": b.plain(title, 24),
        "submit": b.plain(submit, 24),
        "close": b.plain("Cancel", 24),
        "blocks": blocks,
    }


def reason_of(view: dict[str, Any]) -> str:
    """The reason typed in a submitted reason modal ("" when left empty)."""
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    for entry in values.values():
        if isinstance(entry, dict) and isinstance(entry.get("value"), str):
            return str(entry["value"]).strip()
    return ""
