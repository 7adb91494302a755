"""The other half of Slack: what Slack sends to an app, signed, over real HTTP.

    async with SlackDriver(slack, f"{app.url}/slack/events", signing_secret) as driver:
        r = await driver.command("alice", "/ops", "help")         # r.status == 200: acked
        reply = await driver.wait_for(lambda s: s.ephemerals("alice"))
        await driver.click("alice", reply[-1], text="Approve")   # confirm dialog accepted
        await driver.submit("alice", slack.open_views("alice")[-1], {"api_key": "..."})

Requests are signed as in slack.md 1.2 (v0 HMAC-SHA256 over `v0:{ts}:{raw body}`). Every
sender takes `bad_signature`, `timestamp_offset` (seconds; -301 is stale) and `retry_num` /
`retry_reason` (Slack's redelivery headers). response_urls and trigger_ids come from the
emulator, so what the app does with them lands there.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from slack_sdk.signature import SignatureVerifier

from emulators import slack_payloads as payloads
from emulators.base import Emulator
from emulators.slack import SlackEmulator
from emulators.slack_models import APP_ID, TEAM_DOMAIN, TEAM_ID, Message, View

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class AppResponse:
    """The app's answer, and what was sent to get it."""

    status: int
    body: str
    headers: dict[str, str]
    sent: bytes
    content_type: str
    response_url: str | None = None
    trigger_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None

    @property
    def payload(self) -> dict[str, Any]:
        """The body sent, decoded (a form's `payload` field is opened up)."""
        if self.content_type == JSON:
            return json.loads(self.sent)
        form = dict(httpx.QueryParams(self.sent.decode()))
        return json.loads(form["payload"]) if "payload" in form else form


class SlackDriver:
    def __init__(
        self,
        emulator: SlackEmulator,
        events_url: str,
        signing_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.emulator = emulator
        self.events_url = events_url
        # The app checks timestamps against its own wall clock, not the emulator's FakeClock.
        self.clock = clock
        self._verifier = SignatureVerifier(signing_secret)
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SlackDriver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- what people do ----------------------------------------------------------------------
    async def command(
        self, user: str, command: str, text: str = "", channel: str = "C0OPS", **send: Any
    ) -> AppResponse:
        """Type `command text` in `channel`: the form Slack posts for a slash command."""
        who = self.emulator.user(user)
        where = self.emulator.channel(channel)
        response_url = self.emulator.new_response_url(who.id, where.id)
        trigger_id = self.emulator.new_trigger_id(who.id)
        form = {
            "token": payloads.VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": where.id,
            "channel_name": where.name,
            "user_id": who.id,
            "user_name": who.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        return await self._send(
            urlencode(form).encode(), FORM, response_url=response_url, trigger_id=trigger_id, **send
        )

    async def click(
        self,
        user: str,
        target: Message | View,
        action_id: str | None = None,
        value: str | None = None,
        text: str | None = None,
        *,
        confirm: bool = True,
        **send: Any,
    ) -> AppResponse | None:
        """Click a button in a message or view. A button with a confirm dialog is only sent
        when `confirm` is True (the person pressed the dialog's confirm); else None."""
        target = self._fresh(target)
        found = payloads.find_element(
            target.blocks, types=("button",), action_id=action_id, text=text, value=value
        )
        if found.element.get("confirm") and not confirm:
            return None
        action = payloads.button_action(found, self._action_ts())
        return await self._block_actions(user, target, action, **send)

    async def click_unfurl(
        self,
        user: str,
        message: Message,
        url: str,
        action_id: str | None = None,
        text: str | None = None,
        *,
        confirm: bool = True,
        **send: Any,
    ) -> AppResponse | None:
        """Click a button in the app's preview of `url` under `message`: Slack names the
        container a message attachment of an app unfurl. The response_url is bound to the
        clicker and the conversation; the person's message is not the app's to replace."""
        fresh = self.emulator.workspace.find(message.channel, message.ts) or message
        preview = fresh.unfurls.get(url)
        if preview is None:
            raise LookupError(f"no preview of {url} on that message")
        found = payloads.find_element(
            preview.get("blocks") or [], types=("button",), action_id=action_id, text=text
        )
        if found.element.get("confirm") and not confirm:
            return None
        action = payloads.button_action(found, self._action_ts())
        who = self.emulator.user(user)
        response_url = self.emulator.new_response_url(who.id, fresh.channel)
        trigger_id = self.emulator.new_trigger_id(who.id)
        body = payloads.block_actions(
            user=who,
            target=fresh,
            channel_name=self.emulator.channel(fresh.channel).name,
            action=action,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        body["container"] = {
            "type": "message_attachment",
            "message_ts": fresh.ts,
            "attachment_id": 1,
            "channel_id": fresh.channel,
            "is_ephemeral": False,
            "is_app_unfurl": True,
            "app_unfurl_url": url,
        }
        body["app_unfurl"] = {"id": 1, "app_unfurl_url": url, "blocks": preview.get("blocks")}
        return await self._send(
            _payload_form(body), FORM, response_url=response_url, trigger_id=trigger_id, **send
        )

    async def select(
        self,
        user: str,
        target: Message | View,
        option: str,
        action_id: str | None = None,
        **send: Any,
    ) -> AppResponse | None:
        """Pick `option` (its value or text) in a select menu. In a modal's input block
        (without dispatch_action) Slack only keeps the choice for the submission: None."""
        target = self._fresh(target)
        found = payloads.find_element(
            target.blocks, types=payloads.SELECT_TYPES, action_id=action_id
        )
        picked = payloads.find_option(found.element, option)
        if isinstance(target, View):
            entry = payloads.state_entry(found.element, picked["value"])
            self.emulator.set_view_state(target.id, {found.block_id: {found.action_id: entry}})
            target = self._fresh(target)
            if not found.dispatch:
                return None
        action = payloads.select_action(found, picked, self._action_ts())
        return await self._block_actions(user, target, action, **send)

    async def pick_date(
        self,
        user: str,
        target: Message,
        day: str,
        action_id: str | None = None,
        **send: Any,
    ) -> AppResponse:
        """Pick `day` (YYYY-MM-DD) in a message's date picker: Slack sends the action at once."""
        target = self._fresh(target)
        found = payloads.find_element(target.blocks, types=("datepicker",), action_id=action_id)
        action = payloads.date_action(found, day, self._action_ts())
        return await self._block_actions(user, target, action, **send)

    async def submit(
        self, user: str, view: View | str, values: dict[str, Any] | None = None, **send: Any
    ) -> AppResponse:
        """Press the modal's submit button with these inputs (keyed by action_id or
        block_id), then do what the app's ack says: close, show errors, update or push."""
        view = self._fresh(view)
        values = dict(values or {})
        state: dict[str, Any] = {k: dict(v) for k, v in view.state.items()}
        for item in payloads.elements(view.blocks):
            if not item.in_input:
                continue
            key = item.action_id if item.action_id in values else item.block_id
            if key in values:
                entry = payloads.state_entry(item.element, values.pop(key))
            elif item.action_id in state.get(item.block_id, {}):
                continue
            else:
                entry = payloads.state_entry(item.element, None)
            state.setdefault(item.block_id, {})[item.action_id] = entry
        if values:
            raise LookupError(f"no input with action_id or block_id {sorted(values)}")
        self.emulator.set_view_state(view.id, state)
        who = self.emulator.user(user)
        body = payloads.view_submission(
            user=who, view=self._fresh(view), trigger_id=self.emulator.new_trigger_id(who.id)
        )
        response = await self._send(_payload_form(body), FORM, **send)
        if response.status == 200:
            self._apply_submission_ack(who.id, view, response.json())
        return response

    async def home_opened(
        self, user: str, *, event_id: str | None = None, **send: Any
    ) -> AppResponse:
        """Open the bot's Home tab: the app_home_opened event (with the current view)."""
        who = self.emulator.user(user)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": who.id,
            "channel": "D" + who.id[1:],
            "tab": "home",
            "event_ts": self._action_ts(),
        }
        home = self.emulator.home(who.id)
        if home is not None:
            event["view"] = home.to_api()
        return await self.event(event, event_id=event_id, **send)

    async def share_links(
        self,
        user: str,
        channel: str,
        text: str,
        *,
        event_id: str | None = None,
        domains: list[str] | None = None,
        **send: Any,
    ) -> tuple[Message, AppResponse]:
        """A person posts `text`; Slack sends link_shared for its links (those whose host
        is in `domains`, the app's unfurl domains; all links when None)."""
        message = self.emulator.say(user, channel, text)
        unfurl_id = f"C{message.ts}.{secrets.token_hex(4)}"
        self.emulator.api.unfurl_ids[unfurl_id] = message
        self.emulator.api.unfurl_sources[unfurl_id] = "conversations_history"
        event = {
            "type": "link_shared",
            "channel": message.channel,
            "is_bot_user_member": True,
            "user": message.user,
            "message_ts": message.ts,
            "unfurl_id": unfurl_id,
            "source": "conversations_history",
            "event_ts": self._action_ts(),
            "links": _links(text, domains),
        }
        return message, await self.event(event, event_id=event_id, **send)

    async def compose_links(
        self,
        user: str,
        text: str,
        *,
        event_id: str | None = None,
        domains: list[str] | None = None,
        **send: Any,
    ) -> tuple[Message, AppResponse]:
        """A person types `text` in a message composer, not posted yet: Slack sends
        link_shared with channel "COMPOSER", source "composer" and one id as both message_ts
        and unfurl_id (api.slack.com/changelog/2021-08-changes-to-unfurls). The draft's
        previews land in the returned draft's `unfurls`."""
        draft = self.emulator.compose(user, text)
        event = {
            "type": "link_shared",
            "channel": "COMPOSER",
            "is_bot_user_member": True,
            "user": draft.user,
            "message_ts": draft.ts,
            "unfurl_id": draft.ts,
            "source": "composer",
            "event_ts": self._action_ts(),
            "links": _links(text, domains),
        }
        return draft, await self.event(event, event_id=event_id, **send)

    async def event(
        self, payload: dict[str, Any], *, event_id: str | None = None, **send: Any
    ) -> AppResponse:
        """Deliver an Events API body; a bare event is wrapped in an event_callback."""
        if payload.get("type") not in ("event_callback", "url_verification"):
            payload = payloads.event_callback(payload, event_id=event_id, now=self.clock())
        return await self._send(json.dumps(payload).encode(), JSON, **send)

    async def redeliver(
        self,
        response: AppResponse,
        retry_num: int = 1,
        retry_reason: str = "http_timeout",
        **send: Any,
    ) -> AppResponse:
        """Send the same body again as Slack's retry would, freshly signed."""
        return await self._send(
            response.sent,
            response.content_type,
            retry_num=retry_num,
            retry_reason=retry_reason,
            **send,
        )

    # The deadline is the caller's to set, and the TimeoutError names the events seen, which a
    # bare asyncio.timeout around the call could not.
    async def wait_for(self, predicate: Callable[..., Any], timeout: float = 30) -> Any:  # noqa: ASYNC109 (see above)
        """Poll until `predicate(emulator)` (or `predicate()`) is truthy; return its value.
        The app's listeners keep working after the HTTP ack, so tests wait for the result.
        The deadline is generous: on two cores shared by several test runs, a reply can take
        seconds; a wait that passes is over as soon as its condition holds."""
        takes_emulator = bool(inspect.signature(predicate).parameters)
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self.emulator) if takes_emulator else predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                recent = [(e.kind, e.user, e.text[:60]) for e in self.emulator.events_since(0)]
                raise TimeoutError(f"condition not met in {timeout}s; events: {recent[-10:]}")
            await asyncio.sleep(0.01)

    # -- plumbing ----------------------------------------------------------------------------
    async def _block_actions(
        self, user: str, target: Message | View, action: dict[str, Any], **send: Any
    ) -> AppResponse:
        who = self.emulator.user(user)
        response_url = None
        channel_name = ""
        if isinstance(target, Message):
            response_url = self.emulator.new_response_url(who.id, target.channel, target)
            channel_name = self.emulator.channel(target.channel).name
        trigger_id = self.emulator.new_trigger_id(who.id)
        body = payloads.block_actions(
            user=who,
            target=target,
            channel_name=channel_name,
            action=action,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        return await self._send(
            _payload_form(body), FORM, response_url=response_url, trigger_id=trigger_id, **send
        )

    async def _send(
        self,
        body: bytes,
        content_type: str,
        *,
        bad_signature: bool = False,
        timestamp_offset: float = 0,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        response_url: str | None = None,
        trigger_id: str | None = None,
    ) -> AppResponse:
        timestamp = str(int(self.clock() + timestamp_offset))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body.decode())
        if bad_signature:
            signature = "v0=" + ("0" * 64 if signature[3] != "0" else "1" * 64)
        headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature,
        }
        if retry_num is not None:
            headers["x-slack-retry-num"] = str(retry_num)
            headers["x-slack-retry-reason"] = retry_reason
        answer = await self._http.post(self.events_url, content=body, headers=headers)
        return AppResponse(
            status=answer.status_code,
            body=answer.text,
            headers=dict(answer.headers),
            sent=body,
            content_type=content_type,
            response_url=response_url,
            trigger_id=trigger_id,
        )

    def _fresh(self, target: Message | View | str) -> Any:
        """The target as it is now in the emulator (a click sees the current message)."""
        if isinstance(target, str):
            view = self.emulator.view(target)
            if view is None:
                raise LookupError(f"no view {target}")
            return view
        if isinstance(target, View):
            return self.emulator.view(target.id) or target
        return self.emulator.workspace.find(target.channel, target.ts) or target

    def _apply_submission_ack(self, user: str, view: View, ack: Any) -> None:
        """What Slack's client does with the app's answer to a view_submission."""
        action = ack.get("response_action") if isinstance(ack, dict) else None
        if action == "errors":
            self.emulator.show_view_errors(view.id, ack.get("errors") or {})
        elif action == "update":
            self.emulator.replace_view(view.id, ack["view"])
        elif action == "push":
            self.emulator.push_view(user, ack["view"])
        elif action == "clear":
            self.emulator.close_views(user)
        else:
            self.emulator.close_views(user, only_top=True)

    def _action_ts(self) -> str:
        return f"{self.clock():.6f}"


class AppServer(Emulator):
    """Serve any ASGI app (e.g. a Bolt app's Starlette routes) on 127.0.0.1 on its own thread,
    reusing the emulators' uvicorn machinery, so the driver reaches it over real HTTP."""

    name = "app"

    def __init__(self, app: Any) -> None:
        super().__init__()
        self._app = app

    def build_app(self) -> Any:
        return self._app


def _links(text: str, domains: list[str] | None) -> list[dict[str, str]]:
    """The links of `text` Slack names in link_shared: those on the app's unfurl domains
    (every link when `domains` is None)."""
    urls = re.findall(r"<?(https?://[^\s>|]+)", text)
    hosts = [(u, (urlsplit(u).hostname or "")) for u in urls]
    return [{"domain": h, "url": u} for u, h in hosts if domains is None or h in domains]


def _payload_form(body: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(body)}).encode()
