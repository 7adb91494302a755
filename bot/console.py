"""The console: type slash commands, see what Slack would show, answer buttons and modals.

Everything goes through the same path as Slack: a local Slack emulator issues response_urls
and trigger_ids and records what the bot posts; commands, clicks and modal submissions reach
the bot as Slack-signed HTTP requests. `switchboard demo` adds the platform emulators and
links demo accounts first.

At the prompt:
    /dss futures                 any slash command
    click 3                      press button 3 (confirm dialogs are shown and asked)
    submit api_key=... [k=v]     submit the open modal (field names as the form shows them;
                                 interactive mode asks field by field when you give none)
    as bob                       act as another demo user (alice, bob, carol); what reached
                                 you meanwhile is shown when you come back
    home                         open the App Home tab
    help, quit

`click N` refers to the buttons of the latest output.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import secrets
import shlex
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from bot.config import Settings
from bot.demo import DEMO_LINKS, DemoPlatforms, demo_settings_values
from bot.server import BotServer
from bot.textview import Control, Field, Renderer, display_name, fields_of, looks_secret
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver

# The console waits until the bot has been quiet this long before printing what changed.
SETTLE_SECONDS = 0.4
MAX_WAIT_SECONDS = 20.0
HELP = __doc__.split("At the prompt:\n", 1)[1]


_USER_ID = re.compile(r"@([UW][A-Z0-9]{2,})\b")


class ConsoleError(Exception):
    """A mistake at the prompt: printed as one line, and the prompt stays."""


def find_field(fields: list[Field], name: str) -> Field | None:
    """A field by the name the form shows (`api_key`), its block id (`field_api_key`) or
    its label (`API key`), case-insensitively."""
    wanted = name.strip().lower().replace(" ", "_").replace("-", "_")
    for field in fields:
        names = {
            field.name.lower(),
            field.block_id.lower(),
            field.label.lower().replace(" ", "_").replace("-", "_"),
        }
        if wanted in names:
            return field
    return None


def example_submit(fields: list[Field]) -> str:
    return "`submit " + " ".join(f"{f.name}=…" for f in fields) + "`"


class Console:
    def __init__(
        self,
        slack: SlackEmulator,
        driver: SlackDriver,
        *,
        out: TextIO,
        interactive: bool,
        user: str = "alice",
        chart_dir: Path | None = None,
    ) -> None:
        self.slack = slack
        # Where uploaded charts are saved so the person can open them (made on first use).
        self.chart_dir = chart_dir
        self.driver = driver
        self.out = out
        self.interactive = interactive
        self.user = user
        self.seq = slack.last_seq
        self.start_seq = self.seq
        # Where each person stopped reading: switching with `as bob` and back shows alice
        # what reached her meanwhile (DMs, updated cards).
        self.seqs: dict[str, int] = {}
        self.controls: dict[int, Control] = {}

    @property
    def user_id(self) -> str:
        return self.slack.user(self.user).id

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def handle(self, line: str) -> bool:
        """One line from the prompt or the script. Returns False to stop. A mistake at the
        prompt (or a failure behind it) prints one line; the session goes on."""
        try:
            return await self._handle(line)
        except (KeyboardInterrupt, asyncio.CancelledError):
            raise
        except Exception as error:
            known = isinstance(error, ConsoleError | ValueError)
            self.say(f"  ! {error}" if known else f"  ! {error.__class__.__name__}: {error}")
            return True

    async def _handle(self, line: str) -> bool:
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line in ("quit", "exit"):
            return False
        if line == "help":
            self.say(HELP)
            return True
        if line.startswith("/"):
            command, _, text = line.partition(" ")
            open_views = self.slack.open_views(self.user_id)
            if open_views:
                # In Slack a modal must be closed before typing a command: close it for them.
                self.slack.close_views(self.user_id)
                if any(fields_of(v) for v in open_views):
                    self.say("  (the open form was closed)")
            # Slack matches slash commands case-insensitively.
            response = await self.driver.command(self.user, command.lower(), text.strip())
            if response.status != 200:
                self.say(f"  ! the bot answered HTTP {response.status}")
            else:
                # Every command answers: wait for that answer before waiting for quiet, or a
                # slow one (a digest run, "Working on …" only after a grace) is missed.
                await self.show_changes(answer_first=True)
                return True
        elif line.startswith("as "):
            who = line[3:].strip()
            try:
                self.slack.user(who.lstrip("@").lower())
                who = who.lstrip("@").lower()
            except (KeyError, LookupError):
                self.say(f"  ! no demo user {who!r}; try alice, bob or carol")
                return True
            self.seqs[self.user] = self.seq
            self.user = self.slack.user(who).name
            self.seq = self.seqs.get(self.user, self.start_seq)
            self.say(f"  now acting as {self.user}")
        elif line == "home":
            await self.driver.home_opened(self.user)
        elif line.startswith("click"):
            await self._click(line[5:].strip())
        elif line.startswith("submit"):
            await self._submit(line[6:].strip())
        else:
            self.say("  ? type a slash command (e.g. /ops help), or `help`")
            return True
        await self.show_changes()
        return True

    async def _click(self, arg: str) -> None:
        if not arg.isdigit() or int(arg) not in self.controls:
            self.say("  ! give the number shown in brackets, e.g. `click 2`")
            return
        control = self.controls[int(arg)]
        if control.confirm and self.interactive:
            answer = await asyncio.to_thread(input, f"  {control.confirm} [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                self.say("  (cancelled)")
                return
        elif control.confirm:
            self.say(f"  (confirm: {control.confirm} → yes)")
        if control.kind == "option":
            await self.driver.select(
                self.user, control.target, control.value or "", action_id=control.action_id
            )
        else:
            await self.driver.click(
                self.user, control.target, action_id=control.action_id, value=control.value
            )

    async def _submit(self, arg: str) -> None:
        views = [v for v in self.slack.open_views(self.user_id) if fields_of(v)]
        if not views:
            raise ConsoleError("no form is open; `/ops link dss` opens one")
        view = views[-1]
        fields = fields_of(view)
        try:
            pairs = [pair.split("=", 1) for pair in shlex.split(arg)]
        except ValueError:
            raise ConsoleError(
                'unclosed quote; write fields as name=value, e.g. `submit password="two words"`'
            ) from None
        if any(len(pair) != 2 for pair in pairs):
            raise ConsoleError("write fields as name=value, e.g. " + example_submit(fields))
        values: dict[str, str] = {}
        for name, value in pairs:
            field = find_field(fields, name)
            if field is None:
                raise ConsoleError(
                    f"this form has no field {name!r}; its fields: "
                    + ", ".join(f.name for f in fields)
                )
            values[field.block_id] = field.value_for(value)
        if self.interactive and not arg:
            for field in fields:
                prompt = f"  {field.label}"
                if field.choices:
                    prompt += f" ({', '.join(label for _, label in field.choices)})"
                reader = getpass.getpass if looks_secret(field) else input
                answer = await asyncio.to_thread(reader, prompt + ": ")
                values[field.block_id] = field.value_for(answer)
        await self.driver.submit(self.user, view, values)

    async def show_changes(self, *, answer_first: bool = False) -> None:
        """Wait until the bot is quiet, then print what the current user would see.
        `answer_first`: quiet only counts once something has arrived."""
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        last_change = time.monotonic()
        seen = self.seq
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if self.slack.last_seq != seen:
                seen = self.slack.last_seq
                last_change = time.monotonic()
                answer_first = False
            elif not answer_first and time.monotonic() - last_change >= SETTLE_SECONDS:
                break
        self.seq, events = seen, latest_only(self.slack.events_since(self.seq))
        renderer = Renderer()
        for event in events:
            text = self._render(renderer, event)
            if text:
                self.say(self._names(text))
        self.controls = {c.number: c for c in renderer.controls}
        # The hint only when a form just appeared or came back (with errors): never a stale
        # line after unrelated commands.
        shown = {e.view_id for e in events if e.kind.startswith("view") and e.user == self.user_id}
        open_forms = [
            v for v in self.slack.open_views(self.user_id) if v.id in shown and fields_of(v)
        ]
        if open_forms:
            self.say(
                f"  (a form is open: {example_submit(fields_of(open_forms[-1]))}"
                + (", or just `submit` to be asked" if self.interactive else "")
                + ")"
            )

    def _file(self, shared: dict[str, Any]) -> str:
        """An uploaded file (a chart) as the console shows it: its title, its alt text and
        where its bytes were saved."""
        found = next((f for f in self.slack.files() if f.id == shared.get("id")), None)
        title = shared.get("title") or shared.get("name") or "file"
        if found is None or found.content is None:
            return f"  [file] {title}"
        if self.chart_dir is None:
            self.chart_dir = Path(tempfile.mkdtemp(prefix="switchboard-charts-"))
        self.chart_dir.mkdir(parents=True, exist_ok=True)
        path = self.chart_dir / f"{found.id}-{found.filename}"
        path.write_bytes(found.content)
        return f"  [chart] {title}\n  alt: {found.alt_txt}\n  saved: {path}"

    def _names(self, text: str) -> str:
        """`@U0ALICE` (a rendered mention) as `@alice`, as Slack shows it."""

        def name(match: re.Match[str]) -> str:
            try:
                return "@" + self.slack.user(match.group(1)).name
            except (KeyError, LookupError):
                return match.group(0)

        return _USER_ID.sub(name, text)

    def _render(self, renderer: Renderer, event: Any) -> str:
        uid = self.user_id
        kind: str = event.kind
        if kind.startswith("ephemeral") and event.user == uid:
            if kind.endswith("deleted"):
                return ""
            target = next((m for m in self.slack.ephemerals(uid) if m.ts == event.ts), None)
            return (
                "» (only you)\n" + renderer.blocks(target, event.blocks)
                if event.blocks
                else f"» (only you) {event.text}"
            )
        if kind.startswith("message") and not kind.endswith("deleted"):
            channel = self.slack.channel(event.channel)
            dm = event.channel == "D" + uid[1:]
            if not dm and uid not in getattr(channel, "members", ()):
                return ""
            where = "DM" if dm else f"#{channel.name}"
            target = next((m for m in self.slack.messages(event.channel) if m.ts == event.ts), None)
            head = f"» [{where}]" + (" (edited)" if kind.endswith("updated") else "")
            body = renderer.blocks(target, event.blocks) if event.blocks else "  " + event.text
            if target is not None and target.files:
                body = "\n".join(
                    filter(None, [event.text and body, *map(self._file, target.files)])
                )
            return f"{head}\n{body}"
        if kind.startswith("view") and event.user == uid and not kind.endswith("closed"):
            view = self.slack.view(event.view_id)
            if view is None or not view.open:
                return ""
            title = (view.title or {}).get("text", "")
            errors = "".join(f"\n  ! {display_name(k)}: {v}" for k, v in view.errors.items())
            return f"» [modal: {title}]\n" + renderer.blocks(view, view.blocks) + errors
        if kind.startswith("home") and event.user == uid:
            view = self.slack.home(uid)
            return "» [App Home]\n" + renderer.blocks(view, view.blocks if view else [])
        return ""


def latest_only(events: list[Any]) -> list[Any]:
    """One entry per message or view: its last state, at the place it first appeared (a
    "working…" note replaced by the answer prints once, as the answer)."""
    latest: dict[tuple[str, str | None], Any] = {}
    for event in events:
        key = (event.kind.split(".")[0], event.ts or event.view_id or str(event.seq))
        latest.setdefault(key, event)
        latest[key] = event
    return list(latest.values())


async def link_demo_accounts(
    driver: SlackDriver, slack: SlackEmulator, services_platforms: list[str], out: TextIO
) -> None:
    """Link every demo account through the real modal, as a person would."""
    for user, platform, values in DEMO_LINKS:
        if platform not in services_platforms:
            continue
        outcome = await _link_one(driver, slack, user, platform, values)
        status = "linked" if ":warning:" not in outcome else "NOT linked"
        out.write(f"  {user}: {platform} {status}\n")
        slack.close_views(user)  # the "Linked" notice, closed as a person would


async def _link_one(
    driver: SlackDriver, slack: SlackEmulator, user: str, platform: str, values: dict[str, str]
) -> str:
    opened = len(slack.views_opened(user))
    await driver.command(user, "/ops", f"link {platform}")

    def modal() -> Any:
        views = slack.views_opened(user)
        return views[-1] if len(views) > opened else None

    view = await driver.wait_for(modal)
    await driver.submit(user, view, {f"field_{k}": v for k, v in values.items()})

    def result() -> str | None:
        current = slack.view(view.id)
        text = str(current.blocks) if current else ""
        return text if ("Linked" in text or ":warning:" in text) else None

    return str(await driver.wait_for(result, timeout=30))


async def run_console(
    settings: Settings | None,
    *,
    script: Path | None,
    demo: bool,
    data_dir: Path | None = None,
    out: TextIO = sys.stdout,
) -> int:
    with ExitStack() as stack:
        slack = stack.enter_context(SlackEmulator())
        if demo:
            world = DemoPlatforms.start(stack)
            folder = data_dir or Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="switchboard-demo-"))
            )
            settings = Settings(
                _env_file=None,
                **demo_settings_values(
                    slack_url=slack.url, platforms=world.platforms, data_dir=folder
                ),
            )
        else:
            assert settings is not None
            # The real platforms from the settings, but Slack is the local emulator.
            settings = settings.model_copy(
                update={
                    "slack_api_url": f"{slack.url}/api/",
                    "slack_bot_token": SecretStr("xoxb-console"),
                    "slack_signing_secret": SecretStr(secrets.token_hex(16)),
                }
            )
        bot = stack.enter_context(BotServer(settings))
        signing = settings.slack_signing_secret
        assert signing is not None  # the demo's settings and the copy above both set it
        secret = signing.get_secret_value()
        async with SlackDriver(slack, bot.events_url, secret) as driver:
            out.write(
                f"Switchboard {'demo ' if demo else ''}console · bot at {bot.url} · "
                f"data in {settings.db_path.parent}\n"
            )
            for note in bot.services.notes if bot.services else []:
                out.write(f"  note: {note}\n")
            if demo:
                out.write("Linking the demo accounts through the link form…\n")
                await link_demo_accounts(driver, slack, list(settings.platforms), out)
            console = Console(
                slack,
                driver,
                out=out,
                interactive=script is None,
                chart_dir=settings.data_dir / "charts",
            )
            console.seq = slack.last_seq
            out.write("Type /ops help to start, `help` for the console's own commands.\n")
            if script is not None:
                text = await asyncio.to_thread(script.read_text, encoding="utf-8")
                for line in text.splitlines():
                    if line.strip() and not line.strip().startswith("#"):
                        out.write(f"{console.user}> {line.strip()}\n")
                    if not await console.handle(line):
                        break
                return 0
            while True:
                try:
                    line = await asyncio.to_thread(input, f"{console.user}> ")
                except EOFError:
                    break
                if not await console.handle(line):
                    break
    return 0
