"""Astakos approval buttons end to end: commissions accepted, rejected (with a reason in a
modal), resolved all at once; double clicks, Slack retries and other copies make one platform
call; unlinked, wrong-token and restricted clickers change nothing; a 413 shows on the card.
Every state change leaves an audit row in the SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from emulators.astakos import ALICE, BOB, CHEM, DEMO, AstakosEmulator
from emulators.slack import SlackEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, posted_since, reply_to, seen_by, texts
from tests.support.bot import make_settings

SERVICE = DEMO["service"]["token"]
ALICE_TOKEN = DEMO["alice"]["token"]
BOB_TOKEN = DEMO["bob"]["token"]
ACTION = "/account/v1.0/commissions/{serial}/action"


@pytest.fixture
def platforms(astakos: AstakosEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"astakos": [{"name": "prod", "url": f"{astakos.url}/identity/v2.0"}]}


@pytest.fixture
def approvers() -> dict[str, list[str]]:
    return {}


@pytest.fixture
def settings(tmp_path: Path, slack: SlackEmulator, platforms: dict, approvers: dict) -> Settings:
    return make_settings(tmp_path, slack, platforms=platforms, approvers=approvers)


# -- helpers -------------------------------------------------------------------------------


def card_id(serial: int | str, kind: str = "commission") -> str:
    return f"appr|astakos:prod:{kind}:{serial}|"


def card(message: Message, serial: int | str, kind: str = "commission") -> list[dict]:
    return [
        x for x in message.blocks if str(x.get("block_id", "")).startswith(card_id(serial, kind))
    ]


def button_value(message: Message, serial: int | str, text: str, kind: str = "commission") -> str:
    for block in card(message, serial, kind):
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["text"]["text"] == text:
                return element["value"]
    raise LookupError(f"no {text} button on card {serial}: {texts(message.blocks)}")


def has_buttons(message: Message, serial: int | str, kind: str = "commission") -> bool:
    return any(x["type"] == "actions" for x in card(message, serial, kind))


def now(slack: SlackEmulator, message: Message) -> Message:
    """The message as people see it now (replaced in place by the bot)."""
    return slack.workspace.find(message.channel, message.ts) or message


def channel_post(slack: SlackEmulator, expect: str, since: int = 0) -> Message | None:
    for m in posted_since(slack, "C0OPS", since):
        if expect in texts(m.blocks):
            return m
    return None


def audit(settings: Settings) -> list[tuple]:
    return (
        sqlite3.connect(settings.db_path)
        .execute("select user_id, action, platform, target, result, detail from audit order by id")
        .fetchall()
    )


async def listed(driver, slack, user: str = "alice") -> Message:
    return await reply_to(
        driver, slack, user, "/astakos", "commissions", expect="Pending commissions"
    )


async def shared(driver, slack, user: str = "alice") -> Message:
    since = slack.last_seq
    await reply_to(driver, slack, user, "/astakos", "commissions share", expect="Posted")
    return await driver.wait_for(lambda: channel_post(slack, "Pending commissions", since))


# -- tests ---------------------------------------------------------------------------------


async def test_accept_changes_the_quotas_once_and_updates_the_card(
    driver, slack, astakos, bot, settings
):
    outcome = await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    assert "Linked Synnefo Astakos (prod) as *cyclades* (service token)" in outcome
    reply = await listed(driver, slack)
    body = texts(reply.blocks)
    assert "Commission 56" in body and "create vm alice-web-3" in body
    assert "alice@example.org" in body and "+1 Virtual Machine" in body
    assert "Commission 60" not in body  # pithos' commission: not cyclades' to resolve
    holding = (f"user:{ALICE}", f"project:{CHEM}", "cyclades.vm")
    assert astakos.quota(*holding) == {"limit": 5, "usage": 5, "pending": 1}

    await driver.click("alice", reply, value=button_value(reply, 56, "Accept"))
    await driver.wait_for(lambda: "Accepted* by <@U0ALICE>" in texts(now(slack, reply).blocks))

    assert len(astakos.requests_to("POST", ACTION.format(serial=56))) == 1
    assert astakos.quota(*holding) == {"limit": 5, "usage": 5, "pending": 0}
    assert astakos.commission(56) is None
    updated = now(slack, reply)
    assert not has_buttons(updated, 56)  # who and when instead of buttons
    assert "<!date^" in texts(card(updated, 56))
    assert has_buttons(updated, 57)  # the others still wait
    assert ("U0ALICE", "astakos.accept", "astakos", "56", "ok", "accepted") in audit(settings)


async def test_double_click_and_a_slack_retry_make_exactly_one_accept(
    driver, slack, astakos, bot, settings
):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    reply = await listed(driver, slack)
    value = button_value(reply, 56, "Accept")
    before = len(slack.ephemerals("alice"))
    answers = await asyncio.gather(
        driver.click("alice", reply, value=value),
        driver.click("alice", reply, value=value),
        driver.click("alice", reply, value=value, retry_num=1),
    )
    assert all(a is not None and a.status == 200 for a in answers)

    def told() -> list[str]:
        return [
            m.text
            for m in slack.ephemerals("alice")[before:]
            if "Already accepted by <@U0ALICE>" in m.text
            or "(<@U0ALICE>) is acting on this" in m.text
        ]

    await driver.wait_for(lambda: len(told()) == 2)
    await driver.wait_for(lambda: "Accepted* by" in texts(now(slack, reply).blocks))
    assert len(astakos.requests_to("POST", ACTION.format(serial=56))) == 1
    rows = [r for r in audit(settings) if r[1] == "astakos.accept"]
    assert rows == [("U0ALICE", "astakos.accept", "astakos", "56", "ok", "accepted")]


async def test_a_click_on_another_copy_is_told_who_acted(driver, slack, astakos, bot, settings):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    await link(driver, slack, "bob", "astakos", {"token": SERVICE})
    post = await shared(driver, slack)
    mine = await listed(driver, slack)  # alice's own ephemeral copy
    # Bob accepts 57 in the channel: the channel copy is updated in place.
    await driver.click("bob", post, value=button_value(post, 57, "Accept"))
    await driver.wait_for(lambda: "Accepted* by <@U0BOB>" in texts(now(slack, post).blocks))
    assert not has_buttons(now(slack, post), 57)
    # Alice clicks the same commission in her own list: told who did it and when.
    await driver.click("alice", mine, value=button_value(mine, 57, "Accept"))
    await driver.wait_for(
        lambda: "Already accepted by <@U0BOB> at <!date^" in seen_by(slack, "alice")
    )
    assert len(astakos.requests_to("POST", ACTION.format(serial=57))) == 1
    assert ("U0BOB", "astakos.accept", "astakos", "57", "ok", "accepted") in audit(settings)


async def test_reject_asks_a_reason_in_a_modal_and_releases_the_pending(
    driver, slack, astakos, bot, settings
):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    reply = await listed(driver, slack)
    holding = (f"user:{BOB}", f"project:{CHEM}", "cyclades.cpu")
    assert astakos.quota(*holding) == {"limit": 16, "usage": 8, "pending": 4}
    opened = len(slack.views_opened("alice"))
    await driver.click("alice", reply, value=button_value(reply, 57, "Reject"))
    modal = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    assert "Commission 57" in texts(modal.blocks)
    reason = next(blk for blk in modal.blocks if blk.get("type") == "input")
    assert reason["optional"] and reason["label"]["text"] == "Reason"  # Slack adds "(optional)"
    assert astakos.requests_to("POST", ACTION.format(serial=57)) == []  # nothing yet
    await driver.submit("alice", modal, {"reason": "not this week"})

    await driver.wait_for(lambda: "Rejected* by <@U0ALICE>" in texts(now(slack, reply).blocks))
    sent = astakos.requests_to("POST", ACTION.format(serial=57))
    assert [r.json() for r in sent] == [{"reject": ""}]
    assert astakos.commission(57) is None
    assert astakos.quota(*holding) == {"limit": 16, "usage": 4, "pending": 0}
    assert "reason: not this week" in texts(card(now(slack, reply), 57))
    assert (
        "U0ALICE",
        "astakos.reject",
        "astakos",
        "57",
        "ok",
        "rejected · reason: not this week",
    ) in audit(settings)
    shown = await reply_to(driver, slack, "alice", "/ops", "audit 1", expect="changes")
    assert "→ ok · rejected · reason: not this week" in texts(shown.blocks)


async def test_resolve_all_accepts_the_rest_in_one_call(driver, slack, astakos, bot, settings):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    post = await shared(driver, slack)
    assert "Resolve all (4)" in texts(post.blocks)
    await driver.click("alice", post, value=button_value(post, 56, "Accept"))
    await driver.wait_for(lambda: not has_buttons(now(slack, post), 56))
    # The count follows the cards still open: 56 is settled, so three are left.
    assert "Resolve all (3)" in texts(now(slack, post).blocks)

    await driver.click("alice", now(slack, post), text="Resolve all (3)")
    resolved = await driver.wait_for(
        lambda: astakos.requests_to("POST", "/account/v1.0/commissions/action")
    )
    await driver.wait_for(lambda: "Resolve all" not in texts(now(slack, post).blocks))
    assert [r.json() for r in resolved] == [{"accept": [57, 58, 59], "reject": []}]
    assert astakos.requests_to("POST", ACTION.format(serial=56))  # the single accept
    assert all(astakos.commission(s) is None for s in (56, 57, 58, 59))
    final = now(slack, post)
    for serial in (56, 57, 58, 59):
        assert not has_buttons(final, serial)
        assert "Accepted* by <@U0ALICE>" in texts(card(final, serial))
    # Forced commission 59 leaves bob over his personal VM limit: accepted all the same.
    assert astakos.quota(f"user:{BOB}", f"project:{BOB}", "cyclades.vm")["usage"] == 3
    rows = audit(settings)
    for serial in ("57", "58", "59"):
        assert (
            "U0ALICE",
            "astakos.accept",
            "astakos",
            serial,
            "ok",
            "resolve all: accepted (resolve all)",
        ) in rows
    await driver.wait_for(lambda: "Resolve all: accepted 57, 58, 59" in seen_by(slack, "alice"))


async def test_an_unlinked_clicker_is_told_how_to_link_and_nothing_happens(
    driver, slack, astakos, bot, settings
):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    post = await shared(driver, slack)
    astakos.requests.clear()
    await driver.click("bob", post, value=button_value(post, 56, "Accept"))
    await driver.wait_for(lambda: "/ops link astakos prod" in seen_by(slack, "bob"))
    assert "no linked Synnefo Astakos (prod) account" in seen_by(slack, "bob")
    assert astakos.requests == []
    assert astakos.commission(56) is not None
    assert has_buttons(now(slack, post), 56)
    assert ("U0BOB", "astakos.accept", "astakos", "56", "refused", "NotLinked") in audit(settings)


async def test_a_user_token_where_a_service_token_is_needed(driver, slack, astakos, bot, settings):
    outcome = await link(driver, slack, "bob", "astakos", {"token": BOB_TOKEN})
    assert "as *bob@example.org* (user token)" in outcome
    reply = await reply_to(driver, slack, "bob", "/astakos", "commissions", expect="service token")
    assert "the token you linked on prod (bob@example.org) is a user token" in reply.text
    assert "/ops link astakos prod" in reply.text
    # Clicking a card another person posted changes nothing either.
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    post = await shared(driver, slack)
    astakos.requests.clear()
    await driver.click("bob", post, value=button_value(post, 56, "Accept"))
    await driver.wait_for(
        lambda: seen_by(slack, "bob").count("needs an Astakos *service token*") == 2
    )
    assert astakos.requests == []
    assert has_buttons(now(slack, post), 56)
    # ... and the commission can still be accepted by someone with the right token.
    await driver.click("alice", post, value=button_value(post, 56, "Accept"))
    await driver.wait_for(lambda: "Accepted* by <@U0ALICE>" in texts(now(slack, post).blocks))


@pytest.mark.parametrize("approvers", [{"astakos.commission": ["S0ADMINS"]}])
async def test_operators_can_restrict_who_may_click(driver, slack, astakos, bot, settings):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    await link(driver, slack, "bob", "astakos", {"token": SERVICE})
    post = await shared(driver, slack)
    astakos.requests.clear()
    await driver.click("bob", post, value=button_value(post, 56, "Accept"))
    await driver.wait_for(lambda: "restrict who may accept" in seen_by(slack, "bob"))
    opened = len(slack.views_opened("bob"))
    await driver.click("bob", post, value=button_value(post, 57, "Reject"))
    await driver.wait_for(lambda: "restrict who may reject" in seen_by(slack, "bob"))
    assert len(slack.views_opened("bob")) == opened  # no reason modal for him
    assert astakos.requests == []
    assert has_buttons(now(slack, post), 56)
    # Alice is in the admins user group.
    await driver.click("alice", post, value=button_value(post, 56, "Accept"))
    await driver.wait_for(lambda: "Accepted* by <@U0ALICE>" in texts(now(slack, post).blocks))
    rows = audit(settings)
    assert ("U0BOB", "astakos.accept", "astakos", "56", "refused", "NotAllowed") in rows
    assert ("U0ALICE", "astakos.accept", "astakos", "56", "ok", "accepted") in rows


async def test_over_limit_on_accept_is_shown_on_the_card(driver, slack, astakos, bot, settings):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    post = await shared(driver, slack)
    reply = await listed(driver, slack)
    # The emulator only refuses over-limit commissions when they are issued; a deployment
    # whose quotaholder re-checks on accept answers 413 there: injected here.
    astakos.faults.set(status=413, path_prefix=ACTION.format(serial=59), remaining=1)
    await driver.click("alice", reply, value=button_value(reply, 59, "Accept"))
    await driver.wait_for(lambda: "injected fault 413" in texts(card(now(slack, reply), 59)))
    # Still pending on Astakos, so every copy (the list and the channel copy) says what the
    # attempt met and keeps its buttons: Reject stays possible.
    await driver.wait_for(lambda: "injected fault 413" in texts(card(now(slack, post), 59)))
    for copy in (now(slack, reply), now(slack, post)):
        shown = texts(card(copy, 59))
        assert "<@U0ALICE>'s accept" in shown and "failed: Rejected: injected fault 413" in shown
        assert has_buttons(copy, 59)
    assert astakos.commission(59) is not None
    assert (
        "U0ALICE",
        "astakos.accept",
        "astakos",
        "59",
        "failed",
        "Rejected: injected fault 413",
    ) in audit(settings)
    opened = len(slack.views_opened("alice"))
    await driver.click(
        "alice", now(slack, post), value=button_value(now(slack, post), 59, "Reject")
    )
    modal = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    await driver.submit("alice", modal, {})
    await driver.wait_for(lambda: "Rejected* by <@U0ALICE>" in texts(now(slack, post).blocks))
    assert astakos.commission(59) is None
    assert ("U0ALICE", "astakos.reject", "astakos", "59", "ok", "rejected") in audit(settings)


async def test_a_failed_call_can_be_retried(driver, slack, astakos, bot, settings):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    reply = await listed(driver, slack)
    astakos.faults.set(status=503, path_prefix=ACTION.format(serial=58), remaining=1)
    await driver.click("alice", reply, value=button_value(reply, 58, "Accept"))
    await driver.wait_for(lambda: "failed" in texts(card(now(slack, reply), 58)))
    retry = button_value(now(slack, reply), 58, "Retry accept")
    assert json.loads(retry)["action"] == "accept"
    await driver.click("alice", now(slack, reply), value=retry)
    await driver.wait_for(lambda: "Accepted* by" in texts(card(now(slack, reply), 58)))
    assert astakos.commission(58) is None
    results = [r[4] for r in audit(settings) if r[1] == "astakos.accept" and r[3] == "58"]
    assert results == ["failed", "ok"]


async def test_every_copy_is_updated_once_through_429_and_5xx_storms(
    driver, slack, astakos, bot, settings
):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    first = await shared(driver, slack)
    second = await shared(driver, slack)  # a second copy of the same cards, in the channel
    assert first.ts != second.ts
    # Slack has a bad minute: chat.update answers 503 three times, then 429 ten times
    # (more than the Web API client's own rate-limit retries), then works.
    slack.faults.set(status=503, path_prefix="/api/chat.update", remaining=3)
    slack.ratelimit("chat.update", times=10, retry_after=0)
    since = slack.last_seq
    responses = len(slack.responses())
    answer = await driver.click("alice", first, value=button_value(first, 56, "Accept"))
    assert answer is not None and answer.status == 200

    def accepted(copy: Message) -> bool:
        return "Accepted* by <@U0ALICE>" in texts(card(now(slack, copy), 56))

    await driver.wait_for(lambda: accepted(first) and accepted(second), timeout=60)
    await reply_to(driver, slack, "bob", "/ops", "help", expect="Switchboard commands")
    updated = [c.args["ts"] for c in slack.calls("chat.update") if c.ok]
    assert sorted(updated) == sorted([first.ts, second.ts])  # each copy once, none twice
    assert len(astakos.requests_to("POST", ACTION.format(serial=56))) == 1
    # The clicker is told once: by the card she clicked, and by nothing else.
    alice = slack.user("alice").id
    assert [e.kind for e in slack.events_since(since) if e.user == alice] == []
    assert [p for p in slack.responses()[responses:] if p.url == answer.response_url] == []
