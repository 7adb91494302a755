"""The Slack emulator's data: the seeded workspace and the snapshots readers get.

Frozen dataclasses (`Message`, `View`, `SlackEvent`, `SlackCall`, `ResponsePost`) are what
tests, the console and benchmarks receive; `to_api()` gives each one's shape in Slack's JSON.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

TEAM_ID = "T0DEMO"
TEAM_DOMAIN = "switchboard-demo"
APP_ID = "A0SWITCH"
BOT_ID = "B0BOT"
BOT_USER_ID = "U0BOT"

# Event kinds, as they appear in `SlackEvent.kind`.
MESSAGE_POSTED = "message.posted"
MESSAGE_UPDATED = "message.updated"
MESSAGE_DELETED = "message.deleted"
EPHEMERAL_POSTED = "ephemeral.posted"
EPHEMERAL_REPLACED = "ephemeral.replaced"
EPHEMERAL_DELETED = "ephemeral.deleted"
VIEW_OPENED = "view.opened"
VIEW_PUSHED = "view.pushed"
VIEW_UPDATED = "view.updated"
VIEW_ERRORS = "view.errors"
VIEW_CLOSED = "view.closed"
HOME_PUBLISHED = "home.published"

# Slack's long time-zone names (standard, daylight) for the zones the seed uses.
_TZ_LABELS = {
    "Europe/Paris": ("Central European Time", "Central European Summer Time"),
    "America/New_York": ("Eastern Standard Time", "Eastern Daylight Time"),
    "Asia/Tokyo": ("Japan Standard Time", "Japan Standard Time"),
    "America/Los_Angeles": ("Pacific Standard Time", "Pacific Daylight Time"),
}


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    real_name: str
    display_name: str
    tz: str
    email: str = ""
    is_admin: bool = False
    is_bot: bool = False

    def to_api(self, now: float) -> dict[str, Any]:
        """The `user` object of users.info; tz_offset and label follow DST at `now`."""
        moment = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(self.tz))
        offset = moment.utcoffset()
        standard, daylight = _TZ_LABELS.get(self.tz, (self.tz, self.tz))
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": daylight if moment.dst() else standard,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.display_name,
                "email": self.email,
                "team": TEAM_ID,
                **({"bot_id": BOT_ID} if self.is_bot else {}),
            },
        }


@dataclass
class Channel:
    id: str
    name: str
    members: set[str]
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None

    def to_api(self) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "is_im": True,
                "is_channel": False,
                "user": self.im_user,
                "is_open": True,
                "is_member": True,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": False,
            "is_member": BOT_USER_ID in self.members,
            "num_members": len(self.members),
        }


@dataclass(frozen=True)
class Message:
    """A message as a person sees it. `ephemeral_for` is set for ephemeral ones."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    # A thread reply also shown in the channel (chat.postMessage `reply_broadcast`): it is in
    # conversations.history as well as in conversations.replies.
    reply_broadcast: bool = False
    edited: bool = False
    ephemeral_for: str | None = None
    source: str = "chat.postMessage"
    # Message metadata ({"event_type": ..., "event_payload": {...}}), as chat.postMessage
    # took it; conversations.history returns it with include_all_metadata.
    metadata: dict[str, Any] | None = None
    # Files shared with the message (files.completeUploadExternal): their API objects.
    files: list[dict[str, Any]] = field(default_factory=list)
    # Link previews the app attached (chat.unfurl): url -> {"blocks": [...]}.
    unfurls: dict[str, Any] = field(default_factory=dict)

    @property
    def is_ephemeral(self) -> bool:
        return self.ephemeral_for is not None

    def to_api(self, *, with_metadata: bool = False) -> dict[str, Any]:
        """The message object Slack includes in API answers and block_actions payloads."""
        body: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "user": self.user,
            "team": TEAM_ID,
        }
        if with_metadata and self.metadata:
            body["metadata"] = copy.deepcopy(self.metadata)
        if self.user == BOT_USER_ID:
            body.update({"bot_id": BOT_ID, "app_id": APP_ID})
        if self.blocks:
            body["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        if self.reply_broadcast:
            body["subtype"] = "thread_broadcast"
        if self.files:
            body["files"] = copy.deepcopy(self.files)
        if self.edited:
            body["edited"] = {"user": self.user, "ts": self.ts}
        return body


@dataclass(frozen=True)
class View:
    """A modal or Home tab as last opened/updated. `open` is False once Slack closed it."""

    id: str
    user: str
    type: str
    blocks: list[dict[str, Any]]
    hash: str
    callback_id: str = ""
    external_id: str = ""
    private_metadata: str = ""
    title: dict[str, Any] | None = None
    submit: dict[str, Any] | None = None
    close: dict[str, Any] | None = None
    root_view_id: str = ""
    previous_view_id: str | None = None
    open: bool = True
    errors: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """The view object Slack returns from views.* and sends in interaction payloads."""
        body: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "type": self.type,
            "blocks": copy.deepcopy(self.blocks),
            "private_metadata": self.private_metadata,
            "callback_id": self.callback_id,
            "state": {"values": copy.deepcopy(self.state)},
            "hash": self.hash,
            "clear_on_close": bool(self.extra.get("clear_on_close", False)),
            "notify_on_close": bool(self.extra.get("notify_on_close", False)),
            "root_view_id": self.root_view_id or self.id,
            "previous_view_id": self.previous_view_id,
            "app_id": APP_ID,
            "external_id": self.external_id,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close"):
            if getattr(self, key) is not None:
                body[key] = copy.deepcopy(getattr(self, key))
        return body


@dataclass(frozen=True)
class SlackEvent:
    """One visible change, for `events_since`. `blocks` is what is now on screen; `user` is
    who sees it (ephemerals, views, Home tab) or who posted it (channel messages)."""

    seq: int
    kind: str
    user: str | None = None
    channel: str | None = None
    ts: str | None = None
    view_id: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SlackCall:
    """One Web API call: the method, its arguments (JSON fields parsed, token removed)."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None = None
    status: int = 200


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url, with the status the emulator answered."""

    url: str
    user: str
    channel: str
    body: Any
    status: int
    error: str | None = None


def seed_users() -> list[SlackUser]:
    return [
        SlackUser(
            BOT_USER_ID,
            "switchboard",
            "Switchboard",
            "switchboard",
            "America/Los_Angeles",
            is_bot=True,
        ),
        SlackUser(
            "U0ALICE",
            "alice",
            "Alice Martin",
            "alice",
            "Europe/Paris",
            "alice@example.com",
            is_admin=True,
        ),
        SlackUser("U0BOB", "bob", "Bob Carter", "bob", "America/New_York", "bob@example.com"),
        SlackUser("U0CAROL", "carol", "Carol Tanaka", "carol", "Asia/Tokyo", "carol@example.com"),
    ]


def seed_channels() -> list[Channel]:
    return [
        Channel("C0OPS", "ops", {"U0ALICE", "U0BOB", BOT_USER_ID}),
        Channel("C0DATA", "data", {"U0ALICE", "U0BOB", "U0CAROL"}),
    ]


SEED_USERGROUPS = {"S0ADMINS": {"handle": "admins", "users": ["U0ALICE"]}}

DEMO: dict[str, dict[str, Any]] = {
    user.name: {
        "user_id": user.id,
        "name": user.name,
        "real_name": user.real_name,
        "tz": user.tz,
        "is_admin": user.is_admin,
        "team_id": TEAM_ID,
    }
    for user in seed_users()
    if not user.is_bot
}

WORKSPACE: dict[str, Any] = {
    "team_id": TEAM_ID,
    "team_domain": TEAM_DOMAIN,
    "app_id": APP_ID,
    "bot_user_id": BOT_USER_ID,
    "bot_token": "xoxb-switchboard-demo",  # any xoxb- token is accepted
    "channels": {"ops": "C0OPS", "data": "C0DATA"},
    "usergroups": {"admins": "S0ADMINS"},
}
