"""The command registry: each family (/ops, /dss, ...) declares its subcommands here, and one
listener per slash command acks, parses, shows that work has started, dispatches, and turns
every error into a short reply (`guarded`).

The listener acks and returns at once; the work runs in a task of our own
(`services.background`), so the HTTP 200 does not wait on Bolt's 10 ms poll for the ack.
"Working on …" is posted only when the answer is not ready after `working_grace` seconds
(`WorkingNote`): a quick command costs one post, a slow one shows the note, then its answer.

    dss = CommandFamily("dss", "Dataiku DSS")

    @dss.command("futures", "futures [all]", "running long tasks, with Abort buttons")
    async def futures(inv: Invocation) -> None:
        ...
        await inv.reply(blocks=..., text=...)

`/ops dss futures` routes to the same handler as `/dss futures`. Help and usage come from the
registry, so they never drift from what is registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import re
import shlex
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import arguments, errors, messages
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

    def arg(self, index: int, default: str | None = None) -> str | None:
        return self.args[index] if len(self.args) > index else default

    def options(self) -> dict[str, str]:
        """`k=v` arguments."""
        return dict(a.split("=", 1) for a in self.args if "=" in a)

    def words(self) -> list[str]:
        """Arguments that are not `k=v`."""
        return [a for a in self.args if "=" not in a]

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
    usage: str
    summary: str
    handler: Handler
    # Quick subcommands (open a modal, answer from local state) show no "working…" message.
    quick: bool = False
    # The declared arguments (bot.arguments); None while the subcommand still only has a usage
    # line, checked by `accepts`.
    forms: tuple[arguments.Form, ...] | None = None

    def parse(self, args: list[str]) -> Parsed:
        """The declared arguments' values; ArgError says what does not fit."""
        if self.forms is None:
            if not self.accepts(args):
                raise arguments.ArgError("")
            return Parsed()
        return arguments.parse(self.forms, args)

    def accepts(self, args: list[str]) -> bool:
        """Whether the arguments fit the usage line (see `usage_pattern`). `@instance` and
        (when the usage takes them) `k=v` words are the handler's to check."""
        pattern = usage_pattern(self.usage)
        if pattern is None:
            return True
        takes_options = "=" in self.usage
        words = [
            a
            for a in args
            if not (a.startswith("@") and len(a) > 1) and not (takes_options and "=" in a)
        ]
        return _match(pattern, words)


# The usage grammar: `<x>` is a required word, `[x]` optional, `[a|b]` one of them, `[page N]`
# an optional group, and groups nest (`keys [personal [user]]`). A bare word is a placeholder
# unless it is one of these keywords, which must be typed as they are (`futures [all]`,
# `future <id> [watch]`). Not checked here, the handler reads them: anything after `…` or
# `...`, alternatives at the top (`notebooks <project> | all`), free text (`<project name>`,
# `[part of a name]`).
KEYWORDS = {"all", "watch", "running", "set", "unset", "page", "none", "in", "to", "personal"}
SYNONYMS = {"running": {"live", "active"}}
_USAGE_TOKEN = re.compile(r"\[|\]|\||<[^>]*>|[^\s\[\]|]+")

# A pattern is a list of items: ("word", keyword or None), ("opt", pattern) or
# ("alt", [pattern, ...]).
Pattern = list[tuple[str, Any]]


class _Unchecked(Exception):
    pass


def usage_pattern(usage: str) -> Pattern | None:
    if "..." in usage or "…" in usage:
        return None
    tokens = _USAGE_TOKEN.findall(usage)[1:]
    try:
        pattern, rest = _parse(tokens, 0, top=True)
    except (_Unchecked, IndexError):
        return None
    return pattern if rest == len(tokens) else None


def _parse(tokens: list[str], i: int, *, top: bool = False) -> tuple[Pattern, int]:
    """A sequence up to a closing bracket; `|` splits it into alternatives."""
    branches: list[Pattern] = [[]]
    while i < len(tokens) and tokens[i] != "]":
        token = tokens[i]
        if token == "[":
            inner, i = _parse(tokens, i + 1)
            if i >= len(tokens) or tokens[i] != "]":
                raise _Unchecked
            branches[-1].append(("opt", inner))
        elif token == "|":
            if top:
                raise _Unchecked
            branches.append([])
        elif token.startswith("<"):
            if " " in token:
                raise _Unchecked
            branches[-1].append(("word", None))
        else:
            word = token.lower()
            branches[-1].append(("word", word if word in KEYWORDS else None))
        i += 1
    for branch in branches:
        if (
            not top
            and len(branch) > 1
            and all(kind == "word" and value is None for kind, value in branch)
        ):
            raise _Unchecked  # `[part of a name]`
    if len(branches) == 1:
        return branches[0], i
    return [("alt", branches)], i


def _fits(expected: str | None, word: str) -> bool:
    if expected is None:
        return True
    word = word.lower()
    return word == expected or word in SYNONYMS.get(expected, ())


def _ends(pattern: Pattern, words: list[str], j: int) -> set[int]:
    """Every position in `words` where `pattern`, started at `j`, can end."""
    positions = {j}
    for kind, value in pattern:
        after: set[int] = set()
        for at in positions:
            if kind == "word":
                if at < len(words) and _fits(value, words[at]):
                    after.add(at + 1)
            elif kind == "opt":
                after.add(at)
                after |= _ends(value, words, at)
            else:
                for branch in value:
                    after |= _ends(branch, words, at)
        positions = after
    return positions


def _match(pattern: Pattern, words: list[str]) -> bool:
    return len(words) in _ends(pattern, words, 0)


class CommandFamily:
    def __init__(self, key: str, title: str) -> None:
        self.key = key
        self.title = title
        self.subcommands: dict[str, Subcommand] = {}
        self.aliases: dict[str, str] = {}

    def command(
        self,
        name: str,
        usage_or_summary: str,
        summary: str | None = None,
        *,
        args: Sequence[Arg] | None = None,
        forms: Sequence[Sequence[Arg]] | None = None,
        quick: bool = False,
        aliases: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Register a subcommand: `command(name, summary, args=[...])` (or `forms=`), whose
        usage line is derived from the declaration; or `command(name, usage, summary)`, whose
        hand-written usage line is only checked by `accepts`."""
        declared: tuple[arguments.Form, ...] | None = None
        if args is not None or forms is not None:
            if summary is not None:
                raise TypeError("a declared subcommand takes its summary, not a usage line")
            declared = arguments.as_forms(args, forms)
            summary = usage_or_summary
            usage = f"{name} {arguments.usage(declared)}".strip()
        elif summary is None:
            raise TypeError(f"{name}: give a usage line and a summary, or declare its args")
        else:
            usage = usage_or_summary

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

    def usage_text(self, slash: str) -> str:
        return "\n".join(f"{slash} {s.usage}  {s.summary}" for s in self.subcommands.values())


def usage_line(slash: str, sub: Subcommand) -> str:
    return f"`{slash} {sub.usage}`  {sub.summary}"


def usage_reply(
    slash: str,
    sub: Subcommand,
    family_key: str,
    typed: str,
    platforms: dict[str, list[str]] | None = None,
    reason: str = "",
) -> str:
    """What a person sees after arguments that do not fit: what is wrong (when the parser
    could say), the usage, its forms, examples."""
    from bot import help as help_topics

    topic = help_topics.topic(family_key, sub.name, platforms)
    typed = b.escape(typed)[:80].replace("`", "'")
    lines = [
        messages.USAGE_WRONG.format(typed=typed, reason=b.escape(reason))
        if reason
        else messages.USAGE_MISMATCH.format(typed=typed),
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
    respond: AsyncRespond, work: Awaitable[None], *, replace: bool | Callable[[], bool] = True
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
    from bot.platforms.registry import TITLES

    if family.key in TITLES and family.key not in inv.services.platforms:
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
        from bot import help as help_topics

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
