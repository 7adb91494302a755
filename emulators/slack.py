"""A Slack Web API emulator: the bot's AsyncWebClient talks to it as it would to slack.com.

    with SlackEmulator() as slack:
        client = AsyncWebClient(token="xoxb-any", base_url=f"{slack.url}/api/")
        url = slack.new_response_url("alice", "C0OPS")     # what a slash command carries
        trigger = slack.new_trigger_id("alice")            # valid 3 s of emulator clock, once
        slack.messages("C0OPS"); slack.ephemerals("alice") # what people see
        slack.events_since(seq)                            # every visible change after seq

It answers like Slack: HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": code}`,
429 + Retry-After when rate limited, and plain-text 404s for spent response_urls. Arguments
arrive as query strings, forms (with `blocks`/`view` as JSON strings) or JSON bodies. Users may
be named by id ("U0ALICE") or name ("alice") in every helper here.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from emulators import slack_rules as rules
from emulators.base import Emulator
from emulators.slack_files import SlackFile as SlackFileRecord
from emulators.slack_limits import RateLimits
from emulators.slack_models import (
    BOT_USER_ID,
    DEMO,
    VIEW_ERRORS,
    VIEW_UPDATED,
    WORKSPACE,
    Channel,
    Message,
    ResponsePost,
    SlackCall,
    SlackEvent,
    SlackUser,
    View,
)
from emulators.slack_webapi import (
    ApiError,
    Triggers,
    WebApi,
    block_problems,
    check_view,
    replace_id,
)
from emulators.slack_workspace import Workspace

__all__ = [
    "DEMO",
    "WORKSPACE",
    "Channel",
    "Message",
    "ResponsePost",
    "SlackCall",
    "SlackEmulator",
    "SlackEvent",
    "SlackUser",
    "View",
]

# Arguments Slack accepts as JSON strings inside a form.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "unfurls")


@dataclass
class _ResponseUrl:
    user: str
    channel: str
    original_ts: str | None
    created: float
    uses: int = 0
    last_posted_ts: str | None = None  # the last message posted through this URL


class SlackEmulator(Emulator):
    name = "slack"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self.workspace = Workspace(clock)
        self.triggers = Triggers(clock)
        self.api = WebApi(self.workspace, self.triggers)
        self.limits = RateLimits(clock)
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._response_lock = threading.Lock()
        # Bot tokens answered `token_revoked` (the app uninstalled); `revoked_tokens.discard`
        # brings one back, as a reinstall would.
        self.revoked_tokens: set[str] = set()

    # -- serving -----------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        url = super().start(port)
        self.api.upload_base = url  # where files.getUploadURLExternal sends the bytes
        return url

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/{method}", self._web_api, methods=["GET", "POST"]),
            Route("/response/{url_id}", self._response_url, methods=["POST"]),
            Route("/upload/{file_id}", self._upload, methods=["POST"]),
        ]

    async def _upload(self, request: Request) -> Response:
        """Step 2 of files_upload_v2: the bytes, to the URL getUploadURLExternal gave."""
        body = await request.body()
        error = self.api.files.receive(request.path_params["file_id"], body)
        self.workspace.record_call(
            SlackCall(
                "upload",
                {"file_id": request.path_params["file_id"], "length": len(body)},
                error is None,
                error or "",
            )
        )
        if error:
            return PlainTextResponse(error, status_code=404 if "not_found" in error else 400)
        return PlainTextResponse(f"OK - {len(body)}")

    def say(self, user: str, channel: str, text: str) -> Message:
        """A person posts a message (what a link_shared event points at)."""
        ws = self.workspace
        return ws.post(
            Message(
                channel=self._channel_id(channel),
                ts=ws.new_ts(),
                user=self._user_id(user),
                text=text,
                blocks=[],
                source="person",
            )
        )

    def compose(self, user: str, text: str) -> Message:
        """A person types `text` in a message composer, not posted yet: a draft named as
        Slack's composer link_shared names it (channel "COMPOSER", one id as ts and
        unfurl_id; api.slack.com/changelog/2021-08-changes-to-unfurls)."""
        who = self._user_id(user)
        draft_id = f"{who}-{uuid.uuid4()}-{secrets.token_hex(16)}"
        draft = Message(
            channel="COMPOSER", ts=draft_id, user=who, text=text, blocks=[], source="composer"
        )
        self.api.drafts[draft_id] = self.api.unfurl_ids[draft_id] = draft
        self.api.unfurl_sources[draft_id] = "composer"
        return draft

    def files(self) -> list[SlackFileRecord]:
        """Every file announced, with its bytes once uploaded, in order."""
        with self.api.files.lock:
            return list(self.api.files.by_id.values())

    def error_response(self, status: int, message: str) -> Response:
        headers = {"Retry-After": "1"} if status == 429 else None
        code = {401: "invalid_auth", 429: rules.RATELIMITED_ERROR}.get(status, "fatal_error")
        return JSONResponse(
            {"ok": False, "error": code, "warning": message}, status_code=status, headers=headers
        )

    async def _web_api(self, request: Request) -> Response:
        method = request.path_params["method"]
        try:
            args, token = await _read_args(request)
        except ApiError as error:
            self.workspace.record_call(SlackCall(method, {}, False, error.code))
            return JSONResponse(error.body())
        if not token:
            return self._refuse(method, args, ApiError("not_authed"))
        if not token.startswith("xoxb-"):
            return self._refuse(method, args, ApiError("invalid_auth"))
        if token in self.revoked_tokens:
            return self._refuse(method, args, ApiError("token_revoked"))
        channel = self.workspace.channel(str(args.get("channel") or ""))
        retry_after = self.limits.check(method, channel.id if channel else args.get("channel"))
        if retry_after is not None:
            self.workspace.record_call(
                SlackCall(method, args, False, rules.RATELIMITED_ERROR, status=429)
            )
            return JSONResponse(
                {"ok": False, "error": rules.RATELIMITED_ERROR},
                status_code=429,
                headers={"Retry-After": str(retry_after)},
            )
        try:
            body = self.api.call(method, args)
        except ApiError as error:
            return self._refuse(method, args, error)
        self.workspace.record_call(SlackCall(method, args, True))
        return JSONResponse(body)

    def _refuse(self, method: str, args: dict[str, Any], error: ApiError) -> Response:
        self.workspace.record_call(SlackCall(method, args, False, error.code))
        return JSONResponse(error.body())

    # -- response_url ------------------------------------------------------------------------
    def new_response_url(
        self, user: str, channel: str, message: Message | str | None = None
    ) -> str:
        """A response_url bound to this user and channel; `message` is the original to
        replace or delete (a Message or its ts), as for a button click."""
        original = message.ts if isinstance(message, Message) else message
        url_id = f"{self.workspace.next_number()}-{secrets.token_hex(8)}"
        with self._response_lock:
            self._response_urls[url_id] = _ResponseUrl(
                self._user_id(user), self._channel_id(channel), original, self.clock()
            )
        return f"{self.url}/response/{url_id}"

    async def _response_url(self, request: Request) -> Response:
        url = str(request.url)
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        with self._response_lock:
            entry = self._response_urls.get(request.path_params["url_id"])
            gone = self._spent(entry)
            if entry is None or gone:
                status, error = rules.RESPONSE_URL_GONE_STATUS, gone or rules.RESPONSE_URL_UNKNOWN
            else:
                error = self._respond(entry, body)
                status = 400 if error else 200
                if not error:  # a refused post does not spend one of the uses
                    entry.uses += 1
        who = (entry.user, entry.channel) if entry else ("", "")
        self.workspace.record_response(ResponsePost(url, *who, body, status, error))
        if error:
            return PlainTextResponse(error, status_code=status)
        return JSONResponse({"ok": True})

    def _spent(self, entry: _ResponseUrl | None) -> str | None:
        if entry is None:
            return None
        if self.clock() - entry.created > rules.RESPONSE_URL_TTL:
            return rules.RESPONSE_URL_EXPIRED
        if entry.uses >= rules.RESPONSE_URL_MAX_USES:
            return rules.RESPONSE_URL_USED
        return None

    def _respond(self, entry: _ResponseUrl, body: Any) -> str | None:
        """Apply one response_url post to what people see; an error text if refused."""
        if not isinstance(body, dict):
            return "invalid_payload"
        ws = self.workspace
        original_ts = entry.original_ts
        if original_ts is None and rules.RESPONSE_URL_REPLACES_OWN_LAST_POST:
            original_ts = entry.last_posted_ts
        original = ws.find(entry.channel, original_ts) if original_ts else None
        if _flag(body.get("delete_original")):
            if original is not None:
                ws.delete(original)
            return None
        text, blocks = str(body.get("text") or ""), body.get("blocks") or []
        if not text and not blocks:
            return "no_text"
        if block_problems(blocks, rules.MAX_MESSAGE_BLOCKS):
            return "invalid_blocks"
        text = text[: rules.MAX_MESSAGE_TEXT]
        replace_original = body.get("replace_original", rules.RESPONSE_URL_DEFAULT_REPLACE)
        if _flag(replace_original) and original is not None:
            ws.replace(original, text=text, blocks=blocks)
            return None
        in_channel = body.get("response_type") == "in_channel"
        posted = ws.post(
            Message(
                channel=entry.channel,
                ts=ws.new_ts(),
                user=BOT_USER_ID,
                text=text,
                blocks=copy.deepcopy(blocks),
                thread_ts=body.get("thread_ts"),
                ephemeral_for=None if in_channel else entry.user,
                source="response_url",
            )
        )
        entry.last_posted_ts = posted.ts
        return None

    # -- trigger ids -------------------------------------------------------------------------
    def new_trigger_id(self, user: str = "alice") -> str:
        """A trigger_id for this user, valid TRIGGER_TTL seconds of emulator clock, once."""
        return self.triggers.new(self._user_id(user))

    # -- rate limits -------------------------------------------------------------------------
    def ratelimit(
        self, method: str | None = "chat.postMessage", *, times: int = 1, retry_after: int = 1
    ) -> None:
        """The next `times` calls to `method` (None: any) answer 429 + Retry-After."""
        self.limits.ratelimit(method, times, retry_after)

    def enforce_rate_limits(
        self,
        *,
        per_channel_per_second: float | None = 1.0,
        workspace_per_minute: int | None = None,
        burst: int = 1,
        methods: tuple[str, ...] = rules.DEFAULT_RATE_LIMITED_METHODS,
    ) -> None:
        """Refuse calls beyond these rates (emulator clock) with 429 + Retry-After."""
        self.limits.enforce(per_channel_per_second, workspace_per_minute, burst, methods)

    def clear_rate_limits(self) -> None:
        self.limits.clear()

    # -- what a person sees ------------------------------------------------------------------
    def messages(self, channel: str | None = None) -> list[Message]:
        """Channel messages (not ephemerals) in ts order; all channels when None."""
        return self.workspace.messages(self._channel_id(channel) if channel else None)

    def ephemerals(self, user: str) -> list[Message]:
        """Ephemeral messages this user can see (chat.postEphemeral and response_url)."""
        return self.workspace.ephemerals(self._user_id(user))

    def views_opened(self, user: str) -> list[View]:
        """Every modal opened or pushed for this user, oldest first, as it is now."""
        return self.workspace.modals(self._user_id(user))

    def open_views(self, user: str) -> list[View]:
        """The user's modal stack as on screen now (root first); empty when none is open."""
        return self.workspace.stack(self._user_id(user))

    def view(self, view_id: str) -> View | None:
        return self.workspace.view(view_id)

    def home(self, user: str) -> View | None:
        """The Home tab last published for this user."""
        return self.workspace.home(self._user_id(user))

    def calls(self, method: str | None = None) -> list[SlackCall]:
        """Every Web API call received, in order (token removed, JSON fields parsed)."""
        return self.workspace.calls(method)

    def responses(self) -> list[ResponsePost]:
        """Every response_url post received, in order, with the status answered."""
        return self.workspace.responses()

    def events_since(self, seq: int = 0) -> list[SlackEvent]:
        """Every visible change with `seq` greater than this one."""
        return self.workspace.events_since(seq)

    @property
    def last_seq(self) -> int:
        return self.workspace.last_seq

    # -- what the Slack client does with a view_submission ack (used by SlackDriver) ---------
    def close_views(self, user: str, *, only_top: bool = False) -> None:
        self.workspace.close_views(self._user_id(user), only_top=only_top)

    def show_view_errors(self, view_id: str, errors: dict[str, str]) -> None:
        with self.workspace.lock:
            view = self.workspace.view(view_id)
            if view is not None:
                self.workspace.put_view(replace(view, errors=dict(errors)), VIEW_ERRORS)

    def replace_view(self, view_id: str, view: dict[str, Any]) -> View:
        """response_action=update: the view's content changes, its id stays."""
        check_view(view, home=False)
        with self.workspace.lock:
            old = self.workspace.view(view_id)
            if old is None:
                raise KeyError(view_id)
            fresh = replace_id(self.api.build_view(old.user, view), old)
            return self.workspace.put_view(fresh, VIEW_UPDATED)

    def push_view(self, user: str, view: dict[str, Any]) -> View:
        """response_action=push."""
        check_view(view, home=False)
        with self.workspace.lock:
            stack = self.workspace.stack(self._user_id(user))
            links = {"root_view_id": stack[0].id, "previous_view_id": stack[-1].id} if stack else {}
            fresh = self.api.build_view(self._user_id(user), view, **links)
            return self.workspace.open_view(fresh, push=bool(stack))

    def set_view_state(self, view_id: str, values: dict[str, Any]) -> None:
        """What the person has typed or picked so far (state.values), kept on the view."""
        with self.workspace.lock:
            view = self.workspace.view(view_id)
            if view is not None:
                merged = copy.deepcopy(view.state)
                for block_id, actions in values.items():
                    merged.setdefault(block_id, {}).update(copy.deepcopy(actions))
                self.workspace.keep_view(replace(view, state=merged))

    # -- workspace ---------------------------------------------------------------------------
    def user(self, key: str) -> SlackUser:
        found = self.workspace.user(key)
        if found is None:
            raise KeyError(key)
        return found

    def channel(self, key: str) -> Channel:
        found = self.workspace.channel(key)
        if found is None:
            raise KeyError(key)
        return found

    def add_user(self, user: SlackUser) -> None:
        with self.workspace.lock:
            self.workspace.users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        with self.workspace.lock:
            self.workspace.channels[channel.id] = channel

    def _user_id(self, key: str) -> str:
        found = self.workspace.user(key)
        return found.id if found else key

    def _channel_id(self, key: str) -> str:
        found = self.workspace.channel(key)
        return found.id if found else key


async def _read_args(request: Request) -> tuple[dict[str, Any], str | None]:
    """The call's arguments from query, form or JSON body; and the token, taken out."""
    args: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        if "json" in ctype or raw.lstrip().startswith(b"{"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError("invalid_json") from None
            if not isinstance(body, dict):
                raise ApiError("invalid_json")
            args.update(body)
        elif raw:
            args.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in _JSON_FIELDS:
        if isinstance(args.get(key), str) and args[key]:
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                raise ApiError(
                    "invalid_blocks" if key == "blocks" else "invalid_arguments",
                    f"{key} is not valid JSON",
                ) from None
    token = args.pop("token", None)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    return args, token


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)
