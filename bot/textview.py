"""Block Kit as terminal text, for the console. Buttons and selects get numbers so they can
be answered at the prompt; inputs are listed by the name the console asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_MENTION = re.compile(r"<@(\w+)>")
_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")


@dataclass(frozen=True)
class Control:
    """A button or select option the person can pick by number."""

    number: int
    target: Any  # the Message or View it belongs to
    kind: str  # "button" | "option"
    action_id: str
    value: str | None
    label: str
    confirm: str  # the confirm dialog's text, "" if none


@dataclass(frozen=True)
class Field:
    name: str  # the block id (what `submit name=value` uses)
    label: str
    optional: bool
    choices: tuple[str, ...]  # for selects: the option values


EMOJI = {":white_check_mark:": "✅", ":x:": "❌", ":warning:": "⚠️", ":no_entry_sign:": "🚫",
         ":hourglass_flowing_sand:": "⏳", ":arrows_counterclockwise:": "🔄", ":rocket:": "🚀",
         ":large_green_circle:": "🟢", ":red_circle:": "🔴", ":grey_question:": "❔",
         ":eject:": "⏏️", ":wastebasket:": "🗑️"}
_EMOJI = re.compile(r":[a-z0-9_+-]+:")


def plain(text: str) -> str:
    """Slack mrkdwn to readable text: mentions, dates, links, entities, common emoji."""
    text = _EMOJI.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), text)
    text = _DATE.sub(r"\1", text)
    text = _MENTION.sub(r"@\1", text)
    text = _LINK.sub(r"\2 (\1)", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return plain(str(obj.get("text", "")))
    return plain(str(obj or ""))


class Renderer:
    def __init__(self) -> None:
        self.controls: list[Control] = []

    def _control(self, target: Any, element: dict[str, Any]) -> str:
        kind = element.get("type", "")
        confirm = element.get("confirm")
        confirm_text = _text(confirm.get("text")) if isinstance(confirm, dict) else ""
        if kind == "button":
            number = len(self.controls) + 1
            label = _text(element.get("text"))
            self.controls.append(Control(number, target, "button", element["action_id"],
                                         element.get("value"), label, confirm_text))
            return f"[{number}: {label}]"
        if kind in ("static_select", "overflow"):
            parts = []
            for option in element.get("options", []):
                number = len(self.controls) + 1
                label = _text(option.get("text"))
                self.controls.append(Control(number, target, "option", element["action_id"],
                                             option.get("value"), label, confirm_text))
                parts.append(f"[{number}: {label}]")
            return " ".join(parts)
        return ""

    def blocks(self, target: Any, blocks: list[dict[str, Any]], indent: str = "  ") -> str:
        lines: list[str] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "header":
                lines.append(f"== {_text(block.get('text'))} ==")
            elif kind == "section":
                if block.get("text"):
                    lines.extend(_text(block["text"]).splitlines())
                for f in block.get("fields", []):
                    lines.append("  " + " ".join(_text(f).splitlines()))
                if block.get("accessory"):
                    control = self._control(target, block["accessory"])
                    if control:
                        lines.append("  " + control)
            elif kind == "context":
                lines.append("  (" + " · ".join(_text(e) for e in block.get("elements", []))
                             + ")")
            elif kind == "actions":
                controls = [self._control(target, e) for e in block.get("elements", [])]
                lines.append("  " + " ".join(c for c in controls if c))
            elif kind == "divider":
                lines.append("  " + "-" * 40)
            elif kind == "input":
                optional = " (optional)" if block.get("optional") else ""
                lines.append(f"  <{block.get('block_id')}> {_text(block.get('label'))}"
                             f"{optional}")
        return "\n".join(indent + line for line in lines)


def fields_of(view: dict[str, Any] | Any) -> list[Field]:
    """The inputs of a modal, in order."""
    blocks = view.get("blocks", []) if isinstance(view, dict) else view.blocks
    out = []
    for block in blocks:
        if block.get("type") != "input":
            continue
        element = block.get("element", {})
        choices = tuple(o.get("value", "") for o in element.get("options", []))
        out.append(Field(block.get("block_id", ""), _text(block.get("label")),
                         bool(block.get("optional")), choices))
    return out


SECRET_WORDS = ("key", "password", "token", "secret")


def looks_secret(field: Field) -> bool:
    """Slack has no masked input; the console masks what is obviously a secret."""
    return any(word in field.label.lower() for word in SECRET_WORDS)
