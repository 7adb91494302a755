"""The command registry: each family (/ops, /dss, ...) declares its subcommands here, and one
listener per slash command acks, parses, shows that work has started, dispatches, and turns
every error into a short reply (`guarded`).

The listener acks and returns at once; the work runs in a task of our own
(`services.background`), so the HTTP 200 does not wait on Bolt's 10 ms poll for the ack.
"Working on …" is posted only when the answer is not ready after `working_grace` seconds
(`WorkingNote`): a quick command costs one post, a slow one shows the note, then its answer.

    dss = CommandFamily("dss", "Dataiku DSS")

    @dss.command("futures", "running long tasks, with Abort buttons", args=[Keyword("all")])
    async def futures(inv: Invocation) -> None:
        everyone = inv.a.flag("all")
        ...
        await inv.reply(blocks=..., text=...)

`/ops dss futures` routes to the same handler as `/dss futures`. Arguments are declared with
the subcommand and parsed before its handler runs (bot.arguments); words that do not fit are
answered with what is wrong and the usage. Help and usage come from the registry, so they never
drift from what is registered or parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import shlex
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import arguments, errors, messages
from bot import help as help_topics
from bot.arguments import Arg, Parsed
from bot.blocks import common as b

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

SHARE_WORDS = {"share", "in_channel"}
# Slack caps a command's text at a few thousand characters; anything longer is refused before
# parsing (shlex slows down sharply with length and runs on the event loop).
MAX_TEXT = 4000
# Set on a listener that acks first and hands its work to a task of its own: bot.app runs it
# inline, so its ack leaves when it returns (see bot.app.AckFirstRunner).
ACKS_AT_ONCE = "switchboard_acks_at_once"


class WorkingNote:
    """The "Working on …" note of one command, posted only if the answer is not ready after
    `grace` seconds. `settle()` runs before every other post of the command: a note not yet
    posted is called off; one being posted is waited for, so the answer replaces it and never
    lands before it."""

    def __init__(self, respond: AsyncRespond, text: str, grace: float) -> None:
        self._respond = respond
        self._text = text
        self._grace = grace
        self._task: asyncio.Task[None] | None = None
        self.posting = False  # the note is (being) posted: the answer should replace it

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._later())

    async def _later(self) -> None:
        if self._grace > 0:
            await asyncio.sleep(self._grace)
        self.posting = True
        await self._respond(text=self._text, response_type="ephemeral")

    async def settle(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if not self.posting:
            task.cancel()  # still in its grace: nothing was sent, nothing will be
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class Invocation:
    """One slash command, parsed. Handlers reply through `reply` (it replaces the
    "working…" message, or posts in the channel when the person asked to share). Every post
    through `respond` waits for the working note to settle first."""

    services: Services
    user_id: str
    channel_id: str
    command: str  # "/dss futures" as typed, for messages
    args: list[str]
    trigger_id: str
    direct: AsyncRespond  # the response_url itself; handlers use `respond`
    client: AsyncWebClient
    response_url: str = ""
    share: bool = False
    body: dict[str, Any] = field(default_factory=dict)
    note: WorkingNote | None = None
    a: Parsed = field(default_factory=Parsed)  # the declared arguments, parsed (bot.arguments)
    family: str = ""  # the family's key ("dss"), set when the subcommand is found

    @property
    def working_shown(self) -> bool:
        """Whether the person sees (or is about to see) the "Working on …" note."""
        return self.note is not None and self.note.posting

    async def respond(self, **kwargs: Any) -> None:
        if self.note is not None:
            await self.note.settle()
        await self.direct(**kwargs)

    def show_working(self) -> None:
        """Post "Working on …" unless the answer comes within the grace."""
        grace = self.services.settings.working_grace
        self.note = WorkingNote(self.direct, messages.WORKING.format(command=self.command), grace)
        self.note.start()

    async def reply(self, *, text: str, blocks: list[b.Block] | None = None) -> None:
        if self.share:
            if self.working_shown:
                await self.respond(delete_original=True)
            await self.respond(text=text, blocks=blocks, response_type="in_channel")
            return
        await self.respond(
            text=text, blocks=blocks, response_type="ephemeral", replace_original=self.working_shown
        )


Handler = Callable[[Invocation], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str  # derived from `forms` (bot.arguments.usage), e.g. "future <id> [watch]"
    summary: str
    handler: Handler
    # Quick subcommands (open a modal, answer from local state) show no "working…" message.
    quick: bool = False
    forms: tuple[arguments.Form, ...] = ((),)  # the declared arguments (bot.arguments)

    def parse(self, args: list[str]) -> Parsed:
        """The declared arguments' values; ArgError says what does not fit."""
        return arguments.parse(self.forms, args)


class CommandFamily:
    def __init__(self, key: str, title: str) -> None:
        self.key = key
        self.title = title
        self.subcommands: dict[str, Subcommand] = {}
        self.aliases: dict[str, str] = {}

    def command(
        self,
        name: str,
        summary: str,
        *,
        args: Sequence[Arg] | None = None,
        forms: Sequence[Sequence[Arg]] | None = None,
        quick: bool = False,
        aliases: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Register a subcommand with its arguments: `args=[...]` (one shape; none: it takes
        no argument) or `forms=[[...], [...]]` (several). Its usage line is derived from them
        (bot.arguments), so help and the parser never disagree."""
        declared = arguments.as_forms(args, forms)
        usage = f"{name} {arguments.usage(declared)}".strip()

        def register(fn: Handler) -> Handler:
            self.subcommands[name] = Subcommand(name, usage, summary, fn, quick, declared)
            for alias in aliases:
                self.aliases[alias] = name
            return fn

        return register

    def find(self, word: str) -> Subcommand | None:
        word = word.lower()
        return self.subcommands.get(self.aliases.get(word, word))

    def usage_lines(self, slash: str) -> list[str]:
        """One mrkdwn line per subcommand: the usage as code, then its summary as text (a
        summary may hold code spans of its own, so it is never inside the usage's)."""
        return [usage_line(slash, s) for s in self.subcommands.values()]

    def usage_blocks(self, slash: str, intro: str = "") -> list[b.Block]:
        head = [b.section(intro)] if intro else []
        return [*head, b.section(f"*{self.title}*\n" + "\n".join(self.usage_lines(slash)))]


def usage_line(slash: str, sub: Subcommand) -> str:
    return f"`{slash} {sub.usage}`  {sub.summary}"


def usage_reply(
    slash: str,
    sub: Subcommand,
    family_key: str,
    typed: str,
    platforms: dict[str, list[str]] | None,
    reason: str,
) -> str:
    """What a person sees after arguments that do not fit: what is wrong (the parser's
    reason), the usage, its forms, examples."""
    topic = help_topics.topic(family_key, sub.name, platforms)
    typed = b.escape(typed)[:80].replace("`", "'")
    lines = [
        messages.USAGE_WRONG.format(typed=typed, reason=b.escape(reason)),
        usage_line(slash, sub),
    ]
    lines += [f"• {form}" for form in topic.forms]
    if topic.examples:
        lines.append("For example: " + ", ".join(f"`{slash} {e}`" for e in topic.examples[:3]))
    return "\n".join(lines)


def split_args(text: str) -> list[str]:
    if len(text) > MAX_TEXT:
        raise errors.UserError(
            f"That command is too long ({len(text):,} characters; at most "
            f"{MAX_TEXT:,}). Say it in fewer words."
        )
    try:
        return shlex.split(text)
    except ValueError:
        raise errors.UserError(messages.BAD_QUOTES) from None


async def guarded(
    respond: Callable[..., Awaitable[Any]],
    work: Awaitable[None],
    *,
    replace: bool | Callable[[], bool] = True,
) -> None:
    """Run `work`; any error becomes one short ephemeral reply. The only place this happens
    for commands, buttons and modals, so a stack trace never reaches Slack.

    `replace` says whether the reply replaces the message the person is looking at (the
    "working…" note, or the card whose button they clicked); a callable is asked at the end.
    """
    try:
        await work
    except errors.BotError as error:
        text = messages.for_error(error)
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("unhandled error (ref %s)", ref)
        text = messages.INTERNAL_ERROR.format(ref=ref)
    else:
        return
    replace_original = replace() if callable(replace) else replace
    await respond(text=text, response_type="ephemeral", replace_original=replace_original)


async def run_family(family: CommandFamily, inv: Invocation, slash: str) -> None:
    """Dispatch the first word of `inv.args` to its subcommand, or answer with usage."""
    if (
        family.key in inv.services.platforms.descriptors
        and family.key not in inv.services.platforms
    ):
        raise errors.UserError(
            messages.NOT_CONFIGURED.format(
                title=family.title,
                key=family.key,
                platforms=", ".join(f"`{k}`" for k in inv.services.platforms) or "none yet",
            )
        )
    if inv.args and inv.args[-1].lower() in SHARE_WORDS:
        inv.args = inv.args[:-1]
        inv.share = True
    word = inv.args[0] if inv.args else ""
    sub = family.find(word) if word else None
    if sub is None and word.lower() in ("", "help", "?"):
        intro = f"Here is what `{slash}` can do:"
        await inv.respond(
            text=intro, blocks=family.usage_blocks(slash, intro), response_type="ephemeral"
        )
        return
    if sub is None:
        names = list(family.subcommands) + list(family.aliases)
        close = difflib.get_close_matches(word.lower(), names, n=1)
        hint = messages.DID_YOU_MEAN.format(suggestion=f"{slash} {close[0]}") if close else ""
        intro = messages.UNKNOWN_SUBCOMMAND.format(word=b.escape(word), hint=hint, command=slash)
        await inv.respond(
            text=intro, blocks=family.usage_blocks(slash, intro), response_type="ephemeral"
        )
        return
    inv.args = inv.args[1:]
    inv.command = f"{slash} {sub.name}"
    inv.family = family.key
    try:
        inv.a = sub.parse(inv.args)
    except arguments.ArgError as wrong:
        raise errors.UserError(
            usage_reply(
                slash,
                sub,
                family.key,
                " ".join([inv.command, *inv.args]),
                help_topics.configured(inv.services),
                wrong.reason,
            ),
            markup=True,
        ) from None
    if not sub.quick:
        inv.show_working()
    try:
        await sub.handler(inv)
    finally:
        if inv.note is not None:
            await inv.note.settle()  # a handler that sent nothing: no late note either


def make_listener(
    family: CommandFamily,
    slash: str,
    route: Callable[[Invocation], tuple[CommandFamily, str] | None] | None = None,
) -> Callable[..., Awaitable[None]]:
    """The Bolt listener for one slash command. `route` lets /ops hand `/ops dss ...` on."""

    async def listener(
        ack: Any, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, context: Any
    ) -> None:
        await ack()  # the HTTP 200 leaves when this listener returns: at once
        services = context["services"]
        if not body.get("user_id"):
            log.warning("a signed %s command without user_id was ignored", slash)
            return
        if body.get("response_url"):
            respond = services.responder.to(body["response_url"])
        inv = Invocation(
            services=services,
            user_id=body["user_id"],
            channel_id=body.get("channel_id", ""),
            command=slash,
            args=[],
            trigger_id=body.get("trigger_id", ""),
            direct=respond,
            client=client,
            response_url=body.get("response_url", ""),
            body=body,
        )

        async def work() -> None:
            inv.args = split_args(body.get("text", ""))
            target = route(inv) if route else None
            if target is not None:
                other, other_slash = target
                inv.args = inv.args[1:]
                await run_family(other, inv, other_slash)
            else:
                await run_family(family, inv, slash)

        services.background.spawn(guarded(inv.respond, work(), replace=lambda: inv.working_shown))

    listener.__name__ = f"on_{family.key}_command"
    setattr(listener, ACKS_AT_ONCE, True)
    return listener
