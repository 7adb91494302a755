"""Modals, the Home tab, trigger_ids and response_urls in the Slack emulator."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from emulators.slack import SlackEmulator


def modal(title: str = "Link DSS", *, blocks: int = 1, **extra) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"line {i}"}}
            for i in range(blocks)
        ],
        **extra,
    }


@pytest.fixture
def slack(clock):
    with SlackEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
def client(slack):
    return AsyncWebClient(token="xoxb-views", base_url=f"{slack.url}/api/")


async def error_of(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value.response["error"]


async def test_views_open_shows_the_modal_to_the_triggering_user(slack, client):
    opened = await client.views_open(
        trigger_id=slack.new_trigger_id("bob"), view=modal(callback_id="link")
    )
    [view] = slack.open_views("bob")
    assert (view.id, view.callback_id, view.title["text"]) == (
        opened["view"]["id"],
        "link",
        "Link DSS",
    )
    assert slack.views_opened("alice") == []


async def test_a_trigger_id_works_once_and_only_within_three_seconds(slack, client, clock):
    trigger = slack.new_trigger_id("alice")
    await client.views_open(trigger_id=trigger, view=modal())
    assert (
        await error_of(client.views_open(trigger_id=trigger, view=modal())) == "trigger_exchanged"
    )
    late = slack.new_trigger_id("alice")
    clock.advance(3.01)
    assert await error_of(client.views_open(trigger_id=late, view=modal())) == "expired_trigger_id"
    assert (
        await error_of(client.views_open(trigger_id="12.34.nope", view=modal()))
        == "invalid_trigger_id"
    )


async def test_loading_modal_then_update_by_id_and_by_external_id(slack, client):
    opened = await client.views_open(
        trigger_id=slack.new_trigger_id("alice"), view=modal("Loading", external_id="futures-alice")
    )
    view_id, first_hash = opened["view"]["id"], opened["view"]["hash"]
    await client.views_update(view_id=view_id, hash=first_hash, view=modal("Futures", blocks=3))
    assert slack.view(view_id).title["text"] == "Futures"
    assert len(slack.view(view_id).blocks) == 3
    # The hash moved on, so an update based on the old one is refused.
    assert (
        await error_of(client.views_update(view_id=view_id, hash=first_hash, view=modal("Stale")))
        == "hash_conflict"
    )
    await client.views_update(external_id="futures-alice", view=modal("Again"))
    assert [v.title["text"] for v in slack.open_views("alice")] == ["Again"]
    assert await error_of(client.views_update(view_id="V0NOPE", view=modal())) == "not_found"


async def test_views_push_stacks_on_the_open_modal(slack, client):
    root = await client.views_open(trigger_id=slack.new_trigger_id("alice"), view=modal("One"))
    pushed = await client.views_push(trigger_id=slack.new_trigger_id("alice"), view=modal("Two"))
    assert pushed["view"]["root_view_id"] == root["view"]["id"]
    assert [v.title["text"] for v in slack.open_views("alice")] == ["One", "Two"]
    await client.views_push(trigger_id=slack.new_trigger_id("alice"), view=modal("Three"))
    assert (
        await error_of(
            client.views_push(trigger_id=slack.new_trigger_id("alice"), view=modal("Four"))
        )
        == "push_limit_reached"
    )


async def test_view_validation(slack, client):
    assert (
        await error_of(
            client.views_open(trigger_id=slack.new_trigger_id("alice"), view=modal(blocks=101))
        )
        == "invalid_blocks"
    )
    assert (
        await error_of(
            client.views_open(
                trigger_id=slack.new_trigger_id("alice"), view=modal("A title longer than 24 chars")
            )
        )
        == "invalid_arguments"
    )
    await client.views_open(
        trigger_id=slack.new_trigger_id("alice"), view=modal(blocks=100, external_id="x")
    )
    assert (
        await error_of(
            client.views_open(trigger_id=slack.new_trigger_id("alice"), view=modal(external_id="x"))
        )
        == "duplicate_external_id"
    )


async def test_home_tab_is_published_per_user_and_keeps_its_id(slack, client):
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    first = await client.views_publish(user_id="U0BOB", view=home)
    second = await client.views_publish(
        user_id="U0BOB",
        view={
            **home,
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Your links"}}],
        },
    )
    assert first["view"]["id"] == second["view"]["id"]
    assert slack.home("bob").blocks[0]["type"] == "header"
    assert slack.home("alice") is None
    assert [e.kind for e in slack.events_since(0)] == ["home.published", "home.published"]
    assert await error_of(client.views_publish(user_id="U0NOBODY", view=home)) == "user_not_found"


async def test_response_url_defaults_to_an_ephemeral_reply(slack):
    url = slack.new_response_url("alice", "C0OPS")
    answer = await AsyncWebhookClient(url).send(text="working on it")
    assert answer.status_code == 200
    assert [m.text for m in slack.ephemerals("alice")] == ["working on it"]
    assert slack.messages("C0OPS") == []
    assert slack.responses()[0].body == {"text": "working on it"}


async def test_response_url_in_channel_reply_is_a_channel_message(slack):
    url = slack.new_response_url("alice", "C0OPS")
    await AsyncWebhookClient(url).send(text="shared", response_type="in_channel")
    assert [m.text for m in slack.messages("C0OPS")] == ["shared"]
    assert slack.ephemerals("alice") == []


async def test_response_url_replaces_then_deletes_the_original(slack, client):
    posted = await client.chat_postMessage(channel="C0OPS", text="Approve commission 7?")
    url = slack.new_response_url("bob", "C0OPS", posted["ts"])
    webhook = AsyncWebhookClient(url)
    await webhook.send(text="Accepted by bob", replace_original=True)
    assert [m.text for m in slack.messages("C0OPS")] == ["Accepted by bob"]
    await webhook.send_dict({"delete_original": True})
    assert slack.messages("C0OPS") == []


async def test_replacing_an_ephemeral_changes_it_in_place(slack):
    first = slack.new_response_url("alice", "C0OPS")
    await AsyncWebhookClient(first).send(text="working…")
    [working] = slack.ephemerals("alice")
    second = slack.new_response_url("alice", "C0OPS", working)
    await AsyncWebhookClient(second).send(text="done", replace_original=True)
    assert [(m.ts, m.text) for m in slack.ephemerals("alice")] == [(working.ts, "done")]


def test_response_url_works_five_times_then_is_used(slack):
    url = slack.new_response_url("alice", "C0OPS")
    for i in range(5):
        assert httpx.post(url, json={"text": str(i)}).status_code == 200
    sixth = httpx.post(url, json={"text": "6"})
    assert (sixth.status_code, sixth.text) == (404, "used_url")
    assert len(slack.ephemerals("alice")) == 5


def test_response_url_expires_after_thirty_minutes(slack, clock):
    url = slack.new_response_url("alice", "C0OPS")
    clock.advance(30 * 60 + 1)
    expired = httpx.post(url, json={"text": "late"})
    assert (expired.status_code, expired.text) == (404, "expired_url")
    assert slack.ephemerals("alice") == []


def test_response_url_refuses_invalid_blocks_without_spending_a_use(slack):
    url = slack.new_response_url("alice", "C0OPS")
    bad = httpx.post(url, json={"text": "x", "blocks": [{"type": "nope"}]})
    assert (bad.status_code, bad.text) == (400, "invalid_blocks")
    for _ in range(5):
        assert httpx.post(url, json={"text": "ok"}).status_code == 200


async def test_events_since_gives_only_what_is_new(slack, client):
    await client.chat_postMessage(channel="C0OPS", text="one")
    mark = slack.last_seq
    await client.chat_postMessage(channel="C0OPS", text="two")
    await AsyncWebhookClient(slack.new_response_url("bob", "C0OPS")).send(text="three")
    new = slack.events_since(mark)
    assert [(e.kind, e.text) for e in new] == [
        ("message.posted", "two"),
        ("ephemeral.posted", "three"),
    ]
    assert [e.seq for e in new] == [mark + 1, mark + 2]
    assert new[1].user == "U0BOB"
