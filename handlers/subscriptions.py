"""`/ops digest …` and `/ops alert …`: scheduled digests and "only what is new" alerts, on the
hub family. Saving, pausing, resuming and removing write an audit row; a subscription that
posts to a channel is only saved after its owner confirms that channel members will see what
the owner's credentials can see, and only when the bot is in that channel.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import alert_mutes, errors, filters, membership, triggers
from bot import help as help_topics
from bot.arguments import Filters, Keyword, Options, Word, Words
from bot.blocks import common as b
from bot.blocks import subscriptions as blocks
from bot.commands import Invocation
from bot.digests import compose, registry
from bot.filter_checks import check_filters, set_filters
from bot.home import publish_home
from bot.interactions import Click, on_click
from bot.services import Services
from bot.store import subscriptions as subs
from bot.subscriptions import listing_rows, manage, next_runs, owner_must_be_in
from handlers import alert_controls
from handlers.ops import family

DIGEST_USAGE = (
    "`/ops digest add <platforms|all> <when> [to #channel] [tz=Area/City] "
    "[skip-empty] [filters…]`, where <when> is " + triggers.FORMS + ". Then `/ops digest list "
    "| edit <id> <filters…|clear> | remove <id> | pause <id> | resume <id> | now <id>`. "
    + filters.HOW
)
ALERT_USAGE = (
    "`/ops alert add <source> [@instance] [every <N>m] [to #channel] [filters…]`; "
    "sources: {sources}. `/ops alert edit <id> <filters…|clear>` changes the filters; "
    "`/ops alert unmute <id> [all|<item or kind>]` lifts its snoozes and mutes."
)
EDIT_USAGE = (
    "Give the new filters: `/ops {kind} edit {id} project=SALES kind=breach`, "
    "or `/ops {kind} edit {id} clear` to show everything again. " + filters.HOW
)
# The number of a digest or alert, as `/ops digest list` shows it (`3` or `#3`).
NUMBER = Word("id", pattern=r"#?\d+", hint="give the number from `/ops digest list`, like `3`")
MANAGE = {"rm": "remove", "delete": "remove", "run": "now"}
LISTING = Keyword("list", optional=False, aliases=("ls",))
TO_CHANNEL = Word("channel", optional=True, label="#channel", after="to")
# `edit <id> <filters…>` replaces the filters; `clear` (or `none`) removes them.
EDIT = [
    Keyword("edit", optional=False),
    NUMBER,
    Keyword("clear", aliases=("none", "-")),
    Filters(),
]


def _sources_text(services: Services) -> str:
    """Every alert source of the configured platforms, one line each."""
    lines = [
        f"• `{name}`: {help_topics.ALERT_SOURCES.get(name) or _first_line(source) or name}"
        for name, source in registry.alerts(services.settings.descriptors).items()
        if name.split(".", 1)[0] in services.platforms
    ]
    return (
        "Say which source to watch: `/ops alert add <source> [@instance] [every <N>m] "
        "[to #channel]`. Sources:\n"
        + ("\n".join(lines) or "none configured here")
        + "\nFor example: `/ops alert add "
        + (
            next(
                iter(
                    n
                    for n in registry.alerts(services.settings.descriptors)
                    if n.split(".", 1)[0] in services.platforms
                ),
                "limits.breaches",
            )
        )
        + "`"
    )


def _first_line(source: object) -> str:
    """A source's own docstring, for a platform whose line is not in bot.help."""
    doc = (getattr(source, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _alert_usage(services: Services) -> str:
    names = registry.alerts(services.settings.descriptors)
    return ALERT_USAGE.format(sources=", ".join(f"`{s}`" for s in names) or "none")


@family.command(
    "digest",
    "scheduled digests of your platforms, in your DMs or a channel",
    forms=[
        [],
        [LISTING],
        [
            Keyword("add", optional=False),
            Word("platforms", label="platforms|all"),
            Words("when"),
            TO_CHANNEL,
            Keyword("skip-empty", aliases=("skip_empty", "skipempty")),
            Options(keys=("tz", "skip_empty"), label="tz=Area/City"),
            Filters(),
        ],
        EDIT,
        [Word("action", choices=("remove", "pause", "resume", "now"), aliases=MANAGE), NUMBER],
    ],
)
async def digest(inv: Invocation) -> None:
    if inv.a.flag("add"):
        await _add_digest(inv)
    elif inv.a.flag("edit"):
        await _edit(inv, subs.DIGEST)
    elif inv.a.get("action"):
        await _manage(inv, inv.a.text("action"))
    else:
        await _list(inv)


@family.command(
    "alert",
    "post only what is new: commissions, breaches, finished tasks",
    forms=[
        [],
        [LISTING],
        [
            Keyword("add", optional=False),
            Word("source", optional=True),
            Word("interval", optional=True, label="<N>m", after="every"),
            TO_CHANNEL,
            Filters(),
        ],
        EDIT,
        [Word("action", choices=("remove", "pause", "resume", "now"), aliases=MANAGE), NUMBER],
        # `unmute <id> [all|<item or kind>]`: lift the alert's snoozes and mutes.
        [
            Keyword("unmute", optional=False),
            NUMBER,
            Words("what", optional=True, label="all|item|kind"),
        ],
    ],
)
async def alert(inv: Invocation) -> None:
    if inv.a.flag("add"):
        await _add_alert(inv)
    elif inv.a.flag("edit"):
        await _edit(inv, subs.ALERT)
    elif inv.a.flag("unmute"):
        await alert_controls.unmute(inv)
    elif inv.a.get("action"):
        await _manage(inv, inv.a.text("action"))
    else:
        await _list(inv)


# -- add --------------------------------------------------------------------------------------


def _typed_filters(inv: Invocation) -> filters.Filters:
    """The filter words typed (`project=…`, `name~…`), read by the filter grammar."""
    try:
        return filters.parse(inv.a.words("filters"))
    except filters.FilterError as error:
        raise errors.UserError(str(error)) from None


async def _checked(
    inv: Invocation, pending: blocks.Pending, given: filters.Filters
) -> blocks.Pending:
    """The pending subscription with its filters, once the platforms agree they fit."""
    checked = await check_filters(inv.services, inv.user_id, pending.model_dump(), given)
    return pending.model_copy(update={"filters": checked.text()})


def _channel_key(raw: str) -> str:
    match = re.fullmatch(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>", raw)
    if match:
        return match.group(1)
    return raw if raw.startswith("#") or re.fullmatch(r"[CG][A-Z0-9]{2,}", raw) else "#" + raw


async def _channel(client: AsyncWebClient, raw: str) -> tuple[str, int]:
    """The channel id and member count, if the bot is a member; else a UserError saying
    how to invite it."""
    key = _channel_key(raw)
    try:
        info = (await client.conversations_info(channel=key))["channel"]
    except SlackApiError as error:
        if error.response.get("error") in ("channel_not_found", "not_in_channel"):
            raise errors.UserError(
                f"I can't see a channel `{raw}`. If it is private, invite me there first "
                "(`/invite @switchboard`), then name it as `#channel`."
            ) from None
        raise
    channel = info["id"]
    if not info.get("is_member"):
        raise errors.UserError(blocks.NOT_MEMBER.format(channel=channel), markup=True)
    members = info.get("num_members")
    if members is None:
        try:
            members = len((await client.conversations_members(channel=channel))["members"])
        except SlackApiError:
            members = 0
    return channel, int(members)


async def _user_tz(client: AsyncWebClient, user_id: str) -> str:
    try:
        return str((await client.users_info(user=user_id))["user"].get("tz") or "UTC")
    except SlackApiError:
        return "UTC"


def _platforms(services: Services, word: str) -> str:
    if word.lower() == "all":
        return "all"
    out = []
    for target in compose.parse_targets(word.lower()):
        if target.platform not in services.platforms:
            known = ", ".join(f"`{k}`" for k in services.platforms) or "none configured"
            raise errors.UserError(
                f"`{target.platform}` is not a configured platform. Use "
                f"`all` or a comma list of: {known}."
            )
        if target.instance is not None:
            services.platforms[target.platform].instance(target.instance)
        out.append(f"{target.platform}@{target.instance}" if target.instance else target.platform)
    if not out:
        raise errors.UserError(f"Say which platforms. {DIGEST_USAGE}")
    return ",".join(dict.fromkeys(out))


async def _add_digest(inv: Invocation) -> None:
    services = inv.services
    given = _typed_filters(inv)
    options = inv.a.options()
    skip = inv.a.flag("skip-empty") or options.get("skip_empty", "").lower() in ("1", "yes", "true")
    channel_raw = inv.a.get("channel")
    platforms = _platforms(services, inv.a.text("platforms"))
    tz = options.get("tz") or await _user_tz(inv.client, inv.user_id)
    when = triggers.parse(inv.a.words("when"), tz, anchor=services.now())
    pending = blocks.Pending(
        kind=subs.DIGEST, platforms=platforms, trigger=when.text, tz=tz, channel="", skip_empty=skip
    )
    pending = await _checked(inv, pending, given)
    await _save_or_confirm(inv, pending, channel_raw, f"digest of `{platforms}`")


async def _add_alert(inv: Invocation) -> None:
    services = inv.services
    given = _typed_filters(inv)
    # `@instance` is not an argument (it names where to look): read as typed.
    instance = next((w[1:] for w in inv.args if w.startswith("@") and len(w) > 1), "")
    channel_raw = inv.a.get("channel")
    typed = inv.a.get("source")
    if typed is None:
        await inv.reply(text="Alert sources", blocks=[b.section(_sources_text(services))])
        return
    source = typed.lower()
    if source not in registry.alerts(services.settings.descriptors):
        raise errors.UserError(f"`{typed}` is not an alert source. {_alert_usage(services)}")
    platform = source.split(".", 1)[0]
    if platform not in services.platforms:
        raise errors.UserError(f"{services.platforms.title(platform)} is not configured here.")
    if instance:
        services.platforms[platform].instance(instance)
    trigger = ""
    interval = inv.a.get("interval")
    if interval is not None:
        when = triggers.parse(["every", interval], "UTC", anchor=services.now())
        if not when.text.startswith("every"):
            raise errors.UserError("Alerts poll on an interval: `every 5m`, `every 1h`.")
        trigger = when.text
    pending = blocks.Pending(
        kind=subs.ALERT, source=source, instance=instance, trigger=trigger, tz="UTC", channel=""
    )
    pending = await _checked(inv, pending, given)
    await _save_or_confirm(inv, pending, channel_raw, f"alert `{source}`")


def _same(
    rows: list[dict[str, Any]], pending: blocks.Pending, channel: str
) -> list[dict[str, Any]]:
    """Existing subscriptions that would post exactly what `pending` would, in the same place."""
    return [
        r
        for r in rows
        if r["kind"] == pending.kind
        and (r["platforms"] or "") == (pending.platforms or "")
        and (r["source"] or "") == (pending.source or "")
        and (r["instance"] or "") == (pending.instance or "")
        and r["trigger"] == pending.trigger
        and r["tz"] == pending.tz
        and bool(r.get("skip_empty")) == pending.skip_empty
        and (r.get("filters") or "") == pending.filters
        and (r["channel"] or "") == channel
    ]


async def _save_or_confirm(
    inv: Invocation, pending: blocks.Pending, channel_raw: str | None, summary: str
) -> None:
    existing = await inv.services.store.run(subs.for_owner, inv.user_id)
    if channel_raw is None and _same(existing, pending, ""):
        await inv.reply(
            text="You already have this; add it again?",
            blocks=blocks.confirm_duplicate(pending, _same(existing, pending, "")),
        )
        return
    if channel_raw is None:
        row = await _save(inv.services, inv.user_id, pending)
        await inv.reply(
            text=f"Added #{row['id']}", blocks=blocks.added(row, next_runs(inv.services, row))
        )
        return
    channel, members = await _channel(inv.client, channel_raw)
    await owner_must_be_in(inv.client, channel, inv.user_id)
    pending = pending.model_copy(update={"channel": channel})
    if _same(existing, pending, channel):
        # Its channel was confirmed when the first one was added.
        await inv.reply(
            text="You already have this; add it again?",
            blocks=blocks.confirm_duplicate(pending, _same(existing, pending, channel)),
        )
        return
    if pending.filters:
        summary += f" (only `{b.escape(pending.filters)}`)"
    accounts = await inv.services.accounts.for_user(inv.user_id)
    wanted = {
        t.platform for t in compose.parse_targets(pending.platforms or pending.source.split(".")[0])
    }
    shown = [a for a in accounts if pending.platforms == "all" or a.platform in wanted]
    names = (
        ", ".join(
            f"{inv.services.platforms.title(a.platform)} ({b.escape(a.instance)}) as "
            f"*{b.escape(a.account)}*"
            for a in shown
        )
        or "none linked yet"
    )
    await inv.reply(
        text=f"Confirm posting {summary} to the channel",
        blocks=blocks.confirm_channel(pending, summary, members, names),
    )


async def _save(services: Services, owner: str, pending: blocks.Pending) -> dict[str, Any]:
    row = await services.store.run(
        subs.add,
        {
            "owner": owner,
            "kind": pending.kind,
            "platforms": pending.platforms,
            "source": pending.source,
            "trigger": pending.trigger,
            "tz": pending.tz,
            "channel": pending.channel,
            "skip_empty": int(pending.skip_empty),
            "instance": pending.instance,
            "filters": pending.filters,
            "created_at": services.now().isoformat(),
        },
    )
    if services.scheduler is not None:
        services.scheduler.added(row)
    target = row["platforms"] if row["kind"] == subs.DIGEST else row["source"]
    await services.audit.record(
        user_id=owner,
        action=f"{row['kind']}.add",
        target=f"#{row['id']} {target}",
        detail=f"{row['trigger']} {row['tz']} to {row['channel'] or 'DM'}"
        + (f" filtered by {row['filters']}" if row.get("filters") else ""),
    )
    return row


# -- list and manage ----------------------------------------------------------------------------


async def _list(inv: Invocation, note: str = "") -> None:
    rows = await listing_rows(inv.services, inv.user_id)
    silences = await alert_mutes.live(inv.services, [row["id"] for row, _ in rows])
    await inv.reply(
        text=f"{len(rows)} digest(s) and alert(s)", blocks=blocks.listing(rows, note, silences)
    )


async def _own(services: Services, user_id: str, raw: str) -> dict[str, Any]:
    row = await services.store.run(subs.get, int(raw.lstrip("#")))
    if row is None or row["owner"] != user_id:
        raise errors.UserError(
            f"You have no digest or alert #{raw.lstrip('#')}. `/ops digest list` shows yours."
        )
    return row


async def _edit(inv: Invocation, kind: str) -> None:
    """`/ops digest edit <id> <filters…>`: replace its filters (`clear` removes them)."""
    row = await _own(inv.services, inv.user_id, inv.a.text("id"))
    usage = EDIT_USAGE.format(kind=kind, id=row["id"])
    if inv.a.flag("clear"):
        if inv.a.words("filters"):
            raise errors.UserError(f"Give new filters or `clear`, not both. {usage}")
        given = filters.NONE
    else:
        given = _typed_filters(inv)
        if not given:
            now = f"`{b.escape(row['filters'])}`" if row.get("filters") else "no filter"
            raise errors.UserError(f"#{row['id']} has {now}. {usage}")
    note = await set_filters(inv.services, inv.user_id, row, given)
    await _list(inv, note)


async def _manage(inv: Invocation, action: str) -> None:
    row = await _own(inv.services, inv.user_id, inv.a.text("id"))
    if action == "remove":
        await inv.reply(text=f"Remove #{row['id']}?", blocks=blocks.confirm_remove(row))
        return
    note = await manage(inv.services, inv.user_id, action, row)
    if action == "now":
        await inv.reply(text=note)
        return
    await _list(inv, note)


# -- buttons ------------------------------------------------------------------------------------


async def confirm_clicked(click: Click) -> None:
    pending = click.parse(blocks.Pending)
    channel = ""
    if pending.channel:
        channel, _ = await _channel(click.client, pending.channel)
        await owner_must_be_in(click.client, channel, click.user_id)
    row = await _save(
        click.services, click.user_id, pending.model_copy(update={"channel": channel})
    )
    await click.respond(
        text=f"Added #{row['id']}",
        blocks=blocks.added(row, next_runs(click.services, row)),
        replace_original=True,
    )


async def cancel_clicked(click: Click) -> None:
    await click.respond(text="Cancelled: nothing was saved.", replace_original=True)


async def keep_clicked(click: Click) -> None:
    target = click.parse(blocks.SubRef)
    await click.respond(text=f"Kept #{target.id}: nothing was removed.", replace_original=True)


async def _after(click: Click, note: str) -> None:
    """Re-draw where the click came from: the Home tab, or the list message."""
    if (click.body.get("container") or {}).get("type") == "view" or (
        click.body.get("view") or {}
    ).get("type") == "home":
        await publish_home(click.services, click.client, click.user_id)
        if note:
            await click.client.chat_postMessage(channel=click.user_id, text=note)
        return
    rows = await listing_rows(click.services, click.user_id)
    silences = await alert_mutes.live(click.services, [row["id"] for row, _ in rows])
    await click.respond(
        text=note, blocks=blocks.listing(rows, note, silences), replace_original=True
    )


def _button(action: str) -> Callable[[Click], Awaitable[None]]:
    async def clicked(click: Click) -> None:
        target = click.parse(blocks.SubRef)
        row = await _own(click.services, click.user_id, str(target.id))
        note = await manage(click.services, click.user_id, action, row)
        await _after(click, note)

    clicked.__name__ = f"sub_{action}_clicked"
    return clicked


def register(app: AsyncApp, settings: Any = None) -> None:
    """The buttons (the commands are on the /ops family already)."""
    app.action(blocks.CONFIRM)(on_click(confirm_clicked))
    app.action(blocks.CANCEL)(on_click(cancel_clicked))
    app.action(blocks.KEEP)(on_click(keep_clicked))
    app.action(blocks.PAUSE)(on_click(_button("pause")))
    app.action(blocks.RESUME)(on_click(_button("resume")))
    app.action(blocks.RUN_NOW)(on_click(_button("now")))
    app.action(blocks.REMOVE)(on_click(_button("remove")))
    app.event("member_left_channel")(on_member_left_channel)


async def on_member_left_channel(event: dict[str, Any], context: Any) -> None:
    """Someone left a channel: what they post there with their credentials pauses."""
    user, channel = event.get("user"), event.get("channel")
    if isinstance(user, str) and isinstance(channel, str):
        await membership.member_left(context["services"], user, channel)
