"""Block Kit shared by every kind of approval: the modal that asks for an optional reason
before a decision (Reject, Deny ...), and `/ops approvals` (everything waiting on the caller).
The cards themselves are drawn by each platform's blocks module."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bot.approval_kinds import NO_FIGURES, ApprovalRef, Figures, Verb, stored_figures
from bot.approvals import tag_card
from bot.blocks import common as b
from bot.interactions import ref

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


def figures_lines(payload: dict[str, Any]) -> str:
    """The figures a card was drawn with, a line each, for its confirm dialog; one line
    saying they could not be fetched when they could not."""
    figures = stored_figures(payload)
    return "\n".join(figures.lines) if figures and figures.lines else NO_FIGURES


def seen_key(payload: dict[str, Any]) -> str | None:
    """The key of the figures a card was drawn with (its approving button's `seen`)."""
    figures = stored_figures(payload)
    return figures.key if figures else None


def figures_changed(
    approval: str, label: str, verb: Verb, figures: Figures, value: str, *, shown: bool = True
) -> tuple[str, list[b.Block]]:
    """Said to the clicker instead of acting when what the decision changes is no longer what
    its confirm dialog showed (or, `shown` False, the dialog could show no figures): the
    figures now, and the button again with them in its dialog (tagged as the approval's card,
    so it is swapped for the outcome once decided)."""
    lines = "\n".join(figures.lines)
    why = (
        "is not what your confirm dialog showed (it changed since the card was drawn)"
        if shown
        else "could not be shown in your confirm dialog"
    )
    text = (
        f":information_source: Nothing was {verb.past} yet: what this {label} changes {why}. Now:"
    )
    button = b.button(
        verb.button,
        verb.action_id,
        value,
        style="primary",
        confirm_dialog=b.confirm(
            f"{verb.button}?",
            f"{verb.button} this {label}? It runs with your own linked account.\n{lines}",
            ok=verb.button,
            danger=False,
        ),
    )
    blocks = tag_card(approval, [b.section(f"{text}\n{lines}"), b.actions(button)])
    return f"What this {label} changes has changed: {b.clip(lines, 200)}", blocks


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


# -- /ops approvals ----------------------------------------------------------------------------

WAITING_MORE = "…and {left} more: open Home, or decide these and run `/ops approvals` again."
NOTHING_WAITING = "Nothing is waiting on you."
NOTHING_LINKED = (
    "Nothing is waiting on you: none of your linked accounts is on a platform with approvals. "
    "Link one with `/ops link <platform>` (`/ops help link`)."
)


def in_view(card: list[b.Block], view: str, arg: str = "") -> list[b.Block]:
    """The card with its approval buttons saying which list they sit in (`view`, and that
    list's `arg`), so that a click draws that list again for the clicker."""
    out: list[b.Block] = []
    for block in card:
        if block.get("type") != "actions":
            out.append(block)
            continue
        elements = []
        for element in block.get("elements", []):
            try:
                target = ApprovalRef.model_validate_json(element.get("value") or "")
            except ValueError:
                elements.append(element)
                continue
            elements.append(
                {
                    **element,
                    "value": ref(target.model_copy(update={"view": view, "arg": arg or None})),
                }
            )
        out.append({**block, "elements": elements})
    return out


def waiting_list(
    items: list[list[b.Block]] | None, notes: list[str], acted: list[b.Block] | None = None
) -> tuple[str, list[b.Block]]:
    """`/ops approvals`: the cards waiting on the caller (None: no linked platform has
    approvals), the card just acted on first, a line per platform that could not be asked."""
    head: list[b.Block] = [b.header("Waiting on you")]
    if acted:
        head += [*acted, b.divider()]
    tail = [b.context(note) for note in notes[:5]]
    if items is None:
        return NOTHING_WAITING, [*head, b.section(NOTHING_LINKED), *tail]
    count = len(items)
    if not count:
        return NOTHING_WAITING, [*head, b.section(NOTHING_WAITING), *tail]
    text = f"{count} approval(s) waiting on you."
    head.append(b.section(f"*{count}* approval(s) waiting on you."))
    return text, b.fit_blocks(head, items, more=WAITING_MORE, tail=tail)
