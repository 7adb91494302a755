"""What Slack sends to an app: slash-command forms, block_actions, view_submission and event
payloads, built from the emulator's state exactly in Slack's shape (pure functions).

Shapes follow Slack's interaction payload reference and bolt-python's recorded test payloads.
Where a block or element has no block_id / action_id, Slack generates one; so do we, from
its position, so that a test can still match it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from emulators.slack_models import (
    APP_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Message,
    SlackUser,
    View,
)

VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated by Slack; still sent, not secret

SELECT_TYPES = ("static_select", "external_select", "radio_buttons", "overflow")
OPTION_LIST_TYPES = ("multi_static_select", "multi_external_select", "checkboxes")
_SELECTED = {  # element type -> the state.values key Slack uses for it
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


@dataclass(frozen=True)
class Found:
    """An interactive element and where it sits."""

    block_id: str
    action_id: str
    element: dict[str, Any]
    in_input: bool  # part of a modal's form: its value goes into state.values
    dispatch: bool  # Slack sends block_actions when it is used


def team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def user_object(user: SlackUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID}


def elements(blocks: list[dict[str, Any]]) -> list[Found]:
    """Every interactive element in the blocks, in order."""
    found = []
    for i, block in enumerate(blocks):
        block_id = str(block.get("block_id") or f"b{i}")
        candidates: list[dict[str, Any]] = []
        in_input = block.get("type") == "input"
        if block.get("type") in ("actions", "context_actions"):
            candidates = list(block.get("elements", []))
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            candidates = [block["accessory"]]
        elif in_input and isinstance(block.get("element"), dict):
            candidates = [block["element"]]
        dispatch = not in_input or bool(block.get("dispatch_action"))
        for j, element in enumerate(candidates):
            action_id = str(element.get("action_id") or f"{block_id}-a{j}")
            found.append(Found(block_id, action_id, element, in_input, dispatch))
    return found


def find_element(
    blocks: list[dict[str, Any]],
    *,
    types: tuple[str, ...],
    action_id: str | None = None,
    text: str | None = None,
    value: str | None = None,
) -> Found:
    """The first element of one of `types` matching all the given criteria."""
    for item in elements(blocks):
        element = item.element
        if element.get("type") not in types:
            continue
        if action_id is not None and item.action_id != action_id:
            continue
        if text is not None and (element.get("text") or {}).get("text") != text:
            continue
        if value is not None and element.get("value") != value:
            continue
        return item
    available = [
        (f.element.get("type"), f.action_id, (f.element.get("text") or {}).get("text"))
        for f in elements(blocks)
    ]
    raise LookupError(
        f"no {'/'.join(types)} with action_id={action_id!r} text={text!r} value={value!r}; "
        f"elements here: {available}"
    )


def find_option(element: dict[str, Any], wanted: str) -> dict[str, Any]:
    """An option of a select by its value or its text."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options", [])
    for option in options:
        if wanted in (option.get("value"), (option.get("text") or {}).get("text")):
            return {"text": option["text"], "value": option.get("value")}
    raise LookupError(f"no option {wanted!r} in {element.get('action_id')!r}")


def button_action(found: Found, action_ts: str) -> dict[str, Any]:
    element = found.element
    action = {
        "action_id": found.action_id,
        "block_id": found.block_id,
        "type": "button",
        "text": element.get("text"),
        "action_ts": action_ts,
    }
    for key in ("value", "style", "url"):
        if key in element:
            action[key] = element[key]
    return action


def select_action(found: Found, option: dict[str, Any], action_ts: str) -> dict[str, Any]:
    action = {
        "action_id": found.action_id,
        "block_id": found.block_id,
        "type": found.element.get("type"),
        "selected_option": option,
        "action_ts": action_ts,
    }
    if "placeholder" in found.element:
        action["placeholder"] = found.element["placeholder"]
    return action


def date_action(found: Found, day: str, action_ts: str) -> dict[str, Any]:
    """A date picked in a datepicker outside a form (Slack sends it at once)."""
    action = {
        "action_id": found.action_id,
        "block_id": found.block_id,
        "type": "datepicker",
        "selected_date": day,
        "action_ts": action_ts,
    }
    if "initial_date" in found.element:
        action["initial_date"] = found.element["initial_date"]
    return action


def state_entry(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The state.values entry for one element holding `value` (None: left empty)."""
    kind = str(element.get("type"))
    if kind in SELECT_TYPES:
        return {
            "type": kind,
            "selected_option": None if value is None else find_option(element, str(value)),
        }
    if kind in OPTION_LIST_TYPES:
        wanted = [] if value is None else [value] if isinstance(value, str) else list(value)
        return {"type": kind, "selected_options": [find_option(element, w) for w in wanted]}
    if kind in _SELECTED:
        return {"type": kind, _SELECTED[kind]: value}
    return {"type": kind, "value": value}


def block_actions(
    *,
    user: SlackUser,
    target: Message | View,
    channel_name: str,
    action: dict[str, Any],
    response_url: str | None,
    trigger_id: str,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_object(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if isinstance(target, View):
        payload["container"] = {"type": "view", "view_id": target.id}
        payload["view"] = target.to_api()
        payload["state"] = {"values": target.to_api()["state"]["values"]}
        return payload
    payload["container"] = {
        "type": "message",
        "message_ts": target.ts,
        "channel_id": target.channel,
        "is_ephemeral": target.is_ephemeral,
    }
    payload["channel"] = {"id": target.channel, "name": channel_name}
    if not target.is_ephemeral:  # Slack leaves the message out for ephemeral containers
        payload["message"] = target.to_api()
    payload["state"] = {"values": {}}
    payload["response_url"] = response_url
    return payload


def view_submission(*, user: SlackUser, view: View, trigger_id: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": team(),
        "user": user_object(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": view.to_api(),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_callback(event: dict[str, Any], *, event_id: str | None, now: float) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
