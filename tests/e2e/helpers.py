"""Steps many end-to-end tests share, each done the way a person does it.

Waiting for what a person is told is only right when it cannot match something said earlier:
the "Working on …" note a command shows before its answer (or not, when the answer is quick),
or the answer to the previous command. So `reply_to` only looks at ephemerals posted or
replaced after the command was sent, and never at a working note; `seen_by` leaves working
notes out, and takes `since=slack.last_seq` (taken before the action) to see only what was
said after it.
"""

from __future__ import annotations

from typing import Any

from bot.messages import WORKING
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from emulators.slack_models import EPHEMERAL_POSTED, EPHEMERAL_REPLACED, MESSAGE_POSTED, Message

# The fixed start of the note ("…Working on `"), whatever the command.
WORKING_PREFIX = WORKING.split("{", 1)[0]


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


def is_working_note(message: Message) -> bool:
    """The "Working on `/cmd sub`…" note a command shows until its answer replaces it."""
    return (message.text or "").startswith(WORKING_PREFIX)


def changed_since(slack: SlackEmulator, since: int | None) -> set[str] | None:
    """The ts of every message posted or changed after event `since` (None: no filter)."""
    if since is None:
        return None
    return {e.ts for e in slack.events_since(since) if e.ts}


def seen_by(slack: SlackEmulator, user: str, *, since: int | None = None) -> str:
    """Everything the user can read in their ephemeral replies and DMs, newest last (working
    notes left out); with `since`, only what was posted or changed after that event."""
    fresh = changed_since(slack, since)
    parts = []
    for m in slack.ephemerals(user):
        if is_working_note(m) or (fresh is not None and m.ts not in fresh):
            continue
        parts.append(m.text or "")
        parts.append(texts(m.blocks))
    parts.append(dms(slack, user, since=since))
    return "\n".join(parts)


def dms(slack: SlackEmulator, user: str, *, since: int | None = None) -> str:
    """The text of every direct message the bot sent the user (with `since`: only those
    posted or changed after that event)."""
    fresh = changed_since(slack, since)
    dm = "D" + slack.user(user).id[1:]
    return "\n".join(
        f"{m.text}\n{texts(m.blocks)}" for m in slack.messages(dm) if fresh is None or m.ts in fresh
    )


def replies_since(slack: SlackEmulator, user: str, since: int) -> list[Message]:
    """The user's ephemerals posted or replaced after event `since`, as they are now, oldest
    first; a working note still waiting for its answer is left out."""
    uid = slack.user(user).id
    touched = {
        e.ts
        for e in slack.events_since(since)
        if e.kind in (EPHEMERAL_POSTED, EPHEMERAL_REPLACED) and e.user == uid
    }
    return [m for m in slack.ephemerals(user) if m.ts in touched and not is_working_note(m)]


def posted_since(slack: SlackEmulator, channel: str, since: int) -> list[Message]:
    """Channel messages first posted after event `since`, as they are now, oldest first."""
    cid = slack.channel(channel).id
    new = {e.ts for e in slack.events_since(since) if e.kind == MESSAGE_POSTED and e.channel == cid}
    return [m for m in slack.messages(cid) if m.ts in new]


async def reply_to(
    driver: SlackDriver,
    slack: SlackEmulator,
    user: str,
    command: str,
    text: str,
    *,
    expect: str,
    channel: str = "C0OPS",
) -> Message:
    """Type a command and wait for an ephemeral reply containing `expect`: said after the
    command was sent, and not its "Working on …" note (which may or may not come first)."""
    since = slack.last_seq
    response = await driver.command(user, command, text, channel=channel)
    assert response.status == 200, response.body

    def found() -> Message | None:
        for m in replies_since(slack, user, since):
            if expect in (m.text or "") + texts(m.blocks):
                return m
        return None

    return await driver.wait_for(found)


async def link(
    driver: SlackDriver,
    slack: SlackEmulator,
    user: str,
    platform: str,
    values: dict[str, str],
    instance: str = "",
) -> str:
    """Link through the modal, as a person does: `/ops link`, fill the form, submit."""
    opened = len(slack.views_opened(user))
    r = await driver.command(user, "/ops", f"link {platform} {instance}".strip())
    assert r.status == 200, r.body
    view = await driver.wait_for(
        lambda: slack.views_opened(user)[opened:] and slack.views_opened(user)[-1]
    )
    await driver.submit(user, view, {f"field_{k}": v for k, v in values.items()})

    def outcome() -> str | None:
        current = slack.view(view.id)
        body = texts(current.blocks) if current else ""
        if "Linked" in body or ":warning:" in body:
            return body
        return None

    return await driver.wait_for(outcome)
