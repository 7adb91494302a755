"""Block Kit for `/ops digest …` and `/ops alert …`: the add reply with the next runs, the
channel confirmation, the list with Pause / Resume / Run now / Remove (also on App Home)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from bot.blocks import common as b
from bot.blocks.alert_controls import silence_line, silences_section
from bot.blocks.time import slack_date
from bot.interactions import ref

CONFIRM = "sub_confirm"
CANCEL = "sub_cancel"
PAUSE = "sub_pause"
RESUME = "sub_resume"
RUN_NOW = "sub_run_now"
REMOVE = "sub_remove"
KEEP = "sub_keep"

NOT_MEMBER = (
    "I'm not in <#{channel}>, so I can't post there. Invite me first: type "
    "`/invite @switchboard` in <#{channel}>, then run the command again."
)


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
    filters: str = ""  # bot.filters' canonical text


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
    shown = b.escape(str(row.get("filters") or "").replace("`", "'"))
    narrowed = f" · only `{shown}`" if shown else ""
    return f"*#{row['id']}* {what}, {when}, to {where}{skip}{narrowed}"


def runs_line(runs: list[datetime]) -> str:
    if not runs:
        return "No upcoming run."
    return "Next runs: " + ", ".join(slack_date(r) for r in runs)


def added(row: dict[str, Any], runs: list[datetime]) -> list[b.Block]:
    kind = "Alert" if row["kind"] == "alert" else "Digest"
    return [
        b.section(f":white_check_mark: {kind} added. {describe(row)}"),
        b.context(runs_line(runs)),
        b.context(
            f"`/ops digest now {row['id']}` posts it at once; "
            f"`/ops digest remove {row['id']}` stops it."
        ),
    ]


def confirm_channel(pending: Pending, summary: str, members: int, accounts: str) -> list[b.Block]:
    value = ref(pending)
    return [
        b.section(
            f":eyes: *Post {summary} to <#{pending.channel}>?*\nEveryone in "
            f"<#{pending.channel}> ({members} member(s)) will see what *your* linked "
            f"accounts can see: {accounts}."
        ),
        # This message is the confirmation: no second dialog on its button.
        b.actions(
            b.button("Confirm", CONFIRM, value, style="primary"),
            b.button("Cancel", CANCEL, value),
        ),
    ]


def confirm_duplicate(pending: Pending, same: list[dict[str, Any]]) -> list[b.Block]:
    """The same digest or alert exists already: add another only if the person says so."""
    existing = "\n".join(f"• {describe(row)}" for row in same)
    return [
        b.section(
            f":warning: You already have {'this' if len(same) == 1 else 'these'}:\n"
            f"{existing}\nAdding it again would post the same thing twice."
        ),
        b.actions(
            b.button("Add anyway", CONFIRM, ref(pending)),
            b.button("Cancel", CANCEL, ref(pending), style="primary"),
        ),
    ]


def confirm_remove(row: dict[str, Any]) -> list[b.Block]:
    """`/ops digest remove <id>` asks first, as the Remove button's dialog does."""
    value = ref(SubRef(id=row["id"]))
    return [
        b.section(
            f":wastebasket: *Remove #{row['id']}?* It stops and is deleted:\n{describe(row)}"
        ),
        b.actions(
            b.button("Remove", REMOVE, value, style="danger"),
            b.button("Keep it", KEEP, value),
        ),
    ]


Silences = dict[int, list[dict[str, Any]]]  # subscription id -> its snoozes and mutes


def silences_text(row: dict[str, Any], mutes: list[dict[str, Any]]) -> str:
    """An alert's snoozes and mutes, one line each (the first ten), for the list."""
    lines = [silence_line(m, row.get("source") or "") for m in mutes[:10]]
    if len(mutes) > 10:
        lines.append(f"{len(mutes) - 10} more")
    if lines:
        lines.append(f"`/ops alert unmute {row['id']}` lifts them.")
    return "".join(f"\n{line}" for line in lines)


def item(
    row: dict[str, Any], runs: list[datetime], mutes: list[dict[str, Any]] | None = None
) -> list[b.Block]:
    value = ref(SubRef(id=row["id"]))
    state = ":double_vertical_bar: paused" if row["paused"] else runs_line(runs)
    last = f" · last run {slack_date(row['last_run_at'])}" if row.get("last_run_at") else ""
    error = f"\n:warning: {b.escape(row['last_error'])}" if row.get("last_error") else ""
    error += silences_text(row, mutes or [])
    toggle = b.button("Resume", RESUME, value) if row["paused"] else b.button("Pause", PAUSE, value)
    return [
        b.section(f"{describe(row)}\n{state}{last}{error}"),
        b.actions(
            toggle,
            b.button("Run now", RUN_NOW, value),
            b.button(
                "Remove",
                REMOVE,
                value,
                style="danger",
                confirm_dialog=b.confirm("Remove?", f"Stop and delete #{row['id']}?", ok="Remove"),
            ),
        ),
    ]


def listing(
    rows: list[tuple[dict[str, Any], list[datetime]]],
    note: str = "",
    silences: Silences | None = None,
) -> list[b.Block]:
    head = [b.header("Your digests and alerts")]
    if note:
        head.append(b.context(note))
    if not rows:
        return [
            *head,
            b.section(
                "You have none. Add one with `/ops digest add all daily "
                "09:00` or `/ops alert add astakos.commissions`."
            ),
        ]
    return b.fit_blocks(
        head,
        [item(r, runs, (silences or {}).get(r["id"])) for r, runs in rows],
        more="{left} more not shown; remove some to see them.",
    )


def home_section(
    rows: list[tuple[dict[str, Any], list[datetime]]], silences: Silences | None = None
) -> list[b.Block]:
    out: list[b.Block] = [b.divider(), b.header("Your digests and alerts")]
    if not rows:
        out.append(b.context("None yet: `/ops digest add all daily 09:00`."))
        return out
    for row, runs in rows[:20]:
        out.extend(item(row, runs))
        mutes = (silences or {}).get(row["id"])
        if mutes:  # under the alert, with its Unmute button
            out.append(silences_section(row["id"], mutes, row.get("source") or ""))
    if len(rows) > 20:
        out.append(b.context(f"{len(rows) - 20} more: `/ops digest list`."))
    return out
