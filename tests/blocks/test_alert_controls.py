"""bot/blocks/alert_controls.py: the Snooze / Mute controls on an alert message, the line
saying who silenced it, and how silences read in lists and on App Home."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks import alert_controls as c
from bot.blocks import common as b
from bot.digests.base import AlertItem
from tests.blocks.kit import buttons, message_text

DEC_1 = int(datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp())
ITEM = AlertItem(
    key="limits:risk:incident:7:open",
    text="Breach",
    blocks=[b.section("Breach on *Civic*")],
    subject="limits:risk:incident:7",
    kind="breach",
)


def test_controls_name_the_subscription_subject_and_kind_everywhere():
    blocks = c.with_controls(12, ITEM)
    body = message_text(blocks)  # Slack accepts them
    assert body.startswith("Breach on *Civic*")
    controls = blocks[-1]
    assert [e["action_id"] for e in controls["elements"]] == [
        c.SNOOZE_1H,
        c.SNOOZE_1D,
        c.SNOOZE_UNTIL,
        c.MUTE_ITEM,
        c.MUTE_KIND,
    ]
    assert [x["text"]["text"] for x in buttons(blocks)][-1] == "Mute all breaches"
    wanted = {"s": 12, "j": "limits:risk:incident:7", "k": "breach"}
    assert all(json.loads(x["value"]) == wanted for x in buttons(blocks))
    # The date picker has no value: its block's id carries the same.
    assert json.loads(c.ref_of_block(controls["block_id"])) == wanted
    assert c.ref_of_block("b3") == ""


def test_an_item_without_a_kind_or_with_a_long_subject_gets_what_fits():
    plain = AlertItem(key="k", text="t", blocks=[b.section("t")])
    labels = [x["text"]["text"] for x in buttons(c.with_controls(1, plain))]
    assert labels == ["Snooze 1 hour", "Snooze 1 day", "Mute this item"]
    assert json.loads(buttons(c.with_controls(1, plain))[0]["value"])["j"] == "k"
    long = AlertItem(key="k", text="t", blocks=[b.section("t")], subject="x" * 300, kind="run")
    blocks = c.with_controls(1, long)
    message_text(blocks)
    assert "datepicker" not in [e["type"] for e in blocks[-1]["elements"]]
    full = AlertItem(key="k", text="t", blocks=[b.section(str(i)) for i in range(50)])
    assert c.with_controls(1, full) == full.blocks  # no room: the message stays whole


def test_the_silenced_line_replaces_an_earlier_one_and_keeps_the_rest():
    blocks = c.with_controls(3, ITEM)
    once = c.with_note(blocks, c.silenced_note("U0BOB", "2026-12-01T10:00:00+00:00"))
    twice = c.with_note(once, c.silenced_note("U0ALICE", ""))
    body = message_text(twice)
    assert body.count("by <@") == 1 and "Muted by <@U0ALICE>" in body
    assert twice[:-1] == blocks
    assert f"Snoozed by <@U0BOB> until <!date^{DEC_1}^" in message_text(once)


def test_silence_lines_and_the_home_section():
    snooze = {"id": 4, "scope": "item", "target": "job:<1>", "until": "2026-12-01T10:00:00+00:00"}
    snooze |= {"by_user": "U0BOB"}
    mute = {"id": 5, "scope": "kind", "target": "status", "until": "", "by_user": "U0ALICE"}
    assert c.silence_line(snooze) == (
        f":zzz: `job:&lt;1&gt;` snoozed until <!date^{DEC_1}^{{date_short_pretty}} {{time}}|"
        "2026-12-01 10:00 UTC> by <@U0BOB>"
    )
    assert c.silence_line(mute, "limits.status") == (
        ":no_bell: all statuses from `limits.status` muted by <@U0ALICE>"
    )
    section = c.silences_section(9, [snooze, mute], "limits.status")
    message_text([section])
    [button] = buttons([section])
    assert button["text"]["text"] == "Unmute all"
    assert json.loads(button["value"]) == {"s": 9, "m": [4, 5]}
    assert buttons([c.silences_section(9, [mute], "")])[0]["text"]["text"] == "Unmute"
