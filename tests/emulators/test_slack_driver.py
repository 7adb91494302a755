"""SlackDriver against a small real slack_bolt AsyncApp served by uvicorn on 127.0.0.1.

What the app does with what Slack sends (acks, respond(), chat.postMessage, views.open) lands in
the Slack emulator, where the tests look for it as a person would.
"""

from __future__ import annotations

import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.routing import Route

from emulators.slack import SlackEmulator
from emulators.slack_driver import AppServer, SlackDriver

SECRET = "signing-secret-for-tests"

CARD = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Commission *7* is pending"}},
    {
        "type": "actions",
        "block_id": "commission-7",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "7",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Accept"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Sure?"},
                    "text": {"type": "mrkdwn", "text": "Accept commission 7?"},
                    "confirm": {"type": "plain_text", "text": "Accept"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            },
            {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Instance"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Production"}, "value": "prod"},
                    {"text": {"type": "plain_text", "text": "Staging"}, "value": "staging"},
                ],
            },
        ],
    },
]

LINK_MODAL = {
    "type": "modal",
    "callback_id": "link",
    "title": {"type": "plain_text", "text": "Link DSS"},
    "submit": {"type": "plain_text", "text": "Link"},
    "blocks": [
        {
            "type": "input",
            "block_id": "instance_block",
            "label": {"type": "plain_text", "text": "Instance"},
            "element": {
                "type": "static_select",
                "action_id": "instance",
                "options": [
                    {"text": {"type": "plain_text", "text": "Production"}, "value": "prod"},
                    {"text": {"type": "plain_text", "text": "Staging"}, "value": "staging"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "key_block",
            "label": {"type": "plain_text", "text": "API key"},
            "element": {"type": "plain_text_input", "action_id": "api_key"},
        },
    ],
}

HOME = {
    "type": "home",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Linked accounts"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "DSS prod: *alice*"},
            "accessory": {
                "type": "button",
                "action_id": "relink",
                "value": "dss/prod",
                "text": {"type": "plain_text", "text": "Re-link"},
            },
        },
    ],
}


def build_app(slack: SlackEmulator, seen: list) -> AsyncApp:
    """A tiny Bolt app; `seen` records what its listeners were given."""
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-driver-tests", base_url=f"{slack.url}/api/"),
        signing_secret=SECRET,
    )

    @app.middleware
    async def note_retries(req, next):
        seen.append(("delivery", req.headers.get("x-slack-retry-num", [None])[0]))
        await next()

    @app.command("/ops")
    async def ops(ack, command, respond, say, client, body):
        await ack()
        seen.append(("command", command["user_id"], command["text"]))
        if command["text"] == "modal":
            await client.views_open(trigger_id=body["trigger_id"], view=LINK_MODAL)
        elif command["text"] == "card":
            await say(blocks=CARD, text="Commission 7 is pending")
        elif command["text"] == "private card":
            await respond(blocks=CARD, text="Commission 7 is pending")
        else:
            await respond(f"hello {command['text']}")

    @app.action("approve")
    async def approve(ack, body, respond):
        await ack()
        seen.append(("approve", body["user"]["id"], body["actions"][0]["value"]))
        await respond(replace_original=True, text=f"Accepted by <@{body['user']['id']}>")

    @app.action("relink")
    async def relink(ack, body, action):
        await ack()
        seen.append(("relink", body["container"]["type"], body["view"]["type"], action["value"]))

    @app.action("pick")
    async def pick(ack, action):
        await ack()
        seen.append(("pick", action["selected_option"]["value"]))

    @app.view("link")
    async def link(ack, view, body):
        values = view["state"]["values"]
        if not values["key_block"]["api_key"]["value"].startswith("dss-"):
            await ack(response_action="errors", errors={"key_block": "That is not a DSS key"})
            return
        await ack()
        instance = values["instance_block"]["instance"]["selected_option"]["value"]
        seen.append(("linked", body["user"]["id"], instance))

    @app.event("app_home_opened")
    async def home(event, client):
        seen.append(("home", event["user"]))
        await client.views_publish(user_id=event["user"], view=HOME)

    return app


@pytest.fixture
def slack():
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def seen():
    return []


@pytest.fixture
def app_url(slack, seen):
    handler = AsyncSlackRequestHandler(build_app(slack, seen))

    async def events(request):
        return await handler.handle(request)

    with AppServer(Starlette(routes=[Route("/slack/events", events, methods=["POST"])])) as app:
        yield app.url


@pytest.fixture
async def driver(slack, app_url):
    async with SlackDriver(slack, f"{app_url}/slack/events", SECRET) as driver:
        yield driver


def commands(seen: list) -> list:
    return [s for s in seen if s[0] == "command"]


async def test_signed_slash_command_is_handled_and_its_reply_reaches_the_user(slack, driver):
    answer = await driver.command("alice", "/ops", "world")
    assert answer.status == 200
    [reply] = await driver.wait_for(lambda s: s.ephemerals("alice"))
    assert reply.text == "hello world"
    assert [r.url for r in slack.responses()] == [answer.response_url]
    assert slack.ephemerals("bob") == []


async def test_bad_signature_and_stale_timestamp_are_refused_before_any_listener(driver, seen):
    assert (await driver.command("alice", "/ops", "forged", bad_signature=True)).status == 401
    assert (await driver.command("alice", "/ops", "stale", timestamp_offset=-301)).status == 401
    # A good command afterwards is handled; the refused ones never reached a listener.
    assert (await driver.command("alice", "/ops", "good")).status == 200
    await driver.wait_for(lambda s: s.ephemerals("alice"))
    assert commands(seen) == [("command", "U0ALICE", "good")]


async def test_button_click_behind_a_confirm_dialog_replaces_the_card(slack, driver, seen):
    await driver.command("bob", "/ops", "card")
    [card] = await driver.wait_for(lambda s: s.messages("C0OPS"))
    assert await driver.click("alice", card, text="Accept", confirm=False) is None
    answer = await driver.click("alice", card, action_id="approve")
    assert answer.status == 200
    assert answer.payload["container"] == {
        "type": "message",
        "message_ts": card.ts,
        "channel_id": "C0OPS",
        "is_ephemeral": False,
    }
    await driver.wait_for(lambda s: s.messages("C0OPS")[0].text.startswith("Accepted"))
    assert slack.messages("C0OPS")[0].text == "Accepted by <@U0ALICE>"
    assert ("approve", "U0ALICE", "7") in seen


async def test_click_on_an_ephemeral_card_replaces_it_in_place(slack, driver):
    await driver.command("alice", "/ops", "private card")
    [card] = await driver.wait_for(lambda s: s.ephemerals("alice"))
    answer = await driver.click("alice", card, text="Accept")
    assert answer.payload["container"]["is_ephemeral"] is True
    assert "message" not in answer.payload  # Slack leaves it out for ephemeral messages
    await driver.wait_for(lambda s: s.ephemerals("alice")[0].text.startswith("Accepted"))
    assert [(m.ts, m.blocks) for m in slack.ephemerals("alice")] == [(card.ts, [])]
    assert slack.messages() == []


async def test_select_in_a_message_reaches_its_listener(driver, seen):
    await driver.command("bob", "/ops", "card")
    [card] = await driver.wait_for(lambda s: s.messages("C0OPS"))
    assert (await driver.select("bob", card, "Staging", action_id="pick")).status == 200
    await driver.wait_for(lambda: ("pick", "staging") in seen)


async def test_view_submission_shows_errors_then_closes_the_modal(slack, driver, seen):
    await driver.command("alice", "/ops", "modal")
    [modal] = await driver.wait_for(lambda s: s.open_views("alice"))
    assert await driver.select("alice", modal, "prod", action_id="instance") is None

    refused = await driver.submit("alice", modal, {"api_key": "not-a-key"})
    assert refused.json()["response_action"] == "errors"
    assert slack.view(modal.id).errors == {"key_block": "That is not a DSS key"}
    assert slack.open_views("alice") != []

    accepted = await driver.submit("alice", modal, {"key_block": "dss-123"})
    assert (accepted.status, slack.open_views("alice")) == (200, [])
    await driver.wait_for(lambda: ("linked", "U0ALICE", "prod") in seen)


async def test_submit_with_an_unknown_input_is_a_test_mistake(slack, driver):
    await driver.command("alice", "/ops", "modal")
    [modal] = await driver.wait_for(lambda s: s.open_views("alice"))
    with pytest.raises(LookupError):
        await driver.submit("alice", modal, {"no_such_input": "x"})


async def test_home_opened_publishes_and_a_retry_carries_slacks_headers(slack, driver, seen):
    first = await driver.home_opened("carol")
    assert first.status == 200
    home = await driver.wait_for(lambda s: s.home("carol"))
    assert home.blocks == HOME["blocks"]
    again = await driver.redeliver(first, retry_num=1, retry_reason="http_timeout")
    assert again.status == 200
    assert again.payload["event_id"] == first.payload["event_id"]
    await driver.wait_for(lambda: ("delivery", "1") in seen)
    assert ("delivery", None) in seen


async def test_button_on_the_home_tab_sends_a_view_container(driver, seen):
    await driver.home_opened("alice")
    home = await driver.wait_for(lambda s: s.home("alice"))
    assert (await driver.click("alice", home, text="Re-link")).status == 200
    await driver.wait_for(lambda: ("relink", "view", "home", "dss/prod") in seen)
