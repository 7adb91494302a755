"""Block Kit for the hub: links, status, audit, the link modal and the App Home tab."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from bot import errors, messages
from bot.accounts import LinkedAccount
from bot.blocks import common as b
from bot.blocks.time import slack_date
from bot.platforms.base import InstanceStatus, LinkField

LINK_CALLBACK = "link_submit"
INSTANCE_BLOCK = "instance"
INSTANCE_ACTION = "instance_select"
FIELD_ACTION = "value"
HOME_LINK = "home_link"
HOME_UNLINK = "home_unlink"


class LinkMetadata(BaseModel):
    """What the link modal carries between open and submit (never a secret; never trusted
    for identity: the submitting user always comes from the payload's `user.id`)."""

    platform: str
    instance: str | None = None
    response_url: str | None = None
    from_home: bool = False
    role: str = ""  # a second kind of link asked for (`/ops link astakos <instance> service`)
    role_words: str = ""  # what it is, in words ("service token")


class PlatformRef(BaseModel):
    """A button's value naming a platform instance (Home tab Link / Unlink), and the role of
    the link it concerns ('' the usual one)."""

    platform: str
    instance: str
    role: str = ""


def field_block_id(name: str) -> str:
    return f"field_{name}"


def link_modal(
    *,
    title: str,
    platform: str,
    instances: list[str],
    fields: list[LinkField],
    metadata: LinkMetadata,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The link form. `errors` maps a field name (or "instance") to a message shown under it."""
    errors = errors or {}
    blocks: list[b.Block] = [
        b.context(
            f"Your credential is checked with {title} before it is saved, then kept encrypted. "
            "It never appears in a channel, a log or a message."
        )
    ]
    if metadata.role_words:
        blocks.append(
            b.section(
                f"Paste a *{b.escape(metadata.role_words)}*: it is kept beside your other "
                f"{title} link on this instance, not over it."
            )
        )
    if metadata.instance is None and len(instances) > 1:
        options = [{"text": b.plain(name, 75), "value": name} for name in instances[:100]]
        blocks.append(
            {
                "type": "input",
                "block_id": INSTANCE_BLOCK,
                "label": b.plain("Instance"),
                "element": {
                    "type": "static_select",
                    "action_id": INSTANCE_ACTION,
                    "options": options,
                    "initial_option": options[0],
                },
            }
        )
        if "instance" in errors:
            blocks.append(b.context(f":warning: {errors['instance']}"))
    else:
        chosen = metadata.instance or instances[0]
        blocks.append(b.context(f"Instance: *{b.escape(chosen)}*"))
        if "instance" in errors:
            blocks.append(b.context(f":warning: {errors['instance']}"))
    for field in fields:
        if field.choices:
            options = [
                {"text": b.plain(label, 75), "value": value} for value, label in field.choices
            ]
            initial = next((o for o in options if o["value"] == field.initial), options[0])
            element: dict[str, Any] = {
                "type": "static_select",
                "action_id": FIELD_ACTION,
                "options": options,
                "initial_option": initial,
            }
        else:
            element = {"type": "plain_text_input", "action_id": FIELD_ACTION}
            if field.initial and not field.secret:
                element["initial_value"] = field.initial
        block: dict[str, Any] = {
            "type": "input",
            "block_id": field_block_id(field.name),
            "label": b.plain(field.label),
            "element": element,
            "optional": field.optional,
        }
        if field.hint:
            block["hint"] = b.plain(field.hint, 2000)
        blocks.append(block)
        if field.name in errors:
            blocks.append(b.context(f":warning: {errors[field.name]}"))
    return {
        "type": "modal",
        "callback_id": LINK_CALLBACK,
        "title": b.plain(messages.LINK_MODAL_TITLE.format(title=title), 24),
        "submit": b.plain("Link", 24),
        "close": b.plain("Cancel", 24),
        "private_metadata": metadata.model_dump_json(),
        "blocks": blocks,
    }


def notice_modal(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": b.plain(title, 24),
        "close": b.plain("Close", 24),
        "blocks": [b.section(text)],
    }


def links_message(accounts: list[LinkedAccount], titles: dict[str, str]) -> list[b.Block]:
    blocks: list[b.Block] = [b.header("Your linked accounts")]
    for acc in accounts:
        kind = f" · {acc.kind}" if acc.kind else ""
        blocks.append(
            b.section(
                f"*{titles.get(acc.platform, acc.platform)}* ({b.escape(acc.instance)})  "
                f"as *{b.escape(acc.account)}*{kind}"
            )
        )
        broken = acc.details.get("broken")
        if broken:
            blocks.append(
                b.context(
                    f":warning: *broken* since {slack_date(acc.details.get('broken_at'), '?')}: "
                    f"{b.escape(broken)}. Run `/ops link {acc.platform} {b.escape(acc.instance)}"
                    f"{' ' + acc.role if acc.role else ''}` "
                    "to link it again."
                )
            )
        else:
            blocks.append(
                b.context(
                    f"linked {slack_date(acc.linked_at)} · last verified "
                    f"{slack_date(acc.verified_at)}"
                )
            )
    return blocks[: b.MAX_MESSAGE_BLOCKS]


def status_message(
    rows: list[tuple[str, InstanceStatus]], *, version: str, extra: list[str]
) -> list[b.Block]:
    blocks: list[b.Block] = [b.header("Platform status")]
    for title, st in rows:
        if st.reachable:
            latency = f"{st.latency_ms:.0f} ms" if st.latency_ms is not None else "?"
            line = (
                f":large_green_circle: *{title}* ({b.escape(st.instance)})  {latency}"
                f"{' · version ' + b.escape(st.version) if st.version else ''}"
            )
        else:
            line = (
                f":red_circle: *{title}* ({b.escape(st.instance)})  unreachable: "
                f"{b.escape(st.detail)}"
            )
        blocks.append(b.section(line))
    if not rows:
        blocks.append(b.section(messages.NO_INSTANCES))
    blocks.append(b.context(f"Switchboard {version}", *extra))
    return blocks[: b.MAX_MESSAGE_BLOCKS]


def audit_message(rows: list[dict[str, Any]]) -> list[b.Block]:
    lines = [
        f"{slack_date(r['at'])} <@{r['user_id']}> *{b.escape(r['action'])}* "
        f"{b.escape(r['platform'])} {b.escape(r['instance'])} {b.escape(r['target'])} "
        f"→ {b.escape(r['result'])}"
        # The detail says what was decided and why (a reject's reason, a digest's schedule).
        + (f" · {b.escape(b.clip(str(r['detail']), 200))}" if r.get("detail") else "")
        for r in rows
    ]
    if not lines:
        return [b.section("The audit trail is empty.")]
    items = [[b.section("\n".join(lines[i : i + 10]))] for i in range(0, len(lines), 10)]
    return b.fit_blocks(
        [b.header(f"Last {len(rows)} changes")], items, more="{left} more groups not shown."
    )


def help_message(overview: list[tuple[str, str, list[str]]], *, topics: list[str]) -> list[b.Block]:
    """overview: (slash, title, usage lines) per family; each line is already "`usage`
    summary" (bot.commands.usage_line), so code spans never swallow the descriptions."""
    blocks: list[b.Block] = [b.header("Switchboard")]
    for slash, title, lines in overview:
        blocks.append(b.section(f"*{title}* · `{slash}`\n" + "\n".join(lines)))
    ops = overview[0][0] if overview else "/ops"
    blocks.append(
        b.context(
            f"`{ops} help <topic>` shows one with its forms and examples; topics: "
            + ", ".join(f"`{t}`" for t in topics)
            + ". Add `share` at the end of a command to post "
            f"the answer in the channel. `{ops} <platform> …` works like `/<platform> …`."
        )
    )
    return blocks


def help_topic(
    title: str, usage: list[str], forms: list[str], examples: list[str], more: str = ""
) -> list[b.Block]:
    """One topic: usage lines, the accepted forms, examples."""
    blocks: list[b.Block] = [b.header(title), b.section("*Usage*\n" + "\n".join(usage))]
    if forms:
        blocks.append(b.section("*Accepted forms*\n" + "\n".join(f"• {f}" for f in forms)))
    if examples:
        blocks.append(b.section("*Examples*\n" + "\n".join(f"`{e}`" for e in examples)))
    if more:
        blocks.append(b.context(more))
    return blocks


def home_view(
    *,
    platforms: list[tuple[str, str, list[str]]],
    accounts: list[LinkedAccount],
    extra: list[b.Block] | None = None,
    roles: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """platforms: (key, title, instance names) for every configured platform; roles: the
    second kinds of link a platform has (`Platform.link_roles`), each linked or offered."""
    linked: dict[tuple[str, str], list[LinkedAccount]] = {}
    for a in sorted(accounts, key=lambda a: a.role):
        linked.setdefault((a.platform, a.instance), []).append(a)
    blocks: list[b.Block] = [b.header("Your platforms")]
    for key, title, instances in platforms:
        for instance in instances:
            ref = PlatformRef(platform=key, instance=instance).model_dump_json()
            accs = linked.get((key, instance), [])
            if not accs:
                blocks.append(
                    b.section(
                        f"*{title}* ({b.escape(instance)})\nNot linked.",
                        accessory=b.button("Link", HOME_LINK, ref, style="primary"),
                    )
                )
                continue
            for acc in accs:
                blocks.extend(_home_account(key, title, instance, acc))
            held = {a.role for a in accs}
            for role, words in (roles or {}).get(key, {}).items():
                if role not in held:
                    other = PlatformRef(platform=key, instance=instance, role=role)
                    blocks.append(
                        b.context(f"You can also link a {b.escape(words)} on {b.escape(instance)}.")
                    )
                    blocks.append(
                        b.actions(b.button(f"Link a {words}", HOME_LINK, other.model_dump_json()))
                    )
    if not platforms:
        blocks.append(b.section(messages.NO_INSTANCES))
    blocks.extend(extra or [])
    return {"type": "home", "blocks": blocks[: b.MAX_VIEW_BLOCKS]}


def _home_account(key: str, title: str, instance: str, acc: LinkedAccount) -> list[b.Block]:
    """One linked account on the Home tab, with its Re-link and Unlink buttons."""
    ref = PlatformRef(platform=key, instance=instance, role=acc.role).model_dump_json()
    what = f"{acc.kind} " if acc.role and acc.kind else ""
    return [
        b.section(
            f"*{title}* ({b.escape(instance)})\nLinked as *{b.escape(acc.account)}*"
            f"{' · ' + acc.kind if acc.kind else ''} · since {slack_date(acc.linked_at)}"
        ),
        b.actions(
            b.button("Re-link", HOME_LINK, ref),
            b.button(
                "Unlink",
                HOME_UNLINK,
                ref,
                style="danger",
                confirm_dialog=b.confirm(
                    "Unlink?",
                    f"Delete your stored {title} ({b.escape(instance)}) {what}credential?",
                    ok="Unlink",
                ),
            ),
        ),
    ]


def parse_ref(value: str) -> PlatformRef:
    try:
        return PlatformRef.model_validate(json.loads(value))
    except ValueError:  # pydantic's ValidationError is a ValueError too
        raise errors.UserError(
            "That button is out of date. Open the Home tab again for fresh ones."
        ) from None
