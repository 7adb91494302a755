"""Block Kit for /limits: status, breaches (paged), one limit, and the approval cards of
limits waiting for a workflow decision (Approve / Reject through `bot.approvals`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.approval_kinds import FIGURES, ApprovalRef, Figures, Verb, figures_key
from bot.approvals import (
    ACTING,
    DONE,
    FAILED,
    GONE,
    PENDING,
    Approval,
    tag_card,
    when_text,
    with_status,
)
from bot.blocks import common as b
from bot.blocks import open_in
from bot.blocks.approvals import figures_lines, seen_key
from bot.blocks.time import slack_date
from bot.interactions import ref
from bot.platforms.limits import DESCRIPTOR
from bot.platforms.limits.models import (
    Breaches,
    HistoryEntry,
    Incident,
    LimitsStatus,
    LimitView,
    PendingLimit,
    TaskOutcome,
)

APPROVE = "limits_approve"
REJECT = "limits_reject"  # opens the comment modal

# One section per incident, so page N always starts at the same incident.
BREACHES_PAGE = 20

KIND_ICON = {"Breach": ":red_circle:", "Warning": ":large_orange_circle:"}
# The decisions a card offers; Reject asks for an optional comment first.
VERBS = (
    Verb("approve", "Approve", "approved", APPROVE),
    Verb("reject", "Reject", "rejected", REJECT, reason="Comment"),
)
ACTION_WORDS = {v.action: (v.button, v.past) for v in VERBS}


# -- helpers -------------------------------------------------------------------------------------
def number(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def step_label(task_key: str) -> str:
    """`firstApproval` -> "first approval" (workflow task keys are camelCase ids)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r" \1", task_key).lower() or "approval"


def location_text(location: str) -> str:
    """`[Book].[Book].[AllMember].[B-001]` -> "Book = B-001"."""
    parts = re.findall(r"\[([^\]]*)\]", location)
    if len(parts) >= 2:
        return f"{parts[0]} = {parts[-1]}"
    return location or "total"


# -- status ---------------------------------------------------------------------------------------
def status(instance: str, s: LimitsStatus) -> list[b.Block]:
    head = [
        b.header(f"Atoti Limits ({instance})"),
        b.section(
            f":large_green_circle: Up since {slack_date(s.started_at)} · "
            f"as-of date *{b.escape(s.as_of_date)}*"
        ),
    ]
    if not s.servers:
        return [*head, b.section("No Atoti server is connected, and no structure names one.")]
    connected = sum(1 for server in s.servers if server.connected)
    head.append(b.context(f"{connected} connected Atoti server(s)"))
    rows = []
    for server in s.servers:
        state = "connected" if server.connected else "not connected (named by its structures only)"
        icon = ":link:" if server.connected else ":heavy_minus_sign:"
        cubes = ", ".join(server.cubes) or "—"
        rows.append(
            [
                b.section(
                    f"{icon} *{b.escape(server.name)}* · {state}\nCubes: {b.escape(cubes)} · "
                    f"{server.structures} structure(s) · "
                    f"{server.pending_approvals} pending approval(s)"
                )
            ]
        )
    return b.fit_blocks(head, rows, more="{left} more servers not shown.")


# -- breaches -------------------------------------------------------------------------------------
def _incident_line(i: Incident) -> str:
    icon = KIND_ICON.get(i.kind, "")
    measure = f"`{b.escape(i.measure)}`" if i.measure else "the measure"
    at = f" · evaluated {slack_date(i.evaluated_at)}" if i.evaluated_at else ""
    return (
        f"{icon} *{b.escape(i.kind)}* · limit `{b.escape(i.limit_id)}` "
        f"*{b.escape(i.structure)}* · {b.escape(i.server)}\n"
        f"{measure} = {number(i.measure_value)} against a limit of {number(i.limit_value)} "
        f"({percent(i.utilization)}) · {b.escape(location_text(i.location))}\n"
        f"`{b.escape(i.incident_id)}` · {b.words(i.status) or '—'}{at}"
    )


TITLE = DESCRIPTOR.title


def breach_url(ui: str | None, i: Incident) -> str | None:
    return open_in.page(ui, open_in.LIMITS_STATUS, {"incidentIds": i.incident_id})


def breaches(instance: str, br: Breaches, *, page: int, ui: str | None = None) -> list[b.Block]:
    """One page of incidents, breaches first and worst first; the note names the next page."""
    day = br.as_of or "—"
    pages = max(1, -(-len(br.incidents) // BREACHES_PAGE))
    head = [b.header(f"Breaches and warnings on {instance}, as of {day}")]
    others = [d for d in br.as_of_dates if d != br.as_of][-5:]
    other_text = f" · other dates: {', '.join(others)}" if others else ""
    head.append(
        b.context(
            f"*{br.breach_count}* breach(es) · *{br.warning_count}* warning(s) · page {page} of "
            f"{pages}{other_text}"
        )
    )
    if not br.incidents:
        return [*head, b.section(f"No breach or warning on {day}.")]
    start = (page - 1) * BREACHES_PAGE
    items = [
        [b.section(_incident_line(i), accessory=open_in.button(TITLE, breach_url(ui, i)))]
        for i in br.incidents[start:]
    ]
    more = f"{{left}} more not shown: `/limits breaches {day} page {page + 1}`"
    return b.fit_blocks(head, items, more=more, limit=len(head) + BREACHES_PAGE + 1)


def no_incidents(instance: str) -> str:
    return f"Atoti Limits ({instance}) has no breach or warning on record."


# -- one limit ------------------------------------------------------------------------------------
def limit_view(instance: str, v: LimitView, ui: str | None = None) -> list[b.Block]:
    period = f"{v.start or '…'} → {v.end or 'open-ended'}"
    out = [
        b.header(f"Limit {v.limit_id} ({instance})"),
        b.fields(
            f"*Status*\n{b.words(v.status) or '—'}{'' if v.alive else ' (inactive)'}",
            f"*Value*\n{number(v.value)}",
            f"*Scope*\n{b.escape(v.scope)}",
            f"*Type*\n{b.escape(v.limit_type or '—')}",
            f"*In force*\n{b.escape(period)}",
            f"*Comment*\n{b.escape(v.comment or '—')}",
        ),
    ]
    s = v.structure
    if s is not None:
        warn = f" · warning at {percent(s.warning_threshold)}" if s.warning_threshold else ""
        group = f" · group {b.escape(s.group)}" if s.group else ""
        out.append(
            b.section(
                f"*Structure* {b.escape(s.name)} · {b.escape(s.server)} / {b.escape(s.cube)}\n"
                f"Measure `{b.escape(s.measure)}` · {b.escape(s.kpi_type or '?')}{warn}{group}"
            )
        )
    if v.latest is not None:
        out.append(
            b.section(
                f"*Latest evaluation* ({b.escape(v.latest.as_of)})\n" + _incident_line(v.latest)
            )
        )
    elif not v.incidents_known:
        out.append(
            b.context(
                "Its latest evaluation is unknown: the server could not list incidents just now."
            )
        )
    else:
        out.append(b.context("Not breached nor warned lately (passes are not stored)."))
    out.extend(history_blocks(v.history))
    if v.structure is not None:
        out.extend(
            open_in.actions_row(
                open_in.button(
                    TITLE,
                    open_in.page(
                        ui,
                        open_in.LIMITS_STRUCTURE,
                        {"limitIds": v.limit_id},
                        structure=v.structure.structure_id,
                    ),
                )
            )
        )
    if v.temporary:
        out.append(
            b.context(
                "Temporary limits on top of it: "
                + ", ".join(f"`{b.escape(t)}`" for t in v.temporary)
            )
        )
    if v.actions:
        step = step_label(v.actions[0].task_key)
        out.append(
            b.context(
                f":hourglass_flowing_sand: Waiting for a decision ({step}): "
                "`/limits pending` has the Approve / Reject buttons."
            )
        )
    return out


HISTORY_SHOWN = 10  # the latest steps; older ones are counted


def _when(stamp: str) -> str:
    """Limits sends local ISO times (read as UTC, as the digest does)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return b.escape(stamp or "?")
    return slack_date(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def history_blocks(history: tuple[HistoryEntry, ...] | None) -> list[b.Block]:
    """Who did what, when: the limit's workflow history, oldest first."""
    if history is None:
        return [b.context("Its workflow history is unavailable just now.")]
    if not history:
        return [b.context("No workflow history yet.")]
    lines = []
    for h in history[-HISTORY_SHOWN:]:
        step = " → ".join(b.escape(x) for x in dict.fromkeys((h.task, h.action)) if x)
        given = "".join(
            f"\n      {b.escape(name)}: _{b.escape(b.clip(value, 200))}_"
            for name, value in h.variables
        )
        lines.append(
            f"• {_when(h.timestamp)} · *{b.escape(h.user or 'system')}* · "
            f"{step or b.escape(h.activity or 'step')} · {b.escape(h.status or '—')}" + given
        )
    older = len(history) - HISTORY_SHOWN
    head = "*Workflow history*" + (
        f" (latest {HISTORY_SHOWN} of {len(history)})" if older > 0 else ""
    )
    return [b.section(head + "\n" + "\n".join(lines))]


# -- approval cards --------------------------------------------------------------------------------
def task_key(p: PendingLimit) -> str:
    """The open workflow task of a pending limit ("" when the server shows no action)."""
    return next((a.task_key for a in p.actions if a.task_key), "")


def limit_figures(status: str | None, value: float | None, proposed: float | None) -> Figures:
    """What approving changes: the limit's value before → after (a draft's new value, a new
    limit's first one, or a deletion)."""
    if "DELETION" in str(status or ""):
        return Figures((f"Limit value: {number(value)} → removed",), figures_key("delete", value))
    if proposed is not None:
        line = f"Limit value: {number(value)} → {number(proposed)}"
        return Figures((line,), figures_key("change", value, proposed))
    return Figures((f"Limit value: none in force → {number(value)}",), figures_key("new", value))


def limit_url(ui: str | None, p: PendingLimit) -> str | None:
    """The limit in its structure's page of the Limits UI, or None."""
    if not p.structure_id:
        return None
    return open_in.page(
        ui, open_in.LIMITS_STRUCTURE, {"limitIds": p.limit_id}, structure=p.structure_id
    )


def card_payload(p: PendingLimit, key: str, ui: str | None = None) -> dict[str, Any]:
    """What a card needs to draw itself later, and the task key a click must still match;
    with the instance's UI, its "Open in Atoti Limits" page (a card is drawn again after a
    click with no instance settings at hand)."""
    return {
        "open_url": limit_url(ui, p) or "",
        "limit_id": p.limit_id,
        "task_key": key,
        "status": p.status,
        "value": p.value,
        "proposed": p.proposed,
        "scope": p.scope,
        "structure": p.structure,
        "server": p.server,
        "measure": p.measure,
        "comment": p.comment,
        FIGURES: limit_figures(p.status, p.value, p.proposed).as_payload(),
        "end_date": p.end or "",
    }


def card_summary(p: PendingLimit) -> str:
    return f"Limit {p.limit_id} ({p.structure}, {p.scope}) {p.status}"


def _card_text(p: dict[str, Any], status: str | None = None) -> str:
    """`status` replaces the payload's (the state when listed) once the card is settled, so
    the card never says "pending" beside "Approved by …"."""
    deletion = "DELETION" in str(p.get("status", ""))
    what = "delete the limit" if deletion else "new or changed limit"
    comment = f"\n_{b.escape(p['comment'])}_" if p.get("comment") else ""
    proposed = f" → {number(p['proposed'])}" if p.get("proposed") is not None else ""
    return (
        f"*`{b.escape(p.get('limit_id', '?'))}`* · *{b.escape(p.get('structure', ''))}* · "
        f"{b.escape(p.get('server', ''))} · "
        f"{status if status is not None else b.words(p.get('status', ''))} "
        f"({step_label(str(p.get('task_key', '')))}: {what})\n"
        f"{b.escape(p.get('scope', ''))} · limit {number(p.get('value'))}{proposed} on "
        f"`{b.escape(p.get('measure', ''))}`{comment}"
    )


def _approve_button(a: Approval, text: str = "Approve") -> dict[str, Any]:
    p = a.payload
    limit_id = b.escape(p.get("limit_id", "?"))
    if "DELETION" in str(p.get("status", "")):
        question = f"Approve the *deletion* of limit {limit_id} on {b.escape(a.instance)}?"
    else:
        question = (
            f"Approve limit {limit_id} ({b.escape(p.get('scope', ''))}, "
            f"{number(p.get('value'))}) on {b.escape(a.instance)}?"
        )
    return b.button(
        text,
        APPROVE,
        ref(ApprovalRef(approval=a.id, seen=seen_key(p))),
        style="primary",
        confirm_dialog=b.confirm(
            "Approve this limit?",
            f"{question}\n{figures_lines(p)}\nIt runs with your own Atoti Limits account.",
            ok="Approve",
            danger=False,
        ),
    )


def _reject_button(a: Approval, text: str = "Reject") -> dict[str, Any]:
    # No confirm dialog: the button opens a modal (optional comment) whose submit confirms.
    return b.button(text, REJECT, ref(ApprovalRef(approval=a.id)), style="danger")


def card(a: Approval, *, can_act: bool = True) -> list[b.Block]:
    """The card of one approval in every state (the render of `bot.approvals.act`)."""
    _verb, past = ACTION_WORDS.get(a.action, (a.action.title(), a.action + "ed"))
    status = {DONE: f"*{past}*", GONE: "no longer pending"}.get(a.state)
    page = str(a.payload.get("open_url") or "") or None
    blocks: list[b.Block] = [
        b.section(_card_text(a.payload, status), accessory=open_in.button(TITLE, page))
    ]
    when = when_text(a.acted_at) if a.acted_at else ""
    result = f": {b.escape(a.result)}" if a.result else ""
    if a.state == PENDING:
        if can_act:
            blocks.append(b.actions(_approve_button(a), _reject_button(a)))
        else:
            blocks.append(
                b.context(
                    "Atoti Limits offers you no action on this limit "
                    "(you are not one of its approvers)."
                )
            )
    elif a.state == ACTING:
        blocks.append(
            b.context(f":hourglass_flowing_sand: <@{a.actor}> is acting on this right now.")
        )
    elif a.state == DONE:
        icon = ":white_check_mark:" if a.action == "approve" else ":x:"
        blocks.append(b.context(f"{icon} *{past.capitalize()}* by <@{a.actor}> at {when}{result}."))
    elif a.state == GONE:
        blocks.append(
            b.context(
                f":information_source: Already handled: <@{a.actor}> tried to "
                f"{a.action} at {when}{result}."
            )
        )
    elif a.state == FAILED:
        blocks.append(
            b.context(f":warning: <@{a.actor}> could not {a.action} at {when}{result}. Try again:")
        )
        retry = (
            _approve_button(a, "Retry approve")
            if a.action == "approve"
            else _reject_button(a, "Retry reject")
        )
        blocks.append(b.actions(retry))
    return tag_card(a.id, with_status(a, blocks))


def untracked_card(p: PendingLimit) -> list[b.Block]:
    """A pending limit for which the server offers no task at all: no buttons."""
    return [
        b.section(_card_text(card_payload(p, ""))),
        b.context("Atoti Limits offers you no action on this limit."),
    ]


def outcome_text(outcome: TaskOutcome, action: str) -> str:
    """The short result stored on the approval and shown on the card."""
    past = ACTION_WORDS.get(action, (action, action + "ed"))[1]
    if outcome.still_pending:
        return (
            f"{past} the {step_label(outcome.task_key)}; still pending a second approver "
            "(`/limits pending` shows the next step)"
        )
    if not outcome.status:
        return f"{past}; limit {outcome.limit_id} was removed"
    return f"{past}; limit {outcome.limit_id} is now {b.words(outcome.status)}"


def pending(
    instance: str,
    cards: list[list[b.Block]],
    *,
    acted: list[b.Block] | None = None,
    shared_by: str = "",
) -> list[b.Block]:
    head = [b.header(f"Limits waiting for approval on {instance}")]
    if shared_by:
        head.append(
            b.context(
                f"Shared by <@{shared_by}>. Buttons act with the clicker's own "
                "Atoti Limits account."
            )
        )
    if acted:
        head.extend(acted)
        if cards:
            head.append(b.divider())
    if not cards:
        if not acted:
            head.append(b.section("No limit is waiting for approval."))
        else:
            head.append(b.context("Nothing else is waiting for approval."))
        return head
    return b.fit_blocks(
        head,
        cards,
        more="{left} more not shown. Approve or reject these, then run `/limits pending` again.",
    )


def describe(a: Approval, verb: Verb) -> str:
    """What a decision on this card does, above the comment modal's input."""
    limit_id = b.escape(a.payload.get("limit_id", "?"))
    return f"{verb.button} limit *{limit_id}* on {b.escape(a.instance)}?\n" + _card_text(a.payload)
