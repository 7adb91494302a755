"""The Slack Web API methods the bot uses, answered from the emulator's `Workspace`.

Each method takes the request's arguments (JSON fields already parsed) and returns the body
Slack would send after `"ok": true`, or raises `ApiError` with Slack's error code. Block Kit is
validated with slack_sdk.models, as Slack would refuse it, plus the block-count limits the SDK
does not check (slack.md 1.6).
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View as SdkView

from emulators import slack_rules as rules
from emulators.slack_files import Files
from emulators.slack_models import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    HOME_PUBLISHED,
    TEAM_DOMAIN,
    TEAM_ID,
    VIEW_UPDATED,
    Channel,
    Message,
    View,
)
from emulators.slack_workspace import Workspace


class ApiError(Exception):
    """A Slack `{"ok": false, "error": code}` answer, with optional detail messages."""

    def __init__(self, code: str, *messages: str) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.code}
        if self.messages:
            body["errors"] = self.messages
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


def block_problems(blocks: Any, limit: int) -> list[str]:
    """Why Slack would refuse these blocks (empty list: it would not)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    if len(blocks) > limit:
        return [f"no more than {limit} items allowed [json-pointer:/blocks]"]
    problems = []
    for i, raw in enumerate(blocks):
        try:
            parsed = Block.parse(raw) if isinstance(raw, dict) else None
            if parsed is None:
                problems.append(f"unknown block type [json-pointer:/blocks/{i}]")
            else:
                parsed.to_dict()  # validates the block and everything nested in it
        except Exception as error:  # the SDK raises several types for malformed input
            problems.append(f"{error} [json-pointer:/blocks/{i}]")
    return problems


def check_blocks(blocks: Any, limit: int) -> None:
    problems = block_problems(blocks, limit)
    if problems:
        raise ApiError("invalid_blocks", *problems)


def check_view(view: Any, *, home: bool) -> dict[str, Any]:
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", "view must be an object")
    expected = "home" if home else "modal"
    if view.get("type") != expected:
        raise ApiError("invalid_arguments", f"view type must be {expected}")
    if not home and not view.get("title"):
        raise ApiError("invalid_arguments", "modal views need a title")
    check_blocks(view.get("blocks", []), rules.MAX_VIEW_BLOCKS)
    try:
        SdkView(**view).to_dict()
    except Exception as error:
        raise ApiError("invalid_arguments", str(error)) from None
    if len(str(view.get("external_id", ""))) > rules.MAX_EXTERNAL_ID:
        raise ApiError("invalid_arguments", "external_id is too long")
    return view


@dataclass
class _Trigger:
    user: str
    issued: float
    used: bool = False


class Triggers:
    """trigger_ids: valid for TRIGGER_TTL seconds of the emulator clock, and only once."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._issued: dict[str, _Trigger] = {}

    def new(self, user: str) -> str:
        trigger_id = f"{int(self.clock())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        with self._lock:
            self._issued[trigger_id] = _Trigger(user, self.clock())
        return trigger_id

    def take(self, trigger_id: Any) -> str:
        """The user the trigger belongs to; it is spent from now on."""
        with self._lock:
            trigger = self._issued.get(str(trigger_id))
            if trigger is None:
                raise ApiError(rules.TRIGGER_UNKNOWN)
            if self.clock() - trigger.issued > rules.TRIGGER_TTL:
                raise ApiError(rules.TRIGGER_EXPIRED)
            if trigger.used:
                raise ApiError(rules.TRIGGER_USED)
            trigger.used = True
            return trigger.user


class WebApi:
    """One Python method per Slack method; `call` dispatches by Slack's method name."""

    def __init__(self, workspace: Workspace, triggers: Triggers) -> None:
        self.ws = workspace
        self.triggers = triggers
        self.files = Files()
        self.unfurl_ids: dict[str, Message] = {}  # link_shared unfurl_id -> the message
        # ... and the source Slack named in that event ("conversations_history", "composer").
        self.unfurl_sources: dict[str, str] = {}
        # Links typed in a message composer, not posted yet: draft id -> the draft (channel
        # "COMPOSER", ts the draft id, as link_shared names them); its previews in `unfurls`.
        self.drafts: dict[str, Message] = {}
        self.upload_base = ""  # the emulator's URL, set once it serves (upload URLs)
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "conversations.info": self.conversations_info,
            "conversations.members": self.conversations_members,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "users.info": self.users_info,
            "usergroups.users.list": self.usergroups_users_list,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "chat.unfurl": self.chat_unfurl,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = self.methods.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        with self.ws.lock:  # one method is one atomic change, as in Slack
            return {"ok": True, **handler(args)}

    # -- helpers -----------------------------------------------------------------------------
    def _channel(self, args: dict[str, Any]) -> Channel:
        channel = self.ws.channel(str(args.get("channel") or ""))
        if channel is None:
            raise ApiError("channel_not_found")
        return channel

    def _content(self, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = str(args.get("text") or "")
        blocks = args.get("blocks") or []
        if not text and not blocks and not args.get("attachments"):
            raise ApiError(rules.NO_TEXT_ERROR)
        check_blocks(blocks, rules.MAX_MESSAGE_BLOCKS)
        return text[: rules.MAX_MESSAGE_TEXT], copy.deepcopy(blocks)

    def _own_message(self, args: dict[str, Any], refusal: str) -> Message:
        channel = self._channel(args)
        message = self.ws.find(channel.id, str(args.get("ts") or ""))
        if message is None or message.is_ephemeral:  # ephemerals are not in the history
            raise ApiError("message_not_found")
        if message.user != BOT_USER_ID:
            raise ApiError(refusal)
        return message

    def build_view(self, user: str, view: dict[str, Any], **links: Any) -> View:
        known = {
            "type",
            "blocks",
            "callback_id",
            "external_id",
            "private_metadata",
            "title",
            "submit",
            "close",
        }
        return View(
            id=f"V0{self.ws.next_number():08d}",
            user=user,
            type=view["type"],
            blocks=copy.deepcopy(view.get("blocks", [])),
            hash=self._hash(),
            callback_id=str(view.get("callback_id", "")),
            external_id=str(view.get("external_id", "")),
            private_metadata=str(view.get("private_metadata", "")),
            title=view.get("title"),
            submit=view.get("submit"),
            close=view.get("close"),
            extra={k: v for k, v in view.items() if k not in known},
            **links,
        )

    def _hash(self) -> str:
        return f"{int(self.ws.clock())}.{secrets.token_hex(4)}"

    # -- auth / users / conversations --------------------------------------------------------
    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Switchboard Demo",
            "user": "switchboard",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.ws.users.get(str(args.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user.to_api(self.ws.clock())}

    def usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.ws.usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"channel": {"id": self._channel(args).id}, "already_open": True}
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise ApiError("users_list_not_supplied")
        if any(u not in self.ws.users for u in users):
            raise ApiError("user_not_found")
        if len(users) == 1:
            dm = self.ws.open_dm(users[0])
            return {"channel": dm.to_api() if args.get("return_im") else {"id": dm.id}}
        mpim_id = "G" + "".join(u[1:] for u in sorted(users))
        if mpim_id not in self.ws.channels:
            self.ws.channels[mpim_id] = Channel(
                mpim_id,
                "mpdm-" + "--".join(sorted(users)),
                {*users, BOT_USER_ID},
                is_private=True,
            )
        return {"channel": {"id": mpim_id}}

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(args).to_api()}

    def conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "members": sorted(self._channel(args).members),
            "response_metadata": {"next_cursor": ""},
        }

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Channel messages newest first, between `oldest` and `latest` (exclusive unless
        `inclusive`), at most `limit`; metadata only with include_all_metadata."""
        channel = self._channel(args)
        if not channel.is_im and BOT_USER_ID not in channel.members:
            raise ApiError("not_in_channel")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 0) or float("inf")
        inclusive = _true(args.get("inclusive"))
        limit = max(1, min(int(args.get("limit") or 100), 999))
        with_metadata = _true(args.get("include_all_metadata"))
        found = []
        for message in reversed(self.ws.messages(channel.id)):
            ts = float(message.ts)
            inside = (oldest <= ts <= latest) if inclusive else (oldest < ts < latest)
            if inside and (message.thread_ts in (None, message.ts) or message.reply_broadcast):
                found.append(message)
        cursor = int(args.get("cursor") or 0)
        page = found[cursor : cursor + limit]
        more = len(found) > cursor + limit
        return {
            "messages": [m.to_api(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(cursor + limit) if more else ""},
        }

    def conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread oldest first: its parent (always, as Slack gives it) then the replies
        between `oldest` and `latest`, at most `limit`; metadata with include_all_metadata."""
        channel = self._channel(args)
        if not channel.is_im and BOT_USER_ID not in channel.members:
            raise ApiError("not_in_channel")
        parent = self.ws.find(channel.id, str(args.get("ts") or ""))
        if parent is None or parent.is_ephemeral:
            raise ApiError("thread_not_found")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 0) or float("inf")
        inclusive = _true(args.get("inclusive"))
        limit = max(1, min(int(args.get("limit") or 1000), 1000))
        with_metadata = _true(args.get("include_all_metadata"))
        replies = [
            m
            for m in self.ws.messages(channel.id)
            if m.thread_ts == parent.ts
            and m.ts != parent.ts
            and (
                (oldest <= float(m.ts) <= latest) if inclusive else (oldest < float(m.ts) < latest)
            )
        ]
        found = [parent, *replies]
        cursor = int(args.get("cursor") or 0)
        page = found[cursor : cursor + limit]
        more = len(found) > cursor + limit
        return {
            "messages": [m.to_api(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(cursor + limit) if more else ""},
        }

    # -- messages ----------------------------------------------------------------------------
    def chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if rules.BOT_MUST_BE_MEMBER_TO_POST and BOT_USER_ID not in channel.members:
            raise ApiError("not_in_channel")
        text, blocks = self._content(args)
        message = self.ws.post(
            Message(
                channel=channel.id,
                ts=self.ws.new_ts(),
                user=BOT_USER_ID,
                text=text,
                blocks=blocks,
                thread_ts=args.get("thread_ts") or None,
                reply_broadcast=bool(args.get("thread_ts")) and _true(args.get("reply_broadcast")),
                metadata=_metadata(args.get("metadata")),
            )
        )
        return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}

    def chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        user = self.ws.users.get(str(args.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        if BOT_USER_ID not in channel.members:  # slack.md 1.4: needs the bot in there
            raise ApiError("not_in_channel")
        if user.id not in channel.members:
            raise ApiError("user_not_in_channel")
        text, blocks = self._content(args)
        message = self.ws.post(
            Message(
                channel=channel.id,
                ts=self.ws.new_ts(),
                user=BOT_USER_ID,
                text=text,
                blocks=blocks,
                ephemeral_for=user.id,
                source="chat.postEphemeral",
            )
        )
        return {"message_ts": message.ts}

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        old = self._own_message(args, "cant_update_message")
        if "text" not in args and "blocks" not in args and "attachments" not in args:
            raise ApiError(rules.NO_TEXT_ERROR)
        # Slack keeps the old blocks when `blocks` is absent; an empty list removes them.
        text = str(args["text"]) if "text" in args else old.text
        blocks = args["blocks"] if "blocks" in args else old.blocks
        check_blocks(blocks or [], rules.MAX_MESSAGE_BLOCKS)
        new = self.ws.replace(old, text=text[: rules.MAX_MESSAGE_TEXT], blocks=blocks or [])
        return {"channel": new.channel, "ts": new.ts, "text": new.text, "message": new.to_api()}

    def chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        old = self._own_message(args, "cant_delete_message")
        self.ws.delete(old)
        return {"channel": old.channel, "ts": old.ts}

    # -- views -------------------------------------------------------------------------------
    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.triggers.take(args.get("trigger_id"))
        view = check_view(args.get("view"), home=False)
        self._unique_external_id(view)
        opened = self.ws.open_view(self.build_view(user, view), push=False)
        return {"view": opened.to_api()}

    def views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.triggers.take(args.get("trigger_id"))
        view = check_view(args.get("view"), home=False)
        stack = self.ws.stack(user)
        if not stack:
            raise ApiError("not_found", "no modal is open to push onto")
        if len(stack) >= rules.MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        self._unique_external_id(view)
        pushed = self.ws.open_view(
            self.build_view(user, view, root_view_id=stack[0].id, previous_view_id=stack[-1].id),
            push=True,
        )
        return {"view": pushed.to_api()}

    def views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("view_id"):
            old = self.ws.view(str(args["view_id"]))
        elif args.get("external_id"):
            old = self.ws.view_by_external_id(str(args["external_id"]))
        else:
            raise ApiError("invalid_arguments", "view_id or external_id is required")
        if old is None or not old.open:
            raise ApiError("not_found")
        if args.get("hash") and args["hash"] != old.hash:
            raise ApiError("hash_conflict")
        view = check_view(args.get("view"), home=old.type == "home")
        fresh = self.build_view(
            old.user, view, root_view_id=old.root_view_id, previous_view_id=old.previous_view_id
        )
        updated = self.ws.put_view(replace_id(fresh, old), VIEW_UPDATED)
        return {"view": updated.to_api()}

    def views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.ws.users.get(str(args.get("user_id") or ""))
        if user is None:
            raise ApiError("user_not_found")
        view = check_view(args.get("view"), home=True)
        old = self.ws.home(user.id)
        if old is not None and args.get("hash") and args["hash"] != old.hash:
            raise ApiError("hash_conflict")
        fresh = self.build_view(user.id, view)
        if old is not None:
            fresh = replace_id(fresh, old)  # a user's Home tab keeps its view id
        return {"view": self.ws.put_view(fresh, HOME_PUBLISHED).to_api()}

    def chat_unfurl(self, args: dict[str, Any]) -> dict[str, Any]:
        """Previews for the links of a message, by channel + ts or by unfurl_id + source
        (both of a pair, as Slack requires; the source the one its link_shared event named);
        a composer draft by its unfurl_id, or by channel "COMPOSER" and the draft id as ts.
        Each url must be one the message holds, each preview valid Block Kit."""
        unfurls = args.get("unfurls")
        if not isinstance(unfurls, dict) or not unfurls:
            raise ApiError("invalid_unfurls_format")
        if bool(args.get("unfurl_id")) != bool(args.get("source")):
            raise ApiError("invalid_arguments", "unfurl_id and source go together")
        if args.get("source") and args["source"] not in ("composer", "conversations_history"):
            raise ApiError("invalid_source")
        message: Message | None
        if args.get("unfurl_id"):
            unfurl_id = str(args["unfurl_id"])
            message = self.unfurl_ids.get(unfurl_id)
            if message is None or self.unfurl_sources.get(unfurl_id) != args["source"]:
                raise ApiError("cannot_find_message")
        elif args.get("channel") == "COMPOSER":
            message = self.drafts.get(str(args.get("ts") or ""))
        else:
            channel = self._channel(args)
            message = self.ws.find(channel.id, str(args.get("ts") or ""))
        if message is None:
            raise ApiError("cannot_find_message")
        for url, preview in unfurls.items():
            if url not in message.text:
                raise ApiError("cannot_unfurl_url", f"{url} is not in the message")
            if not isinstance(preview, dict):
                raise ApiError("invalid_unfurls_format")
            check_blocks(preview.get("blocks") or [], rules.MAX_MESSAGE_BLOCKS)
        message.unfurls.update(copy.deepcopy(unfurls))
        return {}

    # -- files (emulators/slack_files.py) ----------------------------------------------------
    def files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F0{self.ws.next_number():08d}"
        self.files.reserve(file_id, args)
        return {"upload_url": f"{self.upload_base}/upload/{file_id}", "file_id": file_id}

    def files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_key = str(args.get("channel_id") or args.get("channels") or "")
        channel = self.ws.channel(channel_key) if channel_key else None
        if channel_key and channel is None:
            raise ApiError("channel_not_found")
        done = self.files.complete(args)
        for f in done:
            f.completed = True
            f.initial_comment = str(args.get("initial_comment") or "")
            if channel is not None:
                f.channels.append(channel.id)
        if channel is not None:
            self.ws.post(
                Message(
                    channel=channel.id,
                    ts=self.ws.new_ts(),
                    user=BOT_USER_ID,
                    text=str(args.get("initial_comment") or ""),
                    blocks=[],
                    thread_ts=args.get("thread_ts") or None,
                    source="files.completeUploadExternal",
                    files=[f.to_api() for f in done],
                )
            )
        return {"files": [f.to_api() for f in done]}

    def _unique_external_id(self, view: dict[str, Any]) -> None:
        external_id = view.get("external_id")
        if external_id and self.ws.view_by_external_id(str(external_id)) is not None:
            raise ApiError("duplicate_external_id")


def _true(value: Any) -> bool:
    return str(value).lower() in ("1", "true") if isinstance(value, str) else bool(value)


def _metadata(value: Any) -> dict[str, Any] | None:
    """chat.postMessage `metadata`: an event_type and an event_payload object, else refused."""
    if value in (None, ""):
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload", {}), dict)
    ):
        raise ApiError("invalid_metadata_format")
    return copy.deepcopy(value)


def replace_id(fresh: View, old: View) -> View:
    """`fresh`'s content under `old`'s id, stack links and state of being open. An update
    that names no external_id keeps the old one when the rules say so."""
    kept = old.external_id if rules.VIEW_UPDATE_KEEPS_EXTERNAL_ID else ""
    return replace(
        fresh,
        id=old.id,
        root_view_id=old.root_view_id,
        previous_view_id=old.previous_view_id,
        open=old.open,
        external_id=fresh.external_id or kept,
    )
