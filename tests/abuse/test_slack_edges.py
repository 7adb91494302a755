"""Slack as it really is: the ssl_check probe, requests nobody listens for, the app being
uninstalled, requests of any shape (never a 500, each refusal counted in /metrics), requests
from another workspace, and response_urls that are not Slack's."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from emulators import slack_payloads as payloads
from emulators.slack_driver import FORM, JSON
from emulators.slack_models import APP_ID
from tests.abuse.conftest import BOT_TOKEN, link_all
from tests.abuse.test_requests import block_actions, command_form, payload_form, post, quiet, sign
from tests.e2e.helpers import dms, reply_to
from tests.support.bot import on_bot

__all__ = ["quiet"]

# -- helpers ---------------------------------------------------------------------------------


async def rejected(bot: Any) -> dict[str, float]:
    """/metrics: refused requests by reason."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{bot.url}/metrics")).text
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r'^switchboard_slack_rejected_total\{reason="([^"]+)"\} (\S+)$', text, re.M
        )
    }


def audit_rows(settings: Any) -> list[tuple]:
    return (
        sqlite3.connect(settings.db_path)
        .execute("select user_id, action, result, detail from audit order by id")
        .fetchall()
    )


def event(kind: str, **fields: Any) -> bytes:
    body = payloads.event_callback({"type": kind, **fields}, event_id=None, now=time.time())
    return json.dumps(body).encode()


# -- ssl_check -------------------------------------------------------------------------------


async def test_ssl_check_is_answered_200_and_runs_nothing(bot, quiet):
    body = urlencode({"ssl_check": "1", "token": payloads.VERIFICATION_TOKEN}).encode()
    unsigned = await post(bot, body, signed=False)
    signed = await post(bot, body)
    assert (unsigned.status_code, signed.status_code) == (200, 200)
    assert unsigned.text == signed.text == ""
    await quiet.assert_nothing_happened()


# -- no listener -----------------------------------------------------------------------------


def no_listener_bodies(slack: Any) -> dict[str, tuple[bytes, str]]:
    user = payloads.user_object(slack.user("alice"))
    view = {
        "id": "V0NOBODY",
        "type": "modal",
        "callback_id": "nobody_listens",
        "state": {"values": {}},
        "private_metadata": "",
        "team_id": "T0DEMO",
    }
    common = {
        "team": payloads.team(),
        "user": user,
        "api_app_id": APP_ID,
        "token": payloads.VERIFICATION_TOKEN,
        "is_enterprise_install": False,
    }
    return {
        "action": (payload_form(block_actions(slack, "nobody_listens", "{}")), FORM),
        "event": (b"", JSON),  # built per send (each needs its own event id)
        "view_submission": (
            payload_form(
                {
                    **common,
                    "type": "view_submission",
                    "view": view,
                    "trigger_id": slack.new_trigger_id("alice"),
                }
            ),
            FORM,
        ),
        "view_closed": (
            payload_form({**common, "type": "view_closed", "view": view, "is_cleared": False}),
            FORM,
        ),
        "shortcut": (
            payload_form(
                {
                    **common,
                    "type": "shortcut",
                    "callback_id": "nobody_listens",
                    "trigger_id": slack.new_trigger_id("alice"),
                }
            ),
            FORM,
        ),
        "message_action": (
            payload_form(
                {
                    **common,
                    "type": "message_action",
                    "callback_id": "nobody_listens",
                    "trigger_id": slack.new_trigger_id("alice"),
                    "channel": {"id": "C0OPS"},
                    "message": {"type": "message", "text": "hi", "ts": "1.000001"},
                    "response_url": slack.new_response_url("alice", "C0OPS"),
                }
            ),
            FORM,
        ),
    }


@pytest.mark.parametrize(
    "kind", ["action", "event", "view_submission", "view_closed", "shortcut", "message_action"]
)
async def test_a_request_nobody_listens_for_is_acknowledged_and_logged_once(
    bot, slack, quiet, logs, kind
):
    body, content_type = no_listener_bodies(slack)[kind]
    answers = []
    for _ in range(3):
        if kind == "event":
            body = event(
                "reaction_added",
                user="U0ALICE",
                reaction="tada",
                item={"type": "message", "channel": "C0OPS", "ts": "1.000001"},
            )
        answers.append(await post(bot, body, content_type))
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    await quiet.assert_nothing_happened()
    told = [
        r
        for r in logs.records
        if "unhandled Slack request" in r.getMessage() and r.levelname == "INFO"
    ]
    assert len(told) == 1, [r.getMessage() for r in told]
    assert logs.tracebacks() == []


# -- uninstalled, tokens revoked --------------------------------------------------------------


async def test_uninstalling_pauses_digests_until_the_token_works_again(
    driver, slack, bot, settings, logs
):
    await link_all(driver, slack, users=("alice",))
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Digest added"
    )
    [(sub_id,)] = (
        sqlite3.connect(settings.db_path).execute("select id from subscriptions").fetchall()
    )
    installation = bot.services.installation

    # Only people's own tokens revoked: the bot carries on.
    answer = await post(bot, event("tokens_revoked", tokens={"oauth": ["U0ALICE"]}), JSON)
    assert answer.status_code == 200
    await reply_to(driver, slack, "carol", "/ops", "help", expect="Switchboard commands")
    assert installation.paused is None

    slack.revoked_tokens.add(BOT_TOKEN)
    answer = await post(bot, event("app_uninstalled"), JSON)
    assert answer.status_code == 200
    await driver.wait_for(lambda: installation.paused is not None)
    # The scheduled run comes: nothing is posted, nothing fails.
    posts = len(slack.calls("chat.postMessage"))
    await on_bot(bot, bot.services.scheduler.run_job(sub_id))
    assert len(slack.calls("chat.postMessage")) == posts
    assert dms(slack, "alice") == ""
    # A minute later Slack is asked again: still revoked, still paused, said only once.
    installation.clock = lambda: time.monotonic() + 120
    await on_bot(bot, bot.services.scheduler.run_job(sub_id))
    assert installation.paused is not None and dms(slack, "alice") == ""
    assert [c.error for c in slack.calls("auth.test") if not c.ok] == ["token_revoked"]
    paused = [r for r in audit_rows(settings) if r[1] == "slack.paused"]
    assert paused == [("", "slack.paused", "paused", "the app was uninstalled")]
    warnings = [
        r.getMessage()
        for r in logs.records
        if r.levelname == "WARNING" and "paused" in r.getMessage()
    ]
    assert len(warnings) == 1 and "uninstalled" in warnings[0]

    # Reinstalled: the token works again; the next run posts, and the log and audit say so.
    slack.revoked_tokens.discard(BOT_TOKEN)
    installation.clock = lambda: time.monotonic() + 240
    await on_bot(bot, bot.services.scheduler.run_job(sub_id))
    assert installation.paused is None
    assert [
        m.metadata["event_payload"]["subscription"] for m in slack.messages("D0ALICE") if m.metadata
    ] == [sub_id]
    assert [r[1:3] for r in audit_rows(settings) if r[1] == "slack.resumed"] == [
        ("slack.resumed", "ok")
    ]
    assert any("posting resumes" in r.getMessage() for r in logs.records)


async def test_a_revoked_bot_token_pauses_watch_messages(driver, slack, bot, settings):
    installation = bot.services.installation
    slack.revoked_tokens.add(BOT_TOKEN)
    answer = await post(bot, event("tokens_revoked", tokens={"bot": ["U0BOT"]}), JSON)
    assert answer.status_code == 200
    await driver.wait_for(lambda: installation.paused is not None)
    posts = len(slack.calls("chat.postMessage"))
    # A watch whose job ended meanwhile: its message is recorded, then delivered (or not).
    from bot.store import watches as watch_rows

    store = bot.services.store
    watch = {
        "id": "U0ALICE:dss:prod:F1",
        "user_id": "U0ALICE",
        "kind": "dss.future",
        "params": {},
        "label": "job F1",
        "started_at": "t",
        "deadline": "t",
    }
    assert await store.run(watch_rows.start, watch)
    await store.run(watch_rows.ended, watch["id"], {"text": "your job ended"}, "t")
    await on_bot(bot, bot.services.watches._deliver(await store.run(watch_rows.get, watch["id"])))
    assert len(slack.calls("chat.postMessage")) == posts
    assert (await store.run(watch_rows.get, watch["id"]))["state"] == watch_rows.DONE
    assert ("", "slack.paused", "paused", "the bot token was revoked") in audit_rows(settings)


# -- never a 500 -------------------------------------------------------------------------------


async def test_no_request_of_any_shape_gets_a_500_and_each_refusal_is_counted(bot, slack, quiet):
    before = await rejected(bot)
    answers: dict[str, int] = {}

    # A timestamp of non-ASCII digits: "²".isdigit() is True, int("²...") raises.
    body = command_form(slack)
    headers = {**sign(body), "x-slack-request-timestamp": "²1795971444"}
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            bot.events_url,
            content=body,
            headers={"content-type": FORM, **{k: v.encode("latin-1") for k, v in headers.items()}},
        )
    answers["superscript timestamp"] = answer.status_code

    deep = "[" * 50_000 + "]" * 50_000
    answers["payload 50,000 deep"] = (await post(bot, payload_form(deep))).status_code
    answers["event 50,000 deep"] = (await post(bot, deep.encode(), JSON)).status_code
    answers["invalid UTF-8 form"] = (await post(bot, b"payload=\xff\xfe%7B%7D")).status_code
    answers["invalid UTF-8 JSON"] = (await post(bot, b'{"type":"\xff"}', JSON)).status_code
    answers["JSON list"] = (await post(bot, b'[{"type":"event_callback"}]', JSON)).status_code
    answers["JSON string"] = (await post(bot, b'"event_callback"', JSON)).status_code
    answers["non-ASCII signature"] = (
        await post(
            bot,
            body,
            signed=False,
            headers={
                "x-slack-request-timestamp": str(int(time.time())),
                "x-slack-signature": "v0=é".encode("latin-1"),
            },
        )
    ).status_code
    assert all(400 <= status < 500 for status in answers.values()), answers

    after = await rejected(bot)
    counted = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert counted.get("bad_timestamp") == 1, counted
    assert counted.get("bad_signature") == 1, counted
    assert counted.get("malformed") == 6, counted
    await quiet.assert_nothing_happened()


# -- another workspace ------------------------------------------------------------------------


async def test_a_request_from_another_workspace_or_organisation_is_refused_and_audited(
    bot, slack, quiet, settings
):
    before = await rejected(bot)
    other_team = {"team": {"id": "T0OTHER", "domain": "elsewhere"}}
    click = {**block_actions(slack, "sub_pause", '{"id": 1}'), **other_team}
    bodies = [
        (command_form(slack, team_id="T0OTHER"), FORM),
        (command_form(slack, enterprise_id="E0OTHER"), FORM),
        (payload_form(click), FORM),
        (
            json.dumps(
                {
                    **json.loads(event("app_home_opened", user="U0ALICE", tab="home")),
                    "team_id": "T0OTHER",
                    "authorizations": [{"team_id": "T0OTHER", "enterprise_id": None}],
                }
            ).encode(),
            JSON,
        ),
        (
            json.dumps(
                {
                    **json.loads(event("app_uninstalled")),
                    "team_id": "T0OTHER",
                    "authorizations": [{"team_id": "T0OTHER"}],
                }
            ).encode(),
            JSON,
        ),
    ]
    for body, content_type in bodies:
        answer = await post(bot, body, content_type)
        assert answer.status_code == 403, (body[:80], answer.status_code)
    assert bot.services.installation.paused is None  # another workspace's uninstall
    after = await rejected(bot)
    assert after.get("foreign_team", 0) - before.get("foreign_team", 0) == len(bodies)
    refused = [r for r in audit_rows(settings) if r[1] == "slack.request"]
    assert len(refused) == len(bodies)
    assert all(r[2] == "refused" for r in refused)
    assert "T0OTHER" in refused[0][3] and "E0OTHER" in refused[1][3]
    await quiet.assert_nothing_happened()
    # Our own workspace is served as ever.
    ours = await post(bot, command_form(slack, user="carol", text="help"))
    assert ours.status_code == 200


# -- response_url ------------------------------------------------------------------------------


def test_only_slacks_hosts_and_the_configured_base_may_be_posted_to():
    from bot.respond import slack_hosts_only

    allowed = slack_hosts_only("http://127.0.0.1:8123/api/")
    assert allowed("https://hooks.slack.com/commands/T0/1/abc")
    assert allowed("https://hooks.slack-gov.com/actions/T0/1/abc")
    assert allowed("http://127.0.0.1:8123/response/1-abc")
    for url in (
        "http://hooks.slack.com/commands/T0/1/abc",  # not https
        "https://hooks.slack.com.evil.example/commands/x",  # a lookalike host
        "https://evil.example/?https://hooks.slack.com/x",
        "https://user@evil.example/hooks.slack.com",
        "http://127.0.0.1:8124/response/1-abc",  # another port
        "http://localhost:8123/response/1-abc",
        "https://hooks.slack.com:8443/x",
        "file:///etc/passwd",
        "",
        "::",
        "http://[::1",
    ):
        assert not allowed(url), url
    gov = slack_hosts_only("https://slack-gov.com/api/")
    assert gov("https://hooks.slack-gov.com/commands/x") and gov("https://slack-gov.com/x")
    assert not gov("http://slack-gov.com/x")


async def test_a_response_url_off_slack_is_never_posted_to(bot, slack, world, logs, driver):
    await link_all(driver, slack, users=("alice",))
    elsewhere = world.emulators["dss"]
    elsewhere.requests.clear()
    url = f"{elsewhere.url}/hooks/SECRETPATH42"
    answer = await post(bot, command_form(slack, user="carol", text="help", response_url=url))
    assert answer.status_code == 200
    click = block_actions(slack, "dss_future_abort", "garbage")
    click["response_url"] = url
    assert (await post(bot, payload_form(click))).status_code == 200
    await driver.wait_for(
        lambda: len([r for r in logs.records if "ignored a response_url" in r.getMessage()]) >= 2
    )
    await reply_to(driver, slack, "carol", "/ops", "help", expect="Switchboard commands")
    assert elsewhere.requests == []
    assert "SECRETPATH42" not in logs.text()
