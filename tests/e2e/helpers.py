"""Steps many end-to-end tests share, each done the way a person does it."""

from __future__ import annotations

from typing import Any

from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from emulators.slack_models import Message


def texts(blocks: list[dict[str, Any]]) -> str:
    """All the text a person reads in some blocks, as one string."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title"):
                value = node.get(key)
                if isinstance(value, str):
                    out.append(value)
                elif isinstance(value, dict) and isinstance(value.get("text"), str):
                    out.append(value["text"])
            for key in ("fields", "elements", "blocks", "accessory"):
                if key in node:
                    walk(node[key])
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)


def seen_by(slack: SlackEmulator, user: str) -> str:
    """Everything the user can read in their ephemeral replies and DMs, newest last."""
    parts = []
    for m in slack.ephemerals(user):
        parts.append(m.text or "")
        parts.append(texts(m.blocks))
    parts.append(dms(slack, user))
    return "\n".join(parts)


def dms(slack: SlackEmulator, user: str) -> str:
    """The text of every direct message the bot sent the user."""
    dm = "D" + slack.user(user).id[1:]
    return "\n".join(f"{m.text}\n{texts(m.blocks)}" for m in slack.messages(dm))


async def reply_to(driver: SlackDriver, slack: SlackEmulator, user: str, command: str,
                   text: str, *, expect: str, channel: str = "C0OPS") -> Message:
    """Type a command and wait for an ephemeral reply containing `expect`."""
    before = len(slack.ephemerals(user))
    response = await driver.command(user, command, text, channel=channel)
    assert response.status == 200, response.body

    def found() -> Message | None:
        for m in slack.ephemerals(user)[before:] + slack.ephemerals(user)[-1:]:
            if expect in (m.text or "") + texts(m.blocks):
                return m
        return None

    return await driver.wait_for(found)


async def link(driver: SlackDriver, slack: SlackEmulator, user: str, platform: str,
               values: dict[str, str], instance: str = "") -> str:
    """Link through the modal, as a person does: `/ops link`, fill the form, submit."""
    opened = len(slack.views_opened(user))
    r = await driver.command(user, "/ops", f"link {platform} {instance}".strip())
    assert r.status == 200, r.body
    view = await driver.wait_for(lambda: slack.views_opened(user)[opened:]
                                 and slack.views_opened(user)[-1])
    await driver.submit(user, view, {f"field_{k}": v for k, v in values.items()})

    def outcome() -> str | None:
        current = slack.view(view.id)
        body = texts(current.blocks) if current else ""
        if "Linked" in body or ":warning:" in body:
            return body
        return None

    return await driver.wait_for(outcome)
