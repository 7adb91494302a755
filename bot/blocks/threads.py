"""An alert's thread (bot/alert_threads.py): the state line its parent carries, updated in
place as facts arrive, and the reply telling that the subject is gone."""

from __future__ import annotations

from datetime import datetime

from bot.blocks import common as b
from bot.blocks.time import slack_date

# The parent's state line: found by this id to be replaced, whatever else the message holds
# (an approval card re-drawn by a click, controls another part appends).
STATE_BLOCK = "alert_state"


def state_line(state: str, at: datetime) -> b.Block:
    block = b.context(f"State: *{b.escape(state)}* · since {slack_date(at)}")
    block["block_id"] = STATE_BLOCK
    return block


def with_state(blocks: list[b.Block], state: str, at: datetime) -> list[b.Block]:
    """The blocks with their state line showing `state` (added after the first section-like
    blocks when there was none, i.e. at the end)."""
    line = state_line(state, at)
    out = [line if block.get("block_id") == STATE_BLOCK else block for block in blocks]
    return out if line in out else [*blocks, line]


def gone_reply(words: str, parent_text: str, at: datetime) -> tuple[str, list[b.Block]]:
    """A subject the source no longer returns: the source's words for it ("cleared")."""
    said = words[:1].upper() + words[1:]
    text = f"{said}: {b.clip(parent_text, 300)}"
    return text, [b.section(f"*{b.escape(said)}* · {slack_date(at)}")]
