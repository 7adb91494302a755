"""Block Kit for `/ops digest …` and `/ops alert …`: the add reply with the next runs, the
channel confirmation, the list with Pause / Resume / Run now / Remove (also on App Home)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from bot.blocks import common as b
from bot.blocks.time import slack_date
from bot.interactions import ref

CONFIRM = "sub_confirm"
CANCEL = "sub_cancel"
PAUSE = "sub_pause"
RESUME = "sub_resume"
RUN_NOW = "sub_run_now"
REMOVE = "sub_remove"

NOT_MEMBER = ("I'm not in <#{channel}>, so I can't post there. Invite me first: type "
              "`/invite @switchboard` in <#{channel}>, then run the command again.")


class Pending(BaseModel):
    """What Confirm saves (the clicker becomes the owner; nothing here is trusted for
    identity)."""

    kind: str
    platforms: str = ""
    source: str = ""
    instance: str = ""
    trigger: str = ""
    tz: str = "UTC"
    channel: str
    skip_empty: bool = False


class SubRef(BaseModel):
    id: int


def describe(row: dict[str, Any]) -> str:
    if row["kind"] == "alert":
        what = f"alert `{row['source']}`" + (f" @{row['instance']}" if row.get("instance") else "")
        when = row["trigger"] or "on every poll"
    else:
        what = f"digest of `{row['platforms']}`"
        when = f"`{row['trigger']}` ({row['tz']})"
    where = f"<#{row['channel']}>" if row["channel"] else "your DMs"
    skip = " · skips empty runs" if row.get("skip_empty") else ""
    return f"*#{row['id']}* {what}, {when}, to {where}{skip}"


def runs_line(runs: list[datetime]) -> str:
    if not runs:
        return "No upcoming run."
    return "Next runs: " + ", ".join(slack_date(r) for r in runs)


def added(row: dict[str, Any], runs: list[datetime]) -> list[b.Block]:
    kind = "Alert" if row["kind"] == "alert" else "Digest"
    return [b.section(f":white_check_mark: {kind} added. {describe(row)}"),
            b.context(runs_line(runs)),
            b.context(f"`/ops digest now {row['id']}` posts it at once; "
                      f"`/ops digest remove {row['id']}` stops it.")]


def confirm_channel(pending: Pending, summary: str, members: int, accounts: str) -> list[b.Block]:
    value = ref(pending)
    return [
        b.section(f":eyes: *Post {summary} to <#{pending.channel}>?*\nEveryone in "
                  f"<#{pending.channel}> ({members} member(s)) will see what *your* linked "
                  f"accounts can see: {accounts}."),
        b.actions(
            b.button("Confirm", CONFIRM, value, style="primary", confirm_dialog=b.confirm(
                "Share with the channel?", "Channel members will see what your credentials "
                "can see. Continue?", ok="Confirm", danger=False)),
            b.button("Cancel", CANCEL, value),
        ),
    ]


def item(row: dict[str, Any], runs: list[datetime]) -> list[b.Block]:
    value = ref(SubRef(id=row["id"]))
    state = ":double_vertical_bar: paused" if row["paused"] else runs_line(runs)
    last = f" · last run {row['last_run_at'][:16].replace('T', ' ')} UTC" \
        if row.get("last_run_at") else ""
    error = f"\n:warning: {b.escape(row['last_error'])}" if row.get("last_error") else ""
    toggle = (b.button("Resume", RESUME, value) if row["paused"]
              else b.button("Pause", PAUSE, value))
    return [
        b.section(f"{describe(row)}\n{state}{last}{error}"),
        b.actions(toggle, b.button("Run now", RUN_NOW, value),
                  b.button("Remove", REMOVE, value, style="danger", confirm_dialog=b.confirm(
                      "Remove?", f"Stop and delete #{row['id']}?", ok="Remove"))),
    ]


def listing(rows: list[tuple[dict[str, Any], list[datetime]]], note: str = "") -> list[b.Block]:
    head = [b.header("Your digests and alerts")]
    if note:
        head.append(b.context(note))
    if not rows:
        return head + [b.section("You have none. Add one with `/ops digest add all daily "
                                 "09:00` or `/ops alert add astakos.commissions`.")]
    return b.fit_blocks(head, [item(r, runs) for r, runs in rows],
                        more="{left} more not shown; remove some to see them.")


def home_section(rows: list[tuple[dict[str, Any], list[datetime]]]) -> list[b.Block]:
    out: list[b.Block] = [b.divider(), b.header("Your digests and alerts")]
    if not rows:
        out.append(b.context("None yet: `/ops digest add all daily 09:00`."))
        return out
    for row, runs in rows[:20]:
        out.extend(item(row, runs))
    if len(rows) > 20:
        out.append(b.context(f"{len(rows) - 20} more: `/ops digest list`."))
    return out
