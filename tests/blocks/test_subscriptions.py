"""bot/blocks/subscriptions.py: `/ops digest …` and `/ops alert …` replies, the list with its
buttons, and the App Home section."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks import subscriptions as s
from bot.blocks.time import slack_date
from tests.blocks.kit import buttons, message_text

NINE = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def digest(**changes):
    row = {
        "id": 7,
        "kind": "digest",
        "platforms": "dss,limits",
        "source": "",
        "instance": "",
        "trigger": "daily 09:00",
        "tz": "Europe/Athens",
        "channel": "C0OPS",
        "skip_empty": True,
        "paused": False,
        "last_run_at": "2026-11-29T09:00:00+00:00",
        "last_error": None,
    }
    return row | changes


def alert(**changes):
    return (
        digest(
            id=8, kind="alert", platforms="", source="limits.breaches", instance="risk", trigger=""
        )
        | changes
    )


def test_added_says_what_when_where_and_the_next_runs_as_date_tokens():
    shown = message_text(s.added(digest(), [NINE, TEN]))
    assert (
        "Digest added. *#7* digest of `dss,limits`, `daily 09:00` (Europe/Athens), to <#C0OPS>"
        " · skips empty runs"
    ) in shown
    assert f"Next runs: {slack_date(NINE)}, {slack_date(TEN)}" in shown
    assert "`/ops digest now 7` posts it at once; `/ops digest remove 7` stops it." in shown


def test_an_alert_to_dms_polls_every_time_and_says_so():
    shown = message_text(s.added(alert(channel="", skip_empty=False), []))
    assert "Alert added. *#8* alert `limits.breaches` @risk, on every poll, to your DMs" in shown
    assert "No upcoming run." in shown


def test_a_listed_item_has_pause_run_now_and_a_confirmed_remove_for_its_id():
    blocks = s.item(digest(last_error="DSS (prod) <!channel> refused"), [NINE])
    shown = message_text(blocks)
    assert f"last run {slack_date('2026-11-29T09:00:00+00:00')}" in shown
    assert ":warning: DSS (prod) &lt;!channel&gt; refused" in shown
    pause, run_now, remove = buttons(blocks)
    assert [x["text"]["text"] for x in (pause, run_now, remove)] == ["Pause", "Run now", "Remove"]
    assert {json.loads(x["value"])["id"] for x in (pause, run_now, remove)} == {7}
    assert remove["confirm"]["text"]["text"] == "Stop and delete #7?"


def test_a_paused_item_offers_resume_and_shows_no_next_runs():
    blocks = s.item(digest(paused=True), [NINE])
    shown = message_text(blocks)
    assert ":double_vertical_bar: paused" in shown and "Next runs" not in shown
    assert buttons(blocks)[0]["action_id"] == s.RESUME


def test_the_channel_confirmation_names_the_channel_its_members_and_what_they_will_see():
    pending = s.Pending(kind="digest", platforms="dss", trigger="daily 09:00", channel="C0OPS")
    blocks = s.confirm_channel(pending, "a digest of DSS", 12, "Dataiku DSS (prod) as alice")
    shown = message_text(blocks)
    assert "*Post a digest of DSS to <#C0OPS>?*" in shown
    assert "Everyone in <#C0OPS> (12 member(s)) will see what *your* linked accounts" in shown
    confirm, cancel = buttons(blocks)
    assert s.Pending.model_validate_json(confirm["value"]) == pending
    assert cancel["action_id"] == s.CANCEL


def test_a_duplicate_asks_before_adding_again():
    pending = s.Pending(kind="digest", platforms="dss,limits", channel="C0OPS")
    shown = message_text(s.confirm_duplicate(pending, [digest()]))
    assert "You already have this:\n• *#7* digest of `dss,limits`" in shown
    assert "Adding it again would post the same thing twice." in shown


def test_remove_asks_first():
    blocks = s.confirm_remove(alert())
    assert "*Remove #8?* It stops and is deleted" in message_text(blocks)
    assert [x["text"]["text"] for x in buttons(blocks)] == ["Remove", "Keep it"]


def test_the_list_fits_in_one_message_and_says_how_many_were_left_out():
    rows = [(digest(id=n), [NINE]) for n in range(1, 40)]
    blocks = s.listing(rows)
    shown = message_text(blocks)  # within Slack's 50 blocks
    assert shown.startswith("Your digests and alerts")
    assert "15 more not shown; remove some to see them." in shown


def test_an_empty_list_and_home_say_how_to_add_one():
    assert "Add one with `/ops digest add all daily 09:00`" in message_text(s.listing([]))
    assert "None yet: `/ops digest add all daily 09:00`." in message_text(s.home_section([]))
    many = s.home_section([(digest(id=n), []) for n in range(25)])
    assert "5 more: `/ops digest list`." in message_text(many)
