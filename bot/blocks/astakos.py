"""Block Kit for /astakos: whoami, quotas, commissions, projects, members, whois, and the
approval cards (commissions, project applications, membership requests).

A card is drawn from the approval row alone (`card(approval)`), for every state, so that every
copy of it (an ephemeral list, a channel post) can be re-drawn in place after a click.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bot.approval_kinds import NO_FIGURES, ApprovalRef, Verb, stored_figures
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
from bot.blocks.approvals import seen_key
from bot.blocks.time import slack_date
from bot.interactions import ref
from bot.platforms.astakos.models import (
    PRETTY_RESOURCES,
    Membership,
    Project,
    Quota,
    UserInfo,
    amount,
)

ACT = "astakos_act"  # Accept / Approve: runs at once (after the confirm dialog)
ASK_REASON = "astakos_ask_reason"  # Reject / Deny: opens the reason modal first
RESOLVE_ALL = "astakos_resolve_all"
RESOLVE_BLOCK = "astakos_resolve_all"
# The flow records this result when the platform call was interrupted or refused before
# anything changed (bot.approval_flow): the card is drawn as pending again.
INTERRUPTED = "interrupted"

WRONG_TOKEN = (
    "`{command}` needs an Astakos *{needs} token*{why}, and the token you linked "
    "on {instance} ({account}) is a {has} token. Link a {needs} token beside it with "
    "`/ops link astakos {instance}{role}`: both are kept, and each command uses the one it needs."
)
WHY = {"service": " (a component's token, e.g. Cyclades')", "user": " (your own API token)"}
CANT_POST = (
    "I could not post in this channel ({error}). Invite me with `/invite` and try "
    "again, or leave out `share`."
)
POSTED = "Posted {what} in <#{channel}>; clicks on any copy update every copy."
RESOLVE_QUORUM = (
    "Your operators require {required} approvers for each commission, so Resolve all cannot "
    "accept them at once: approve each card (the last approver's click accepts it)."
)
RESOLVE_NOTHING = "Nothing left to resolve: every commission shown was already handled."


@dataclass(frozen=True)
class Kind:
    """The words of one kind of approval: a direct decision and one that asks for a reason
    (the kind itself is declared in bot/platforms/astakos/kinds.py)."""

    label: str
    direct: str
    direct_verb: str
    direct_button: str
    reasoned: str
    reasoned_verb: str
    reasoned_button: str

    @property
    def verbs(self) -> tuple[Verb, Verb]:
        return (
            Verb(self.direct, self.direct_button, self.direct_verb, ACT),
            Verb(
                self.reasoned, self.reasoned_button, self.reasoned_verb, ASK_REASON, reason="Reason"
            ),
        )

    @property
    def buttons(self) -> str:
        """Its buttons, as a wrong token's refusal names them ("Accept / Reject")."""
        return f"{self.direct_button} / {self.reasoned_button}"


KINDS = {
    "commission": Kind(
        "commission", "accept", "accepted", "Accept", "reject", "rejected", "Reject"
    ),
    "application": Kind("application", "approve", "approved", "Approve", "deny", "denied", "Deny"),
    "membership": Kind(
        "membership request", "accept", "accepted", "Accept", "reject", "rejected", "Reject"
    ),
}


class ResolveRef(BaseModel):
    instance: str
    serials: list[int]
    view: str = ""


class ProvisionLine(BaseModel):
    holder: str
    source: str = ""
    resource: str
    quantity: int


class CommissionPayload(BaseModel):
    serial: int
    name: str = ""
    issued: str = ""
    provisions: list[ProvisionLine] = Field(default_factory=list)
    # The card's "Open in Astakos" page (bot.blocks.open_in), kept when the approval is
    # registered: a card is drawn again after a click with no instance settings at hand.
    open_url: str = ""
    # The user the commission is for (its first user holder, in words): maker-checker.
    requester: str = ""


class ApplicationPayload(BaseModel):
    project_id: str
    project: str
    app_id: int
    applicant: str = ""
    comments: str = ""
    new_project: bool = False
    end_date: str = ""
    resources: list[str] = Field(default_factory=list)
    open_url: str = ""


class MembershipPayload(BaseModel):
    membership_id: int
    project_id: str
    project: str
    user: str
    state: str
    since: str = ""
    open_url: str = ""


# -- small helpers -------------------------------------------------------------------------


def pretty(resource: str) -> str:
    return PRETTY_RESOURCES.get(resource, resource)


def signed(resource: str, quantity: int) -> str:
    sign = "+" if quantity >= 0 else "−"
    return f"{sign}{amount(resource, abs(quantity))} {pretty(resource)}"


def short_id(uuid: str) -> str:
    return uuid if len(uuid) <= 14 else f"{uuid[:8]}…{uuid[-4:]}"


def _date(iso: str) -> str:
    if not iso:
        return "—"
    try:
        return slack_date(datetime.fromisoformat(iso))
    except ValueError:
        return b.escape(iso)


def wrong_token(command: str, needs: str, instance: str, account: str) -> str:
    has = "user" if needs == "service" else "service"
    return WRONG_TOKEN.format(
        command=command,
        needs=needs,
        why=WHY[needs],
        instance=instance,
        account=b.escape(account),
        has=has,
        role=" service" if needs == "service" else "",
    )


# -- whoami, whois -------------------------------------------------------------------------


def whoami(instance: str, info: UserInfo) -> list[b.Block]:
    services = sorted({f"{e.service} {e.version}".strip() for e in info.endpoints})
    endpoints = b.escape(", ".join(services) or "—")
    if info.kind == "service":
        return [
            b.header(f"Synnefo Astakos ({instance})"),
            b.fields("*Token*\nservice token", f"*Component*\n{b.escape(info.name)}"),
            b.context(f"Service endpoints: {endpoints}"),
            b.context(
                "A service token handles commissions (`/astakos commissions`); quotas, "
                "projects and members need a user token."
            ),
        ]
    expires = slack_date(info.expires) if info.expires else "—"
    return [
        b.header(f"Synnefo Astakos ({instance})"),
        b.fields(
            f"*User*\n{b.escape(info.name)}",
            f"*Username*\n{b.escape(info.username or '—')}",
            f"*UUID*\n`{b.escape(info.uuid or '—')}`",
            "*Token*\nuser token",
            f"*Token expires*\n{expires}",
            f"*Member of*\n{len(info.projects)} active project(s)",
        ),
        b.context(f"Service endpoints: {endpoints}"),
    ]


def whois(instance: str, found: list[tuple[str, str | None]]) -> list[b.Block]:
    lines = []
    for asked, answer in found:
        if answer is None:
            lines.append(f":grey_question: `{b.escape(asked)}`: no such user")
        else:
            lines.append(f"`{b.escape(asked)}` → `{b.escape(answer)}`")
    return [b.header(f"Who is it? ({instance})"), b.section("\n".join(lines))]


# -- quotas --------------------------------------------------------------------------------


def effective_limit(q: Quota) -> int:
    """What the member can really reach: their own limit, or what the project has left
    (`min(limit, project_limit − (project_usage − usage))`, protocol §3)."""
    if q.project_limit is None or q.project_usage is None:
        return q.limit
    return max(0, min(q.limit, q.project_limit - (q.project_usage - q.usage)))


def closeness(q: Quota) -> float:
    limit = effective_limit(q)
    if limit <= 0:
        return 1.0 if q.usage > 0 else 0.0
    return q.usage / limit


def quota_line(q: Quota, project_name: str) -> str:
    fraction = closeness(q)
    icon = (
        ":red_circle:"
        if fraction >= 1 and q.usage
        else ":large_orange_circle:"
        if fraction >= 0.8
        else ":large_green_circle:"
    )
    limit = effective_limit(q)
    extra = []
    if q.pending:
        extra.append(f"pending {amount(q.resource, q.pending)}")
    if limit < q.limit:
        extra.append(f"own limit {amount(q.resource, q.limit)}, the project has less left")
    tail = f" ({'; '.join(extra)})" if extra else ""
    return (
        f"{icon} `{b.bar(fraction)}` *{pretty(q.resource)}* · {b.escape(project_name)}\n"
        f"      {amount(q.resource, q.usage)} of {amount(q.resource, limit)} used{tail}"
    )


def nearest_first(lines: list[Quota]) -> list[Quota]:
    return sorted(
        lines, key=lambda q: (-closeness(q), -q.usage, q.project, q.resource, q.holder or "")
    )


def service_quotas(
    instance: str,
    service: str,
    members: list[Quota],
    projects: list[Quota],
    names: dict[str, str],
    scope: str = "",
) -> list[b.Block]:
    """A service's quotas: the projects' own and their members', nearest the limit first."""
    narrowed = f" ({b.escape(scope)})" if scope else ""
    head = [
        b.header(f"Quotas of {service} on {instance}"),
        b.context(
            f"Projects' and members' quotas on {b.escape(service)}'s resources"
            f"{narrowed}, nearest the limit first. Usage includes pending "
            "commissions."
        ),
    ]
    if not members and not projects:
        return [*head, b.section("No quota on this service's resources.")]
    lines = (
        [quota_line(q, f"project {short_id(q.project)}") for q in nearest_first(projects)],
        [
            quota_line(
                q,
                f"{names.get(q.holder or '', short_id(q.holder or '?'))} in {short_id(q.project)}",
            )
            for q in nearest_first(members)
        ],
    )
    items = []
    for title, group in zip(("*Projects*", "*Members*"), lines, strict=True):
        for i in range(0, len(group), 6):
            heading = f"{title}\n" if i == 0 else ""
            items.append([b.section(heading + "\n".join(group[i : i + 6]))])
    return b.fit_blocks(
        head, items, more="{left} more groups not shown. Narrow with `user=` or `project=`."
    )


def quotas(
    instance: str, lines: list[Quota], names: dict[str, str], project: str | None
) -> list[b.Block]:
    scope = f"project {project}" if project else "all your projects"
    head = [
        b.header(f"Your quotas on {instance} ({scope})"),
        b.context("Closest to the limit first. Usage includes pending commissions."),
    ]
    if not lines:
        return [*head, b.section("No quota: you are not an accepted member of any active project.")]
    ordered = sorted(lines, key=lambda q: (-closeness(q), -q.usage, q.project, q.resource))
    text = [quota_line(q, names.get(q.project, short_id(q.project))) for q in ordered]
    items = [[b.section("\n".join(text[i : i + 6]))] for i in range(0, len(text), 6)]
    return b.fit_blocks(
        head,
        items,
        more="{left} more groups not shown. Use `/astakos quotas <project>` for one project.",
    )


# -- approval cards ------------------------------------------------------------------------


def _commission_text(p: CommissionPayload, *, full: bool = False) -> str:
    name = f" · {b.escape(p.name)}" if p.name else ""
    lines = [f"*Commission {p.serial}*{name} · issued {_date(p.issued)}"]
    if full:
        for pr in p.provisions:
            source = f" from {b.escape(pr.source)}" if pr.source else ""
            lines.append(f"• {b.escape(pr.holder)}{source}: {signed(pr.resource, pr.quantity)}")
    else:
        lines += _grouped(p.provisions)
    return "\n".join(lines)


def _grouped(provisions: list[ProvisionLine]) -> list[str]:
    """One line per member holding (the project holdings mirror them); projects if none."""
    users = [p for p in provisions if p.source]
    chosen = users or provisions
    groups: dict[tuple[str, str], list[str]] = {}
    for p in chosen:
        groups.setdefault((p.holder, p.source), []).append(signed(p.resource, p.quantity))
    return [
        f"• {b.escape(holder)}{' from ' + b.escape(source) if source else ''}: {', '.join(changes)}"
        for (holder, source), changes in groups.items()
    ]


def _application_text(p: ApplicationPayload) -> str:
    what = "new project" if p.new_project else "modification"
    lines = [
        f"*{b.escape(p.project)}* · application #{p.app_id} ({what}) by "
        f"{b.escape(p.applicant or '?')}"
    ]
    if p.comments:
        lines.append(f"_{b.escape(b.clip(p.comments, 300))}_")
    if p.resources:
        lines.append("Requests: " + b.escape(", ".join(p.resources)))
    if p.end_date:
        lines.append(f"Until {_date(p.end_date)}")
    return "\n".join(lines)


def _membership_text(p: MembershipPayload) -> str:
    asks = "asks to leave" if p.state == "leave_requested" else "asks to join"
    return (
        f"*{b.escape(p.user)}* {asks} *{b.escape(p.project)}* · membership {p.membership_id}"
        f" · since {_date(p.since)}"
    )


def payload_of(approval: Approval) -> CommissionPayload | ApplicationPayload | MembershipPayload:
    """The card data of the approval's kind."""
    if approval.kind == "commission":
        return CommissionPayload.model_validate(approval.payload)
    if approval.kind == "application":
        return ApplicationPayload.model_validate(approval.payload)
    return MembershipPayload.model_validate(approval.payload)


def describe(approval: Approval, *, full: bool = False) -> str:
    if approval.kind == "commission":
        return _commission_text(CommissionPayload.model_validate(approval.payload), full=full)
    if approval.kind == "application":
        return _application_text(ApplicationPayload.model_validate(approval.payload))
    return _membership_text(MembershipPayload.model_validate(approval.payload))


def _previewed(approval: Approval, action: str) -> bool:
    """Accepting a commission shows what it changes (the kind's `preview`, kinds.py)."""
    return approval.kind == "commission" and action == KINDS[approval.kind].direct


def _confirm_text(approval: Approval, action: str) -> str:
    kind = KINDS[approval.kind]
    verb = kind.direct_button if action == kind.direct else kind.reasoned_button
    ask = " You can give a reason next." if action == kind.reasoned else ""
    question = f"{verb} this {kind.label}? It runs with your own linked token.{ask}"
    body = describe(approval).replace("*", "")
    if _previewed(approval, action):
        # What changes, in numbers, instead of the card's own lines (the dialog is cut at
        # 300 characters); the card's lines when the numbers could not be fetched.
        figures = stored_figures(approval.payload)
        if figures is not None and figures.lines:
            return f"{question}\n" + "\n".join(figures.lines)
        asked = _grouped(CommissionPayload.model_validate(approval.payload).provisions)
        return f"{question}\n{NO_FIGURES}\n" + "\n".join(asked).replace("*", "")
    return f"{question}\n{body}"


def _button(
    approval: Approval, action: str, *, view: str, arg: str, label: str | None = None
) -> dict[str, Any]:
    kind = KINDS[approval.kind]
    direct = action == kind.direct
    text = label or (kind.direct_button if direct else kind.reasoned_button)
    seen = seen_key(approval.payload) if _previewed(approval, action) else None
    value = ref(ApprovalRef(approval=approval.id, action=action, view=view, arg=arg, seen=seen))
    return b.button(
        text,
        ACT if direct else ASK_REASON,
        value,
        style="primary" if direct else "danger",
        confirm_dialog=b.confirm(
            f"{text}?", _confirm_text(approval, action), ok=text, danger=not direct
        ),
    )


def _past(approval: Approval) -> str:
    kind = KINDS[approval.kind]
    return {kind.direct: kind.direct_verb, kind.reasoned: kind.reasoned_verb}.get(
        approval.action, approval.action
    )


def card(approval: Approval, *, view: str = "", arg: str = "", full: bool = False) -> list[b.Block]:
    """The approval's card for its current state, tagged so it can be swapped in place."""
    kind = KINDS[approval.kind]
    page = payload_of(approval).open_url or None
    blocks = [b.section(describe(approval, full=full), accessory=open_in.button("Astakos", page))]
    who = f"<@{approval.actor}>" if approval.actor else "someone"
    when = when_text(approval.acted_at) if approval.acted_at else ""
    result = b.escape(approval.result)
    state = approval.state
    if state == FAILED and approval.result == INTERRUPTED:
        state = PENDING  # nothing happened on the platform: offer the buttons again
    if state == PENDING:
        if approval.actor and approval.result:
            blocks.append(b.context(f"Last attempt: {who} ({approval.action}) at {when}: {result}"))
        blocks.append(
            b.actions(
                _button(approval, kind.direct, view=view, arg=arg),
                _button(approval, kind.reasoned, view=view, arg=arg),
            )
        )
    elif state == ACTING:
        blocks.append(
            b.context(
                f":hourglass_flowing_sand: {who} is acting on this "
                f"({approval.action}) since {when}…"
            )
        )
    elif state == DONE:
        icon = ":white_check_mark:" if approval.action == kind.direct else ":no_entry_sign:"
        past = _past(approval)
        tail = f" · {result}" if approval.result and approval.result != past else ""
        blocks.append(b.context(f"{icon} *{past.capitalize()}* by {who} at {when}{tail}"))
    elif state == GONE:
        blocks.append(
            b.context(
                f":warning: {who} tried to {approval.action} at {when}; nothing changed: {result}"
            )
        )
    elif state == FAILED:
        # Still waiting on Astakos (an outage, or e.g. 413 over a limit): both actions stay.
        other = kind.reasoned if approval.action == kind.direct else kind.direct
        blocks.append(b.context(f":x: {who}'s {approval.action} at {when} failed: {result}."))
        blocks.append(
            b.actions(
                _button(
                    approval, approval.action, view=view, arg=arg, label=f"Retry {approval.action}"
                ),
                _button(approval, other, view=view, arg=arg),
            )
        )
    return tag_card(approval.id, with_status(approval, blocks))


# -- lists ---------------------------------------------------------------------------------


def resolve_all_block(instance: str, serials: list[int], view: str) -> b.Block:
    listed = ", ".join(str(s) for s in serials)
    value = ref(ResolveRef(instance=instance, serials=serials, view=view))
    return b.actions(
        b.button(
            f"Resolve all ({len(serials)})",
            RESOLVE_ALL,
            value,
            style="primary",
            confirm_dialog=b.confirm(
                "Accept them all?",
                f"Accept all {len(serials)} pending commissions ({listed}) in "
                "one call, with your own linked token? Ones already handled are skipped.",
                ok="Accept all",
                danger=False,
            ),
        ),
        block_id=RESOLVE_BLOCK,
    )


def retally_resolve_all(blocks: list[b.Block], open_ids: list[str]) -> list[b.Block]:
    """After a click elsewhere in the message: "Resolve all (n)" covers the commissions whose
    cards are still open, and goes when none is."""
    out: list[b.Block] = []
    for block in blocks:
        if block.get("block_id") != RESOLVE_BLOCK:
            out.append(block)
            continue
        try:
            old = ResolveRef.model_validate_json(block["elements"][0]["value"])
        except (KeyError, IndexError, ValueError):
            out.append(block)
            continue
        serials = [s for s in old.serials if f"astakos:{old.instance}:commission:{s}" in open_ids]
        if serials:
            out.append(resolve_all_block(old.instance, serials, old.view))
    return out


def commissions(
    instance: str, service: str, cards: list[tuple[Approval, list[b.Block]]], note: str = ""
) -> tuple[list[b.Block], list[str]]:
    """The list and the approval ids shown in it."""
    head = [
        b.header(f"Pending commissions on {instance}"),
        b.context(
            f"Issued by *{b.escape(service)}*. Accept and Reject run with your own linked token."
        ),
    ]
    if note:
        head.append(b.context(note))
    if not cards:
        return [*head, b.section(f"No commission is pending for *{b.escape(service)}*.")], []
    out = b.fit_blocks(
        head,
        [c for _, c in cards],
        tail=[b.divider()],
        more="{left} more not shown; handle these first, then list again.",
    )
    shown = [a for a, _ in cards if _shown(out, a.id)]
    open_serials = [int(a.target) for a in shown if a.state == PENDING or (a.state == FAILED)]
    if open_serials:
        out[-1] = resolve_all_block(instance, open_serials, "commissions")
    else:
        out.pop()
    return out, [a.id for a in shown]


def _shown(blocks: list[b.Block], approval: str) -> bool:
    prefix = f"appr|{approval}|"
    return any(str(x.get("block_id", "")).startswith(prefix) for x in blocks)


def commission_detail(instance: str, approval: Approval, view_card: list[b.Block]) -> list[b.Block]:
    return [b.header(f"Commission {approval.target} on {instance}"), *view_card]


def project_line(p: Project, owner: str) -> str:
    icon = {
        "active": ":large_green_circle:",
        "suspended": ":double_vertical_bar:",
        "terminated": ":black_circle:",
        "uninitialized": ":white_circle:",
    }.get(p.state, "")
    app = p.last_application
    app_text = f" · last application #{app.id} {app.state}" if app else ""
    end = f" · ends {slack_date(p.end_date)}" if p.end_date else ""
    return (
        f"{icon} *{b.escape(p.name)}* · {p.state} · owner {b.escape(owner or '—')}{end}"
        f"{app_text}\n`{p.id}`"
    )


def projects(
    instance: str, state: str | None, items: list[list[b.Block]], hidden: int, note: str = ""
) -> list[b.Block]:
    scope = f"{state} " if state else ""
    head = [
        b.header(f"Projects on {instance}"),
        b.context(
            f"The {scope}projects you own, belong to or applied for (all of them "
            "for project admins). Pending applications first."
        ),
    ]
    if note:
        head.append(b.context(note))
    if not items:
        return [*head, b.section(f"No {scope}project.")]
    tail = [b.context(f"{hidden} personal (system) project(s) not shown.")] if hidden else []
    return b.fit_blocks(
        head,
        items,
        tail=tail,
        more="{left} more not shown. Use `/astakos projects <state>` to narrow.",
    )


def grants_text(p: Project) -> str:
    lines = []
    for resource, g in sorted(p.resources.items()):
        proj = amount(resource, g.project_capacity) if g.project_capacity is not None else "—"
        member = amount(resource, g.member_capacity) if g.member_capacity is not None else "—"
        lines.append(f"• {pretty(resource)}: {proj} for the project, {member} per member")
    return "\n".join(lines) or "No resources granted."


def project_url(ui: str | None, p: Project) -> str | None:
    return open_in.page(ui, open_in.ASTAKOS_PROJECT, project=p.id)


def project_detail(
    instance: str,
    p: Project,
    owner: str,
    cards: list[b.Block],
    note: str = "",
    ui: str | None = None,
) -> list[b.Block]:
    members = (
        "unlimited"
        if (p.max_members or 0) >= 2**62 or p.max_members is None
        else str(p.max_members)
    )
    out = [
        b.header(b.clip(f"{p.name} ({instance})", 150)),
        b.fields(
            f"*State*\n{p.state}",
            f"*Owner*\n{b.escape(owner or '—')}",
            f"*Created*\n{slack_date(p.creation_date)}",
            f"*Ends*\n{slack_date(p.end_date)}",
            f"*Join / leave*\n{p.join_policy or '—'} / {p.leave_policy or '—'}",
            f"*Max members*\n{members}",
        ),
    ]
    if note:
        out.append(b.context(note))
    if p.description or p.homepage:
        out.append(b.section(f"{b.escape(p.description)}\n{b.escape(p.homepage)}".strip()))
    out.append(b.section(f"*Resources*\n{grants_text(p)}"))
    app = p.last_application
    if cards:
        out += cards
    elif app is not None:
        out.append(b.context(f"Last application #{app.id}: {app.state}"))
    out.append(b.context(f"`{p.id}` · `/astakos members {p.id}` lists the members"))
    out.extend(open_in.actions_row(open_in.button("Astakos", project_url(ui, p))))
    return out


def member_line(m: Membership, user: str) -> str:
    since = max(m.timestamps.values()) if m.timestamps else None
    return f"• {b.escape(user)} · {m.state} since {slack_date(since)}"


def members(
    instance: str, project: Project, cards: list[list[b.Block]], others: list[str], note: str = ""
) -> list[b.Block]:
    head = [b.header(b.clip(f"Members of {project.name} ({instance})", 150))]
    if note:
        head.append(b.context(note))
    if not cards and not others:
        return [*head, b.section("No membership you can see.")]
    items = list(cards)
    if cards:
        head.append(b.context(f"{len(cards)} request(s) waiting for a decision."))
    items += [[b.section("\n".join(others[i : i + 15]))] for i in range(0, len(others), 15)]
    return b.fit_blocks(head, items, more="{left} more not shown.")


def resolve_summary(done: list[Approval]) -> str:
    groups: dict[str, list[str]] = {}
    for a in done:
        label = {DONE: "accepted", GONE: "not changed", FAILED: "failed"}.get(a.state, a.state)
        groups.setdefault(label, []).append(a.target)
    return "Resolve all: " + "; ".join(f"{k} {', '.join(v)}" for k, v in groups.items()) + "."
