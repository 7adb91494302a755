"""A digest section too long for its share is cut between approval cards, never inside one."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.approvals import tag_card
from bot.blocks import common as b
from bot.digests.base import Section
from bot.digests.compose import render


def card(n: int) -> list[dict]:
    return tag_card(
        f"astakos:p:commission:{n}",
        [
            b.section(f"Commission {n}"),
            b.context("2 provisions"),
            b.context("issued today"),
            b.actions(b.button("Accept", "accept", str(n))),
        ],
    )


def test_a_long_section_keeps_whole_cards_only_and_lists_only_those():
    cards = [block for n in range(40) for block in card(n)]
    sections = [
        Section(
            "astakos",
            "Synnefo Astakos (p)",
            cards,
            empty=False,
            approvals=[f"astakos:p:commission:{n}" for n in range(40)],
        ),
        Section("dss", "Dataiku DSS (d)", [b.section("3 running")], empty=False),
    ]
    digest = render(sections, heading="Digest", now=datetime(2026, 11, 23, tzinfo=UTC))
    assert len(digest.blocks) <= 50
    ids = [str(x.get("block_id", "")) for x in digest.blocks]
    shown = {i.rsplit("|", 1)[0] for i in ids if i.startswith("appr|")}
    for prefix in shown:  # every card shown has both its text and its buttons
        assert sum(1 for i in ids if i.startswith(prefix + "|")) == 4, prefix
    assert sorted(digest.approvals) == sorted(p.removeprefix("appr|") for p in shown)
    assert any("not shown" in str(x) for x in digest.blocks)
    assert "3 running" in str(digest.blocks)  # the other section is still there
