"""The Slack emulator's Web API, driven by slack_sdk's own AsyncWebClient."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from emulators.base import FakeClock
from emulators.slack import DEMO, WORKSPACE, SlackEmulator

TOKEN = "xoxb-test-token-0123456789"
JULY = 1_752_000_000.0  # 2025-07-08: Paris is on summer time
JANUARY = 1_736_000_000.0  # 2025-01-04


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.fixture
def july_clock():
    return FakeClock(JULY)


@pytest.fixture
def slack(july_clock):
    with SlackEmulator(clock=july_clock) as emulator:
        yield emulator


@pytest.fixture
def client(slack):
    return AsyncWebClient(token=TOKEN, base_url=f"{slack.url}/api/")


async def error_of(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value.response["error"]


async def test_auth_test_names_the_seeded_workspace_and_bot(client):
    identity = await client.auth_test()
    assert (identity["team_id"], identity["user_id"]) == ("T0DEMO", "U0BOT")
    assert DEMO["alice"]["user_id"] == "U0ALICE" and DEMO["alice"]["is_admin"]
    assert not DEMO["bob"]["is_admin"]
    assert WORKSPACE["channels"] == {"ops": "C0OPS", "data": "C0DATA"}


async def test_a_token_that_is_not_a_bot_token_is_refused(slack):
    other = AsyncWebClient(token="xoxp-user-token", base_url=f"{slack.url}/api/")
    assert await error_of(other.auth_test()) == "invalid_auth"
    async with httpx.AsyncClient() as http:
        anonymous = await http.post(f"{slack.url}/api/auth.test")
    assert anonymous.json() == {"ok": False, "error": "not_authed"}


async def test_posted_message_is_seen_in_the_channel_then_updated_and_deleted(slack, client):
    posted = await client.chat_postMessage(
        channel="C0OPS", text="deploy?", blocks=[section("*deploy?*")]
    )
    assert posted["channel"] == "C0OPS"
    [seen] = slack.messages("C0OPS")
    assert (seen.ts, seen.text, seen.blocks) == (posted["ts"], "deploy?", [section("*deploy?*")])

    await client.chat_update(
        channel="C0OPS", ts=posted["ts"], text="deployed", blocks=[section("done")]
    )
    [seen] = slack.messages("C0OPS")
    assert (seen.text, seen.blocks, seen.edited) == ("deployed", [section("done")], True)

    await client.chat_delete(channel="C0OPS", ts=posted["ts"])
    assert slack.messages("C0OPS") == []
    kinds = [e.kind for e in slack.events_since(0)]
    assert kinds == ["message.posted", "message.updated", "message.deleted"]
    assert (
        await error_of(client.chat_update(channel="C0OPS", ts=posted["ts"], text="x"))
        == "message_not_found"
    )


async def test_update_without_blocks_keeps_the_old_blocks(slack, client):
    posted = await client.chat_postMessage(channel="C0OPS", text="a", blocks=[section("a")])
    await client.chat_update(channel="C0OPS", ts=posted["ts"], text="b")
    assert slack.messages("C0OPS")[0].blocks == [section("a")]


def test_form_encoded_call_with_blocks_as_a_json_string_is_understood(slack):
    answer = httpx.post(
        f"{slack.url}/api/chat.postMessage",
        data={
            "token": TOKEN,
            "channel": "C0OPS",
            "blocks": '[{"type": "divider"}]',
            "text": "x",
        },
    )
    assert answer.json()["ok"] is True
    [call] = slack.calls("chat.postMessage")
    assert call.args == {"channel": "C0OPS", "blocks": [{"type": "divider"}], "text": "x"}


async def test_the_bot_token_is_never_kept_in_the_call_log(slack, client):
    await client.chat_postMessage(channel="C0OPS", text="hi")
    async with httpx.AsyncClient() as http:
        await http.post(f"{slack.url}/api/auth.test", data={"token": TOKEN})
    assert TOKEN not in repr(slack.calls())


@pytest.mark.parametrize(
    "blocks, problem",
    [
        ([section("x" * 3001)], "text"),
        ([{"type": "no_such_block"}], "unknown block type"),
        ([section(str(i)) for i in range(51)], "no more than 50"),
    ],
)
async def test_blocks_slack_would_refuse_give_invalid_blocks(slack, client, blocks, problem):
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0OPS", text="x", blocks=blocks)
    assert caught.value.response["error"] == "invalid_blocks"
    assert problem in " ".join(caught.value.response["errors"])
    assert slack.messages() == []


async def test_fifty_blocks_are_accepted(slack, client):
    await client.chat_postMessage(
        channel="C0OPS", text="x", blocks=[section(str(i)) for i in range(50)]
    )
    assert len(slack.messages("C0OPS")[0].blocks) == 50


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_message_errors_match_slack(client):
    assert await error_of(client.chat_postMessage(channel="C0OPS")) == "no_text"
    assert (
        await error_of(client.chat_postMessage(channel="C0NOPE", text="x")) == "channel_not_found"
    )
    # The bot is not in #data and has no chat:write.public scope.
    assert await error_of(client.chat_postMessage(channel="C0DATA", text="x")) == "not_in_channel"
    assert await error_of(client.api_call("chat.frobnicate")) == "unknown_method"


async def test_someone_elses_message_cannot_be_updated(slack, client):
    from emulators.slack import Message

    slack.workspace.post(
        Message(channel="C0OPS", ts="1752000000.000999", user="U0BOB", text="mine", blocks=[])
    )
    assert (
        await error_of(client.chat_update(channel="C0OPS", ts="1752000000.000999", text="x"))
        == "cant_update_message"
    )
    assert (
        await error_of(client.chat_delete(channel="C0OPS", ts="1752000000.000999"))
        == "cant_delete_message"
    )


async def test_ephemeral_is_seen_only_by_its_user_and_cannot_be_updated(slack, client):
    sent = await client.chat_postEphemeral(channel="C0OPS", user="U0BOB", text="psst")
    assert [m.text for m in slack.ephemerals("bob")] == ["psst"]
    assert slack.ephemerals("alice") == [] and slack.messages("C0OPS") == []
    assert (
        await error_of(client.chat_update(channel="C0OPS", ts=sent["message_ts"], text="x"))
        == "message_not_found"
    )
    assert (
        await error_of(client.chat_postEphemeral(channel="C0OPS", user="U0CAROL", text="x"))
        == "user_not_in_channel"
    )
    assert (
        await error_of(client.chat_postEphemeral(channel="C0DATA", user="U0BOB", text="x"))
        == "not_in_channel"
    )


async def test_direct_message_channel_is_opened_and_posted_to(slack, client):
    opened = await client.conversations_open(users="U0CAROL")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    await client.chat_postMessage(channel=dm, text="your digest")
    assert [m.text for m in slack.messages(dm)] == ["your digest"]
    members = await client.conversations_members(channel=dm)
    assert set(members["members"]) == {"U0CAROL", "U0BOT"}


async def test_conversations_and_usergroups(client):
    info = await client.conversations_info(channel="C0DATA")
    assert (info["channel"]["name"], info["channel"]["is_member"]) == ("data", False)
    members = await client.conversations_members(channel="C0OPS")
    assert set(members["members"]) == {"U0ALICE", "U0BOB", "U0BOT"}
    admins = await client.usergroups_users_list(usergroup="S0ADMINS")
    assert admins["users"] == ["U0ALICE"]
    assert await error_of(client.usergroups_users_list(usergroup="S0NONE")) == "no_such_subteam"


async def test_users_info_gives_time_zone_and_offset_at_the_emulator_clock(july_clock, client):
    alice = (await client.users_info(user="U0ALICE"))["user"]
    assert (alice["tz"], alice["tz_offset"]) == ("Europe/Paris", 7200)
    assert alice["profile"]["display_name"] == "alice"
    july_clock.now = JANUARY
    alice = (await client.users_info(user="U0ALICE"))["user"]
    assert alice["tz_offset"] == 3600
    carol = (await client.users_info(user="U0CAROL"))["user"]
    assert (carol["tz"], carol["tz_offset"]) == ("Asia/Tokyo", 9 * 3600)
    assert await error_of(client.users_info(user="U0NOBODY")) == "user_not_found"


async def test_ratelimit_on_demand_answers_429_with_retry_after(slack, client):
    slack.ratelimit("chat.postMessage", times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="C0OPS", text="x")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] in ("7", ["7"])
        assert caught.value.response["error"] == "ratelimited"
    await client.chat_postMessage(channel="C0OPS", text="x")
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 429, 200]


async def test_sdk_rate_limit_retry_handler_retries_through_a_429(slack, client):
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    slack.ratelimit("chat.postMessage", times=1, retry_after=0)  # keeps the SDK's sleep short
    await client.chat_postMessage(channel="C0OPS", text="after the wait")
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]
    assert [m.text for m in slack.messages("C0OPS")] == ["after the wait"]


async def test_enforced_rate_limits_follow_the_emulator_clock(slack, client, july_clock):
    slack.enforce_rate_limits(per_channel_per_second=1.0, workspace_per_minute=3)
    dm = (await client.conversations_open(users="U0ALICE"))["channel"]["id"]
    await client.chat_postMessage(channel="C0OPS", text="1")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0OPS", text="2")
    assert caught.value.response.status_code == 429
    await client.chat_postMessage(channel=dm, text="other channel is fine")
    july_clock.advance(1)
    await client.chat_postMessage(channel="C0OPS", text="a second later")
    # Three posts this minute: the workspace cap now refuses any channel until it slides.
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=dm, text="4")
    assert caught.value.response.headers["Retry-After"] in ("59", ["59"])
    july_clock.advance(59)
    await client.chat_postMessage(channel=dm, text="next minute")
    assert len(slack.messages()) == 4


async def test_chat_unfurl_takes_a_composer_draft_by_unfurl_id_and_source_only(slack, client):
    """Slack's composer previews: the link_shared names a draft (channel COMPOSER, one id as
    ts and unfurl_id); chat.unfurl answers with unfurl_id + source, both of the pair, and the
    source the event named."""
    url = "https://dss.example.com/projects/SALES/"
    draft = slack.compose("alice", f"see <{url}>")
    preview = {url: {"blocks": [section("SALES")]}}
    assert await error_of(client.chat_unfurl(unfurl_id=draft.ts, unfurls=preview)) == (
        "invalid_arguments"
    )
    wrong = client.chat_unfurl(unfurl_id=draft.ts, source="conversations_history", unfurls=preview)
    assert await error_of(wrong) == "cannot_find_message"
    odd = client.chat_unfurl(unfurl_id=draft.ts, source="sidebar", unfurls=preview)
    assert await error_of(odd) == "invalid_source"
    other = {"https://elsewhere.example/": {"blocks": [section("x")]}}
    refused = client.chat_unfurl(unfurl_id=draft.ts, source="composer", unfurls=other)
    assert await error_of(refused) == "cannot_unfurl_url"
    assert draft.unfurls == {}
    await client.chat_unfurl(unfurl_id=draft.ts, source="composer", unfurls=preview)
    assert draft.unfurls == preview
    # The changelog's other form: channel COMPOSER with the draft id as ts.
    again = {url: {"blocks": [section("SALES again")]}}
    await client.chat_unfurl(channel="COMPOSER", ts=draft.ts, unfurls=again)
    assert draft.unfurls == again
    assert slack.workspace.find("C0OPS", draft.ts) is None  # a draft is in no conversation


async def test_thread_replies_are_in_their_thread_and_only_broadcast_ones_in_the_channel(
    slack, client
):
    parent = await client.chat_postMessage(channel="C0OPS", text="instance i-1 is running")
    meta = {"event_type": "switchboard_digest", "event_payload": {"subscription": 1, "run": "r"}}
    quiet = await client.chat_postMessage(
        channel="C0OPS", text="finished", thread_ts=parent["ts"], metadata=meta
    )
    loud = await client.chat_postMessage(
        channel="C0OPS", text="failed", thread_ts=parent["ts"], reply_broadcast=True
    )
    history = await client.conversations_history(channel="C0OPS")
    assert [m["text"] for m in history["messages"]] == ["failed", "instance i-1 is running"]
    assert history["messages"][0]["subtype"] == "thread_broadcast"
    thread = await client.conversations_replies(
        channel="C0OPS", ts=parent["ts"], include_all_metadata=True
    )
    assert [m["ts"] for m in thread["messages"]] == [parent["ts"], quiet["ts"], loud["ts"]]
    assert thread["messages"][1]["metadata"] == meta
    assert all(m["thread_ts"] == parent["ts"] for m in thread["messages"][1:])
    # From a time on (as the poster's recovery asks), the parent first, then what is newer.
    later = await client.conversations_replies(channel="C0OPS", ts=parent["ts"], oldest=quiet["ts"])
    assert [m["text"] for m in later["messages"]] == ["instance i-1 is running", "failed"]
    assert await error_of(client.conversations_replies(channel="C0OPS", ts="1.0")) == (
        "thread_not_found"
    )
