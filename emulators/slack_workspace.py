"""The Slack emulator's state: what each person sees, behind one lock.

Everything here is guarded by one lock because the emulator's server runs on its own thread
while tests, the console and benchmarks read from theirs. Readers get frozen snapshots
(`Message`, `View`, `SlackEvent`), never the live records, so nothing changes under them.

Every visible change (a message posted, edited or deleted, an ephemeral reply, a modal opened,
a Home tab published) is appended to one event log with a monotonically increasing `seq`, so a
caller can ask for "everything new since N".
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from emulators.slack_models import (
    BOT_USER_ID,
    EPHEMERAL_DELETED,
    EPHEMERAL_POSTED,
    EPHEMERAL_REPLACED,
    MESSAGE_DELETED,
    MESSAGE_POSTED,
    MESSAGE_UPDATED,
    SEED_USERGROUPS,
    VIEW_CLOSED,
    VIEW_OPENED,
    VIEW_PUSHED,
    Channel,
    Message,
    ResponsePost,
    SlackCall,
    SlackEvent,
    SlackUser,
    View,
    seed_channels,
    seed_users,
)


class Workspace:
    """The emulator's state. Every method takes the lock; readers get snapshots."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.users: dict[str, SlackUser] = {u.id: u for u in seed_users()}
        self.channels: dict[str, Channel] = {c.id: c for c in seed_channels()}
        self.usergroups = copy.deepcopy(SEED_USERGROUPS)
        self._messages: dict[tuple[str, str], Message] = {}  # (channel, ts), channel posts
        self._ephemerals: dict[str, Message] = {}  # ts -> ephemeral (ts is unique)
        self._views: dict[str, View] = {}
        self._stacks: dict[str, list[str]] = {}  # user -> open modal view ids, root first
        self._homes: dict[str, str] = {}  # user -> home view id
        self._events: list[SlackEvent] = []
        self._calls: list[SlackCall] = []
        self._responses: list[ResponsePost] = []
        self._counter = itertools.count(1)

    # -- ids ---------------------------------------------------------------------------------
    def next_number(self) -> int:
        with self.lock:
            return next(self._counter)

    def new_ts(self) -> str:
        """A unique message ts ("seconds.micro") that grows with the clock and the counter."""
        return f"{int(self.clock())}.{self.next_number() % 1_000_000:06d}"

    # -- lookups -----------------------------------------------------------------------------
    def user(self, key: str) -> SlackUser | None:
        """By id (U0ALICE) or name (alice)."""
        with self.lock:
            if key in self.users:
                return self.users[key]
            return next((u for u in self.users.values() if u.name == key), None)

    def channel(self, key: str) -> Channel | None:
        """By id (C0OPS), name (ops / #ops); a user id gives that user's DM with the bot."""
        with self.lock:
            if key in self.channels:
                return self.channels[key]
            name = key.lstrip("#")
            found = next((c for c in self.channels.values() if c.name == name), None)
            if found is None and key in self.users:
                found = self.open_dm(key)
            return found

    def open_dm(self, user_id: str) -> Channel:
        with self.lock:
            dm_id = "D" + user_id[1:]
            if dm_id not in self.channels:
                self.channels[dm_id] = Channel(
                    dm_id, "directmessage", {user_id, BOT_USER_ID}, is_im=True, im_user=user_id
                )
            return self.channels[dm_id]

    # -- messages ----------------------------------------------------------------------------
    def post(self, message: Message) -> Message:
        with self.lock:
            if message.is_ephemeral:
                self._ephemerals[message.ts] = message
                self._emit(EPHEMERAL_POSTED, message)
            else:
                self._messages[(message.channel, message.ts)] = message
                self._emit(MESSAGE_POSTED, message)
            return message

    def find(self, channel: str, ts: str) -> Message | None:
        """A channel message, or an ephemeral with that ts (ephemerals have unique ts)."""
        with self.lock:
            found = self._messages.get((channel, ts))
            if found is None and ts in self._ephemerals:
                found = self._ephemerals[ts]
            return found

    def replace(self, old: Message, *, text: str, blocks: list[dict[str, Any]]) -> Message:
        with self.lock:
            new = replace(old, text=text, blocks=copy.deepcopy(blocks), edited=True)
            if old.is_ephemeral:
                self._ephemerals[old.ts] = new
                self._emit(EPHEMERAL_REPLACED, new)
            else:
                self._messages[(old.channel, old.ts)] = new
                self._emit(MESSAGE_UPDATED, new)
            return new

    def delete(self, old: Message) -> None:
        with self.lock:
            if old.is_ephemeral:
                self._ephemerals.pop(old.ts, None)
                self._emit(EPHEMERAL_DELETED, replace(old, text="", blocks=[]))
            else:
                self._messages.pop((old.channel, old.ts), None)
                self._emit(MESSAGE_DELETED, replace(old, text="", blocks=[]))

    def messages(self, channel: str | None = None) -> list[Message]:
        with self.lock:
            found = [m for m in self._messages.values() if channel in (None, m.channel)]
        return sorted(found, key=_ts_key)

    def ephemerals(self, user: str) -> list[Message]:
        with self.lock:
            found = [m for m in self._ephemerals.values() if m.ephemeral_for == user]
        return sorted(found, key=_ts_key)

    # -- views -------------------------------------------------------------------------------
    def view(self, view_id: str) -> View | None:
        with self.lock:
            return self._views.get(view_id)

    def view_by_external_id(self, external_id: str) -> View | None:
        with self.lock:
            return next((v for v in self._views.values() if v.external_id == external_id), None)

    def stack(self, user: str) -> list[View]:
        with self.lock:
            return [self._views[v] for v in self._stacks.get(user, [])]

    def open_view(self, view: View, *, push: bool) -> View:
        with self.lock:
            stack = self._stacks.setdefault(view.user, [])
            if not push:
                self._close(stack)
            stack.append(view.id)
            self._views[view.id] = view
            self._emit_view(VIEW_PUSHED if push else VIEW_OPENED, view)
            return view

    def put_view(self, view: View, kind: str) -> View:
        """Store a changed view (updated, errors shown) and say so in the event log."""
        with self.lock:
            self._views[view.id] = view
            if view.type == "home":
                self._homes[view.user] = view.id
            self._emit_view(kind, view)
            return view

    def keep_view(self, view: View) -> None:
        """Store a view change a person cannot see (typed input), with no event."""
        with self.lock:
            self._views[view.id] = view

    def close_views(self, user: str, *, only_top: bool = False) -> None:
        with self.lock:
            stack = self._stacks.get(user, [])
            if only_top and stack:
                self._close([stack.pop()])
            else:
                self._close(stack)

    def _close(self, ids: list[str]) -> None:
        for view_id in list(ids):
            closed = replace(self._views[view_id], open=False)
            self._views[view_id] = closed
            self._emit_view(VIEW_CLOSED, closed)
        ids.clear()

    def modals(self, user: str) -> list[View]:
        with self.lock:
            found = [v for v in self._views.values() if v.user == user and v.type == "modal"]
        return sorted(found, key=lambda v: v.id)

    def home(self, user: str) -> View | None:
        with self.lock:
            view_id = self._homes.get(user)
            return self._views.get(view_id) if view_id else None

    # -- logs --------------------------------------------------------------------------------
    def record_call(self, call: SlackCall) -> None:
        with self.lock:
            self._calls.append(call)

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self.lock:
            return [c for c in self._calls if method in (None, c.method)]

    def record_response(self, post: ResponsePost) -> None:
        with self.lock:
            self._responses.append(post)

    def responses(self) -> list[ResponsePost]:
        with self.lock:
            return list(self._responses)

    def events_since(self, seq: int = 0) -> list[SlackEvent]:
        with self.lock:
            # seq starts at 1 and grows by one, so the tail starts at index `seq`.
            return self._events[max(seq, 0) :]

    @property
    def last_seq(self) -> int:
        with self.lock:
            return len(self._events)

    def _emit(self, kind: str, message: Message) -> None:
        self._events.append(
            SlackEvent(
                seq=len(self._events) + 1,
                kind=kind,
                user=message.ephemeral_for or message.user,
                channel=message.channel,
                ts=message.ts,
                text=message.text,
                blocks=copy.deepcopy(message.blocks),
            )
        )

    def _emit_view(self, kind: str, view: View) -> None:
        self._events.append(
            SlackEvent(
                seq=len(self._events) + 1,
                kind=kind,
                user=view.user,
                view_id=view.id,
                text=str((view.title or {}).get("text", "")),
                blocks=copy.deepcopy(view.blocks),
            )
        )


def _ts_key(message: Message) -> tuple[int, int]:
    seconds, _, micro = message.ts.partition(".")
    return int(seconds), int(micro or 0)
