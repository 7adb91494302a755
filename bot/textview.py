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
    name: str  # what the console shows and `submit name=value` uses (`api_key`)
    label: str
    optional: bool
    choices: tuple[tuple[str, str], ...]  # for selects: (value, label) pairs
    block_id: str = ""  # what Slack sends back (`field_api_key`)

    def value_for(self, answer: str) -> str:
        """What to send for a typed answer; a select accepts a choice's label or value."""
        if not self.choices:
            return answer
        wanted = answer.strip().lower()
        for value, label in self.choices:
            if wanted in (value.lower(), label.lower()):
                return value
        raise ValueError(f"{self.name} is one of: " + ", ".join(label for _, label in self.choices))


def display_name(block_id: str) -> str:
    """The name a person types for an input: the link form's `field_` prefix dropped."""
    return block_id.removeprefix("field_")


EMOJI = {
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":warning:": "⚠️",
    ":no_entry_sign:": "🚫",
    ":hourglass_flowing_sand:": "⏳",
    ":arrows_counterclockwise:": "🔄",
    ":rocket:": "🚀",
    ":large_green_circle:": "🟢",
    ":red_circle:": "🔴",
    ":grey_question:": "❔",
    ":eject:": "⏏️",
    ":wastebasket:": "🗑️",
}
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
            self.controls.append(
                Control(
                    number,
                    target,
                    "button",
                    element["action_id"],
                    element.get("value"),
                    label,
                    confirm_text,
                )
            )
            return f"[{number}: {label}]"
        if kind in ("static_select", "overflow"):
            parts = []
            for option in element.get("options", []):
                number = len(self.controls) + 1
                label = _text(option.get("text"))
                self.controls.append(
                    Control(
                        number,
                        target,
                        "option",
                        element["action_id"],
                        option.get("value"),
                        label,
                        confirm_text,
                    )
                )
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
                lines.append("  (" + " · ".join(_text(e) for e in block.get("elements", [])) + ")")
            elif kind == "actions":
                controls = [self._control(target, e) for e in block.get("elements", [])]
                lines.append("  " + " ".join(c for c in controls if c))
            elif kind == "divider":
                lines.append("  " + "-" * 40)
            elif kind == "input":
                label = _text(block.get("label"))
                optional = (
                    " (optional)"
                    if block.get("optional") and "(optional)" not in label.lower()
                    else ""
                )
                options = (block.get("element") or {}).get("options") or []
                choices = ": " + ", ".join(_text(o.get("text")) for o in options) if options else ""
                lines.append(
                    f"  <{display_name(str(block.get('block_id')))}> {label}{optional}{choices}"
                )
        return "\n".join(indent + line for line in lines)


def fields_of(view: dict[str, Any] | Any) -> list[Field]:
    """The inputs of a modal, in order."""
    blocks = view.get("blocks", []) if isinstance(view, dict) else view.blocks
    out = []
    for block in blocks:
        if block.get("type") != "input":
            continue
        element = block.get("element", {})
        choices = tuple(
            (str(o.get("value", "")), _text(o.get("text"))) for o in element.get("options", [])
        )
        block_id = str(block.get("block_id", ""))
        out.append(
            Field(
                display_name(block_id),
                _text(block.get("label")),
                bool(block.get("optional")),
                choices,
                block_id,
            )
        )
    return out


SECRET_WORDS = ("key", "password", "token", "secret")


def looks_secret(field: Field) -> bool:
    """Slack has no masked input; the console masks what is obviously a secret."""
    return any(word in field.label.lower() for word in SECRET_WORDS)
