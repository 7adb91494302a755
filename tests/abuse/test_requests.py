"""Slack request abuse: missing, forged and stale signatures, tampered and replayed bodies,
oversized bodies, malformed `payload`, unknown action ids and wrong content types.

Every case is sent as raw HTTP to /slack/events. Each must be answered without a 500, and,
where the request must not be trusted, without any handler running: the Slack emulator gets
no call, ephemeral or response_url post, and no platform emulator gets a request. "Nothing
happened" is checked after a sentinel command from carol has gone all the way round, so any
work the abusive request started in the background has had its chance to show.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.demo import DEMO_LINKS
from emulators import slack_payloads as payloads
from emulators.slack_driver import FORM, JSON
from emulators.slack_models import APP_ID, TEAM_DOMAIN, TEAM_ID
from tests.abuse.conftest import SIGNING_SECRET, link_all, platform_requests
from tests.e2e.helpers import link, reply_to, seen_by

EXECUTE = "/workflow-service/execute-task-action"


def sign(body: bytes, timestamp: str | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    digest = hmac.new(
        secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256
    ).hexdigest()
    return {"x-slack-request-timestamp": timestamp, "x-slack-signature": f"v0={digest}"}


async def post(
    bot: Any,
    body: bytes,
    content_type: str | None = FORM,
    *,
    headers: dict[str, str] | None = None,
    signed: bool = True,
    **sign_kwargs: Any,
) -> httpx.Response:
    sent = {"content-type": content_type} if content_type else {}
    if signed:
        sent.update(sign(body, **sign_kwargs))
    sent.update(headers or {})
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(bot.events_url, content=body, headers=sent)


def command_form(
    slack: Any, user: str = "alice", command: str = "/ops", text: str = "links", **extra: str
) -> bytes:
    who = slack.user(user)
    form = {
        "token": payloads.VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": "C0OPS",
        "channel_name": "ops",
        "user_id": who.id,
        "user_name": who.name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": slack.new_response_url(who.id, "C0OPS"),
        "trigger_id": slack.new_trigger_id(who.id),
    }
    form.update(extra)
    return urlencode(form).encode()


def payload_form(payload: Any) -> bytes:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return urlencode({"payload": raw}).encode()


def block_actions(
    slack: Any, action_id: str, value: str, user: str = "alice", response_url: bool = True
) -> dict[str, Any]:
    who = slack.user(user)
    return {
        "type": "block_actions",
        "team": payloads.team(),
        "user": payloads.user_object(who),
        "api_app_id": APP_ID,
        "token": payloads.VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": "1.000001",
            "channel_id": "C0OPS",
            "is_ephemeral": True,
        },
        "trigger_id": slack.new_trigger_id(who.id),
        "channel": {"id": "C0OPS", "name": "ops"},
        "response_url": slack.new_response_url(who.id, "C0OPS") if response_url else None,
        "state": {"values": {}},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "text": {"type": "plain_text", "text": "x"},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


class Quiet:
    """Snapshot of everything a handler could touch, and a check that nothing moved."""

    def __init__(self, driver: Any, slack: Any, world: Any) -> None:
        self.driver, self.slack, self.world = driver, slack, world
        self.seq = slack.last_seq
        self.calls = len(slack.calls())
        self.responses = len(slack.responses())
        self.platform = platform_requests(world)

    async def assert_nothing_happened(self) -> None:
        # Sentinel: carol's /ops help goes all the way round; carol is linked to nothing, so it
        # touches no platform and only leaves her own ephemeral.
        await reply_to(
            self.driver, self.slack, "carol", "/ops", "help", expect="Switchboard commands"
        )
        carol = self.slack.user("carol").id
        events = [e for e in self.slack.events_since(self.seq) if e.user != carol]
        assert events == [], events
        calls = [c for c in self.slack.calls()[self.calls :] if c.method != "auth.test"]
        assert calls == [], calls
        posts = [p for p in self.slack.responses()[self.responses :] if p.user != carol]
        assert posts == [], posts
        assert platform_requests(self.world) == self.platform


@pytest.fixture
def quiet(driver, slack, world, bot) -> Quiet:
    return Quiet(driver, slack, world)


# -- signatures ---------------------------------------------------------------------------------


async def test_missing_signature_headers_are_refused(bot, slack, quiet):
    body = command_form(slack)
    answers = [
        await post(bot, body, signed=False),
        await post(
            bot, body, headers={"x-slack-request-timestamp": str(int(time.time()))}, signed=False
        ),
        await post(
            bot, body, headers={"x-slack-signature": sign(body)["x-slack-signature"]}, signed=False
        ),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    await quiet.assert_nothing_happened()


async def test_forged_signatures_on_every_kind_of_request_are_refused(bot, slack, quiet):
    bodies = [
        (command_form(slack), FORM),
        (
            payload_form(
                block_actions(slack, "dss_future_abort", '{"instance":"design","job_id":"x"}')
            ),
            FORM,
        ),
        (
            json.dumps(
                payloads.event_callback(
                    {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"},
                    event_id="EvFORGED",
                    now=time.time(),
                )
            ).encode(),
            JSON,
        ),
    ]
    now = str(int(time.time()))
    for body, kind in bodies:
        good = sign(body, now)["x-slack-signature"]
        forged = [
            sign(body, now, secret="not-the-signing-secret")["x-slack-signature"],
            "v0=" + "0" * 64,
            "v1=" + good[3:],  # another version
            good.upper(),  # not the same hex
            good[:-1],  # truncated
            "",
        ]
        for signature in forged:
            answer = await post(
                bot,
                body,
                kind,
                signed=False,
                headers={"x-slack-request-timestamp": now, "x-slack-signature": signature},
            )
            assert answer.status_code == 401, (signature, answer.status_code, answer.text)
    await quiet.assert_nothing_happened()


async def test_a_valid_signature_for_another_body_is_refused(bot, slack, quiet):
    original = command_form(slack, text="links")
    tampered = original.replace(b"text=links", b"text=unlink+dss")
    headers = sign(original)
    answer = await post(bot, tampered, signed=False, headers=headers)
    assert answer.status_code == 401
    await quiet.assert_nothing_happened()


async def test_stale_future_and_garbage_timestamps_are_refused(bot, slack, quiet):
    body = command_form(slack)
    now = int(time.time())
    for timestamp in (str(now - 302), str(now + 310), str(now - 86_400 * 365), "0"):
        answer = await post(bot, body, timestamp=timestamp)
        assert answer.status_code == 401, (timestamp, answer.status_code)
    await quiet.assert_nothing_happened()


@pytest.mark.parametrize("timestamp", ["soon", "1e9", "12.5", "0x10"])
async def test_a_timestamp_that_is_not_a_number_is_a_401_not_a_500(bot, slack, quiet, timestamp):
    body = command_form(slack)
    headers = sign(body)
    headers["x-slack-request-timestamp"] = timestamp
    answer = await post(bot, body, signed=False, headers=headers)
    assert answer.status_code == 401, answer.status_code
    await quiet.assert_nothing_happened()


# -- sizes, content types, methods -------------------------------------------------------------


async def test_an_oversized_body_is_refused_before_any_handler(bot, slack, quiet):
    body = command_form(slack, text="x" * 1_200_000)
    answer = await post(bot, body)
    assert answer.status_code == 413

    async def chunks():  # no content-length: the size is only known by reading
        for i in range(0, len(body), 65_536):
            yield body[i : i + 65_536]

    async with httpx.AsyncClient(timeout=10) as http:
        chunked = await http.post(
            bot.events_url, content=chunks(), headers={"content-type": FORM, **sign(body)}
        )
    assert chunked.status_code == 413
    await quiet.assert_nothing_happened()


async def test_a_long_but_legal_command_text_does_not_block_the_bot(bot, slack, driver):
    # Refused before it is parsed (shlex slows down sharply with length, on the event loop),
    # with a reply saying why; the bot goes on serving.
    text = "whoami " + "a" * 450_000
    await reply_to(driver, slack, "carol", "/dss", text, expect="too long (450,007 characters")
    await reply_to(driver, slack, "carol", "/ops", "help", expect="/dss")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=zzz",
        None,
        "application/json",
    ],
)
async def test_a_signed_form_with_the_wrong_content_type_is_not_a_500(
    bot, slack, logs, content_type
):
    # The body is authentic (the signature covers it), so running the command is acceptable;
    # a 500 or a traceback is not.
    answer = await post(bot, command_form(slack, user="carol", text="help"), content_type)
    assert answer.status_code < 500, answer.text
    assert logs.tracebacks() == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b"null",
        b'"a string"',
        b"\xff\xfe\x00",
        b"",
        b"{}",
        b'{"type":"event_callback"}',
        b'{"type":"event_callback","event":"x"}',
        b'{"type":"event_callback","event":{}}',
    ],
)
async def test_malformed_json_bodies_are_answered_without_a_500(bot, quiet, body):
    answer = await post(bot, body, JSON)
    assert answer.status_code < 500, (body, answer.status_code, answer.text)
    await quiet.assert_nothing_happened()


async def test_get_and_other_methods_are_not_500(bot, quiet):
    async with httpx.AsyncClient(timeout=10) as http:
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            answer = await http.request(method, bot.events_url)
            assert answer.status_code == 405, (method, answer.status_code)
    await quiet.assert_nothing_happened()


async def test_url_verification_only_with_a_valid_signature(bot):
    body = json.dumps(
        {"type": "url_verification", "challenge": "c-123", "token": payloads.VERIFICATION_TOKEN}
    ).encode()
    ok = await post(bot, body, JSON)
    assert ok.status_code == 200 and "c-123" in ok.text
    forged = await post(bot, body, JSON, secret="wrong")
    assert forged.status_code == 401 and "c-123" not in forged.text


# -- malformed interaction payloads ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "not json at all",
        "",
        "[]",
        "null",
        "42",
        '"str"',
        "{}",
        '{"type":"block_actions"}',
        '{"type":"block_actions","user":{"id":"U0ALICE"}}',
        '{"type":"block_actions","user":{"id":"U0ALICE"},"actions":[]}',
        '{"type":"block_actions","user":{"id":"U0ALICE"},"actions":[{}]}',
        '{"type":"block_actions","user":{"id":"U0ALICE"},"actions":"x"}',
        '{"type":"block_actions","actions":[{"action_id":"dss_future_abort","value":"{}"}]}',
        '{"type":"view_submission"}',
        '{"type":"view_submission","user":{"id":"U0ALICE"},"view":{}}',
        '{"type":"view_submission","user":{"id":"U0ALICE"},"view":{"callback_id":"nope"}}',
        '{"type":"shortcut","callback_id":"nope","user":{"id":"U0ALICE"}}',
        '{"type":"what_is_this"}',
    ],
)
async def test_malformed_payloads_are_answered_without_a_500(bot, quiet, raw):
    answer = await post(bot, payload_form(raw))
    assert answer.status_code < 500, (raw, answer.status_code, answer.text)
    await quiet.assert_nothing_happened()


@pytest.mark.parametrize(
    "body",
    [
        b"a=1&b=2",
        b"%%%",
        b"command=",
        b"payload",
        b"payload=&payload=",
    ],
)
async def test_a_form_without_a_usable_payload_or_command_is_not_500(bot, quiet, body):
    answer = await post(bot, body)
    assert answer.status_code < 500, (body, answer.status_code)
    await quiet.assert_nothing_happened()


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"{not json", JSON),
        (b"payload=not+json", FORM),
        (b"payload=%5B%5D", FORM),
    ],
)
async def test_an_unsigned_malformed_body_is_a_401_not_a_500(bot, logs, body, content_type):
    answer = await post(bot, body, content_type, signed=False)
    assert answer.status_code == 401, answer.status_code
    assert logs.tracebacks() == []


async def test_unknown_action_ids_run_no_handler(bot, slack, quiet):
    # Acknowledged (a 404 makes Slack show the person an error), and nothing runs.
    for action_id in ("no_such_action", "dss_future_abort_x", "", "../../etc", "A" * 300):
        answer = await post(bot, payload_form(block_actions(slack, action_id, "{}")))
        assert answer.status_code == 200, (action_id, answer.status_code)
    await quiet.assert_nothing_happened()


async def test_a_command_nobody_registered_runs_no_handler(bot, slack, quiet):
    answer = await post(bot, command_form(slack, command="/rm-rf", text="everything"))
    assert answer.status_code == 200
    await quiet.assert_nothing_happened()


async def test_a_known_button_with_a_garbage_value_says_it_is_out_of_date(
    driver, slack, world, bot
):
    await link_all(driver, slack, users=("alice",))
    for key in world.emulators:
        world.emulators[key].requests.clear()
    for value in ("", "garbage", "[]", '{"instance":1}', '{"job_id":"x"}', "{" * 1000):
        payload = block_actions(slack, "dss_future_abort", value)
        answer = await post(bot, payload_form(payload))
        assert answer.status_code == 200
    await driver.wait_for(lambda: seen_by(slack, "alice").count("That button is out of date") >= 6)
    assert "Something went wrong" not in seen_by(slack, "alice")
    assert not world.emulators["dss"].requests_to("DELETE", "/futures/")


async def test_a_signed_command_without_user_id_is_not_an_unhandled_error(bot, slack, logs):
    body = command_form(slack, text="links")
    fields = dict(httpx.QueryParams(body.decode()))
    fields.pop("user_id")
    answer = await post(bot, urlencode(fields).encode())
    assert answer.status_code < 500
    for _ in range(50):  # the listener runs after the ack
        await asyncio.sleep(0.02)
    assert logs.tracebacks() == []


# -- replays ------------------------------------------------------------------------------------


async def test_a_replayed_approval_click_reaches_the_platform_once(driver, slack, world, bot):
    limits = world.emulators["limits"]
    alice = next(v for u, p, v in DEMO_LINKS if u == "alice" and p == "limits")
    await link(driver, slack, "alice", "limits", alice)
    reply = await reply_to(
        driver, slack, "alice", "/limits", "pending", expect="waiting for approval"
    )
    button = next(
        e
        for blk in reply.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == "limits_approve"
    )
    limits.requests.clear()
    first = await driver.click("alice", reply, action_id="limits_approve", value=button["value"])
    assert first is not None and first.status == 200
    await driver.wait_for(lambda: limits.requests_to("POST", EXECUTE))
    await driver.wait_for(lambda: "Approved* by <@U0ALICE>" in seen_by(slack, "alice"))

    # An attacker who captured the request replays it byte for byte within Slack's 5-minute
    # window (the signature still holds), then freshly signed (as if the secret leaked), and
    # three at once.
    headers = {"content-type": first.content_type}
    timestamp = str(int(time.time()))
    verbatim = await post(bot, first.sent, first.content_type, timestamp=timestamp, headers=headers)
    again = await post(bot, first.sent, first.content_type, headers=headers)
    burst = await asyncio.gather(*(post(bot, first.sent, first.content_type) for _ in range(3)))
    assert all(a.status_code == 200 for a in [verbatim, again, *burst])
    # (The emulator's response_url takes 5 posts, so not every replay can be answered.)
    await driver.wait_for(lambda: seen_by(slack, "alice").count("Already approved by") >= 4)
    await reply_to(driver, slack, "carol", "/ops", "help", expect="Switchboard commands")
    assert len(limits.requests_to("POST", EXECUTE)) == 1


async def test_a_replayed_event_id_is_dropped(driver, slack, bot):
    await driver.home_opened("alice", event_id="EvREPLAY1")
    await driver.wait_for(lambda: slack.calls("views.publish"))
    again = await driver.home_opened("alice", event_id="EvREPLAY1")
    retried = await driver.home_opened("alice", event_id="EvREPLAY1", retry_num=1)
    assert again.status == 200 and retried.status == 200
    # A different event id is new work; wait for it, then count.
    await driver.home_opened("alice", event_id="EvREPLAY2")
    await driver.wait_for(lambda: len(slack.calls("views.publish")) >= 2)
    await reply_to(driver, slack, "carol", "/ops", "help", expect="Switchboard commands")
    assert len(slack.calls("views.publish")) == 2
