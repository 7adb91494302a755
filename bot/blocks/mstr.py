"""Block Kit for /mstr: server status and session, whoami, projects per node, default project."""

from __future__ import annotations

from pydantic import BaseModel

from bot.blocks import common as b
from bot.blocks.time import duration
from bot.interactions import ref
from bot.platforms.mstr.models import Project, SessionStatus, UserInfo

USE_PROJECT = "mstr_project_use"

NODE_ICON = {
    "loaded": ":large_green_circle:",
    "unloaded": ":white_circle:",
    "loading": ":hourglass_flowing_sand:",
}
OTHER_NODE_ICON = ":grey_question:"


class ProjectRef(BaseModel):
    """The "Use" button of one project (re-renders the list it was on)."""

    instance: str
    id: str
    filter: str = ""


def _default_line(default: str | None) -> str:
    return f"*{b.escape(default)}*" if default else "none (`/mstr use <project>` sets one)"


def status(instance: str, st: SessionStatus, default: str | None) -> list[b.Block]:
    alive = ":large_green_circle: alive" if st.alive else ":red_circle: not confirmed"
    blocks = [
        b.header(f"Strategy One ({instance})"),
        b.fields(
            f"*I-Server version*\n{b.escape(st.iserver_version or '?')}",
            f"*Web version*\n{b.escape(st.web_version or '?')}",
            f"*Your session*\n{alive}",
            f"*Session timeout*\n{duration(st.timeout_s)} idle",
            f"*Expires in*\n{duration(st.expires_in_s)} (renewed as you use it)",
            f"*Default project*\n{_default_line(default)}",
        ),
    ]
    if st.reopened:
        blocks.append(
            b.context(
                ":information_source: I logged you in again to answer (your "
                "previous session had ended, or this is your first command "
                "since the bot started)."
            )
        )
    return blocks


def linked_with(login_mode: str, kept: str) -> str:
    """Which login was used and which credential the bot keeps, in words."""
    mode = f"{login_mode[:1].upper()}{login_mode[1:]}" if login_mode else "?"
    if login_mode == "API token":
        return "API token login; I keep your API token"
    if kept == "password":
        return (
            f"{b.escape(mode)} login; I keep your password, encrypted (this server "
            "issues no API tokens)"
        )
    return (
        f"{b.escape(mode)} login; I keep an API token instead of your password, which is not stored"
    )


def whoami(
    instance: str, info: UserInfo, *, login_mode: str, kept: str, default: str | None
) -> list[b.Block]:
    return [
        b.header(f"Strategy One ({instance})"),
        b.fields(
            f"*Name*\n{b.escape(info.full_name or '—')}",
            f"*Username*\n{b.escape(info.username or '—')}",
            f"*User id*\n`{b.escape(info.id)}`",
            f"*Initials*\n{b.escape(info.initials or '—')}",
            f"*Linked with*\n{linked_with(login_mode, kept)}",
            f"*Default project*\n{_default_line(default)}",
        ),
    ]


def _node_line(project: Project) -> str:
    if not project.nodes:
        return (
            ":large_green_circle: loaded for you" if project.loaded else ":white_circle: not loaded"
        )
    return " · ".join(
        f"{NODE_ICON.get(n.status, OTHER_NODE_ICON)} {b.escape(n.name)}: "
        f"{b.escape(n.status or '?')}"
        for n in project.nodes
    )


def project_item(
    instance: str, project: Project, *, default_id: str | None, filter_: str
) -> list[b.Block]:
    is_default = project.id == default_id
    star = " :star: _your default_" if is_default else ""
    alias = f" ({b.escape(project.alias)})" if project.alias else ""
    text = (
        f"*{b.escape(project.name)}*{alias}{star}\n{_node_line(project)}\n"
        f"`{b.escape(project.id)}`"
        + (f" · {b.escape(b.clip(project.description, 120))}" if project.description else "")
    )
    accessory = None
    if project.loaded and not is_default:
        accessory = b.button(
            "Use as default",
            USE_PROJECT,
            ref(ProjectRef(instance=instance, id=project.id, filter=filter_[:200])),
        )
    return [b.section(text, accessory=accessory)]


def projects(
    instance: str,
    items: list[Project],
    *,
    default_id: str | None,
    filter_: str = "",
    note: str = "",
) -> list[b.Block]:
    where = f" matching “{b.escape(filter_)}”" if filter_ else ""
    head = [b.header(f"Projects on {instance}")]
    if filter_:
        head.append(b.context(f"Only projects{where}."))
    if note:
        head.append(b.context(note))
    if items and not any(p.nodes for p in items):
        head.append(
            b.context(
                "Per-node status needs the project monitor privilege; these are "
                "the projects loaded for you."
            )
        )
    if not items:
        return [*head, b.section(f"No project{where}.")]
    ordered = sorted(items, key=lambda p: (p.id != default_id, p.name.casefold()))
    rows = [project_item(instance, p, default_id=default_id, filter_=filter_) for p in ordered]
    return b.fit_blocks(
        head,
        rows,
        more="{left} more projects not shown. Narrow the list with "
        "`/mstr projects <part of a name>`.",
    )


def use_current(instance: str, default: str | None) -> str:
    if not default:
        return (
            f"You have no default project on Strategy One ({instance}). Set one with "
            "`/mstr use <project>`; `/mstr projects` lists them."
        )
    return (
        f"Your default project on Strategy One ({instance}) is *{b.escape(default)}*. "
        "`/mstr use none` clears it."
    )


def use_set(instance: str, project: Project) -> str:
    return (
        f":white_check_mark: Your default project on Strategy One ({instance}) is now "
        f"*{b.escape(project.name)}* (`{project.id}`). Your commands send it as the "
        "project."
    )


def use_cleared(instance: str, had: str | None) -> str:
    if not had:
        return f"You had no default project on Strategy One ({instance}); nothing to clear."
    return f"Cleared your default project on Strategy One ({instance}) (it was *{b.escape(had)}*)."


def no_such_project(instance: str, wanted: str, close: list[str]) -> str:
    hint = (
        "Close names: " + ", ".join(f"*{b.escape(n)}*" for n in close) + "."
        if close
        else "`/mstr projects` lists them."
    )
    return (
        f"No project loaded for you on Strategy One ({instance}) is called "
        f"`{b.escape(wanted)}`. {hint} Give the exact name or id, like "
        '`/mstr use "Sales Analytics"`.'
    )


def ambiguous_project(instance: str, wanted: str, names: list[str]) -> str:
    return (
        f"More than one project on Strategy One ({instance}) matches `{b.escape(wanted)}`: "
        + ", ".join(f"*{b.escape(n)}*" for n in names)
        + ". Give its exact name or id (ids are in `/mstr projects`)."
    )


def default_refused(instance: str, project: str, detail: str) -> str:
    return (
        f"Strategy One ({instance}) refused your default project *{b.escape(project)}*: "
        f"{b.escape(detail)}. Pick another with `/mstr use <project>`, or clear it with "
        "`/mstr use none`."
    )
