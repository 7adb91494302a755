"""bot/blocks/common.py: the builders every family shares, escaping, enumerations in words,
and `fit_blocks` keeping a message within Slack's 50 blocks."""

from __future__ import annotations

import pytest

from bot.blocks import common as b
from tests.blocks.kit import buttons, message_text


def test_escaping_stops_mentions_links_and_reordering_and_is_idempotent():
    hostile = "<!channel> <@U0BOSS> <https://evil.example|click> a&b \u202eexe.txt"
    once = b.escape(hostile)
    assert once == (
        "&lt;!channel&gt; &lt;@U0BOSS&gt; &lt;https://evil.example|click&gt; a&amp;b exe.txt"
    )
    assert b.escape(once) == once


def test_enumerations_read_as_words():
    assert b.words("NON_RECURSIVE_FORCED_BUILD") == "forced build"
    assert b.words("NOT_STARTED") == "not started"
    assert b.words("WAITING_FOR_<X>") == "waiting for &lt;x&gt;"
    assert b.words(None) == ""


def test_a_long_list_is_cut_to_fit_with_a_note_on_what_was_left_out():
    items = [[b.section(f"item {n}"), b.divider()] for n in range(40)]
    blocks = b.fit_blocks(
        [b.header("Things")],
        items,
        more="{left} more of {total} not shown.",
        tail=[b.context("end")],
    )
    shown = message_text(blocks)  # within Slack's 50 blocks, and valid
    assert len(blocks) <= 50
    assert "item 22" in shown and "item 23" not in shown  # whole items only
    assert "17 more of 40 not shown." in shown and shown.endswith("end")


def test_buttons_with_a_confirm_dialog_are_valid_and_values_over_slacks_limit_refused():
    row = b.actions(
        b.button(
            "Remove",
            "remove",
            '{"id":1}',
            style="danger",
            confirm_dialog=b.confirm("Remove?", "Sure?"),
        ),
        b.button("Keep", "keep"),
    )
    message_text([row])
    remove, keep = buttons([row])
    assert remove["confirm"]["style"] == "danger" and "value" not in keep
    with pytest.raises(ValueError, match="2000"):
        b.button("Too much", "x", "v" * 2001)


def test_texts_are_clipped_to_what_slack_takes_and_bars_never_look_full_early():
    header = b.header("x" * 200)
    assert len(header["text"]["text"]) == 150 and header["text"]["text"].endswith("…")
    message_text([header, b.section("y" * 5000), b.fields(*["z"] * 12), b.context(*["c"] * 12)])
    assert b.bar(0.95) == "▓▓▓▓▓▓▓▓▓░ 95%"
    assert b.bar(1.3) == "▓▓▓▓▓▓▓▓▓▓ 130%"
