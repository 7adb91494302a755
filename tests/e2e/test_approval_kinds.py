"""An approval kind declared outside bot/ (here, in a test module) is served by the one approval
flow with no edit to it: its own action ids are routed, its perform runs once however many
clicks, every copy of its card is redrawn, the "already" text uses its words, its reason modal
asks with its label, and refusals are told and audited. The bot runs as in production (signed
Slack requests over HTTP, a real SQLite file); only the card is posted by the test, as a
platform's command or digest would post it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot import approval_kinds
from bot.approval_kinds import WAITING, ApprovalKind, ApprovalRef, Current, Place, Verb
from bot.approvals import DONE, FAILED, PENDING, Approval, Approvals, tag_card
from bot.blocks import common as b
from bot.interactions import ref
from bot.platforms.base import Credential
from bot.services import Services
from bot.store import Store
from emulators.limits import DEMO, LimitsEmulator
from emulators.slack import SlackEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, posted_since, seen_by, texts
from tests.engines import rows
from tests.support.bot import BOT_TOKEN, make_settings

CALLS: list[tuple[str, str, str, str]] = []  # (account, target, action, reason) per perform


async def perform(
    _services: Services, credential: Credential, approval: Approval, verb: Verb, reason: str
) -> str:
    CALLS.append((credential.account, approval.target, verb.action, reason))
    await asyncio.sleep(0.05)  # a platform call takes a while: the other clicks overlap it
    return f"{verb.past} the toy" + (f" · {reason}" if reason else "")


async def check(_services: Services, _credential: Credential, _approval: Approval) -> Current:
    return Current(WAITING)


def render(approval: Approval, _place: Place) -> list[dict[str, Any]]:
    blocks = [b.section(f"Toy change *{approval.target}*: {approval.state}")]
    if approval.state in (PENDING, FAILED):
        blocks.append(
            b.actions(
                *(
                    b.button(v.button, v.action_id, ref(ApprovalRef(approval=approval.id)))
                    for v in TOY.verbs
                )
            )
        )
    if approval.state == DONE:
        blocks.append(b.context(f"*{approval.result}* by <@{approval.actor}>"))
    return tag_card(approval.id, blocks)


TOY = ApprovalKind(
    key="toy",
    platform="limits",  # any configured platform: the clicker's credential is its
    label="toy change",
    verbs=(
        Verb("ship", "Ship", "shipped", "toy_ship"),
        Verb("drop", "Drop", "dropped", "toy_drop", reason="Why"),
    ),
    permission="limits.toy",
    perform=perform,
    render=render,
    check=check,
    describe=lambda approval, verb: f"{verb.button} toy change *{approval.target}*?",
    reason_note="The reason goes in the audit trail.",
)
approval_kinds.register(TOY)


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:
        yield emulator


@pytest.fixture
def approvers() -> dict[str, list[str]]:
    return {}


@pytest.fixture
def settings(tmp_path, slack: SlackEmulator, limits: LimitsEmulator, approvers):
    CALLS.clear()
    return make_settings(
        tmp_path,
        slack,
        platforms={"limits": [{"name": "prod", "url": limits.url}]},
        approvers=approvers,
    )


async def post_card(slack: SlackEmulator, settings, target: str) -> Message:
    """What a platform's list or digest does: register the approval, post its card in #ops
    and record the copy (here on a second connection to the bot's database)."""
    store = Store(settings.db_path)
    try:
        approvals = Approvals(store=store, now=lambda: datetime.now(UTC))
        record = await approvals.register(
            platform="limits", instance="prod", kind="toy", target=target, summary=f"toy {target}"
        )
        since = slack.last_seq
        blocks = render(record, Place())
        web = AsyncWebClient(token=BOT_TOKEN, base_url=f"{slack.url}/api/")
        posted = await web.chat_postMessage(channel="C0OPS", text=f"toy {target}", blocks=blocks)
        await approvals.record_copy(record.id, posted["channel"], posted["ts"], blocks)
    finally:
        store.close()
    return posted_since(slack, "C0OPS", since)[0]


def card_text(slack: SlackEmulator, message: Message) -> str:
    return texts((slack.workspace.find(message.channel, message.ts) or message).blocks)


async def link_alice(driver, slack) -> None:
    values = {"username": "alice", "password": DEMO["alice"]["password"]}
    assert "Linked" in await link(driver, slack, "alice", "limits", values)


async def test_a_kind_declared_outside_bot_acts_once_through_double_clicks(
    driver, slack, bot, settings
):
    await link_alice(driver, slack)
    card = await post_card(slack, settings, "7")
    clicks = await asyncio.gather(
        driver.click("alice", card, action_id="toy_ship"),
        driver.click("alice", card, action_id="toy_ship"),
        driver.click("alice", card, action_id="toy_ship", retry_num=1),
    )
    assert all(c is not None and c.status == 200 for c in clicks)
    await driver.wait_for(lambda: "*shipped the toy* by <@U0ALICE>" in card_text(slack, card))
    assert "Ship" not in card_text(slack, card)  # no buttons left on the channel copy

    def told() -> int:
        seen = seen_by(slack, "alice")
        return seen.count("Already shipped by <@U0ALICE> at <!date^") + seen.count(
            "Someone (<@U0ALICE>) is acting on this right now."
        )

    await driver.wait_for(lambda: told() >= 2)
    assert CALLS == [("alice", "7", "ship", "")]
    assert rows(
        settings,
        "select user_id, action, target, result, detail from audit where action like ?",
        ("limits.ship",),
    ) == [("U0ALICE", "limits.ship", "7", "ok", "shipped the toy")]


async def test_its_reason_modal_asks_with_its_own_words(driver, slack, bot, settings):
    await link_alice(driver, slack)
    card = await post_card(slack, settings, "8")
    opened = len(slack.views_opened("alice"))
    await driver.click("alice", card, action_id="toy_drop")
    modal = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    assert "Drop toy change *8*?" in texts(modal.blocks)
    assert modal.title["text"] == "Drop change"
    field = next(blk for blk in modal.blocks if blk.get("type") == "input")
    assert field["optional"] and field["label"]["text"] == "Why"
    assert CALLS == []  # nothing happens before the submit

    await driver.submit("alice", modal, {"why": "not this sprint"})
    await driver.wait_for(lambda: "dropped the toy · not this sprint" in card_text(slack, card))
    assert CALLS == [("alice", "8", "drop", "not this sprint")]


async def test_an_unlinked_clicker_is_told_how_to_link_and_it_is_audited(
    driver, slack, bot, settings
):
    card = await post_card(slack, settings, "9")
    await driver.click("bob", card, action_id="toy_ship")
    await driver.wait_for(lambda: "/ops link limits prod" in seen_by(slack, "bob"))
    assert CALLS == []
    assert "Ship" in card_text(slack, card)  # still open for someone who can
    assert rows(
        settings,
        "select user_id, action, target, result, detail from audit where action like ?",
        ("limits.ship",),
    ) == [("U0BOB", "limits.ship", "9", "refused", "NotLinked")]


@pytest.mark.parametrize("approvers", [{"limits.toy": ["S0ADMINS"]}])
async def test_the_operators_restriction_names_its_permission(driver, slack, bot, settings):
    await link_alice(driver, slack)
    values = {"username": "bob", "password": DEMO["bob"]["password"]}
    assert "Linked" in await link(driver, slack, "bob", "limits", values)
    card = await post_card(slack, settings, "10")
    opened = len(slack.views_opened("bob"))
    await driver.click("bob", card, action_id="toy_drop")
    await driver.wait_for(lambda: "restrict who may drop here" in seen_by(slack, "bob"))
    assert len(slack.views_opened("bob")) == opened  # no modal for him
    await driver.click("alice", card, action_id="toy_ship")  # alice is in S0ADMINS
    await driver.wait_for(lambda: "*shipped the toy* by <@U0ALICE>" in card_text(slack, card))
    assert CALLS == [("alice", "10", "ship", "")]
