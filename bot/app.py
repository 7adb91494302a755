"""create_app(services) -> AsyncApp: middleware, the error handler, every listener.

No app is built at import time: tests, the console and `switchboard run` each build their own.
"""

from __future__ import annotations

import logging
import pkgutil
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.listener_matcher.async_builtins import AsyncBuiltinListenerMatcher
from slack_bolt.listener_matcher.async_listener_matcher import AsyncListenerMatcher
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import installation
from bot.commands import ACKS_AT_ONCE, CommandFamily
from bot.config import Settings
from bot.services import Services
from bot.store import seen

log = logging.getLogger(__name__)


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then warns
    "As you gave client as well, token will be unused": our client was built from that same
    setting, so the warning only worries operators. Every other Bolt record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


# The listeners are the Slack side (handlers/), which depends on bot/ and never the other way
# (an import contract checks it). The app is composed here from the listeners' registrar: given
# by the caller (tests, a toy platform), else the one named below, resolved when an app is
# built. Named, not imported, so that `bot` stays importable and testable without `handlers`.
LISTENERS = "handlers:register_all"
Registrar = Callable[[AsyncApp, Settings], object]
# Every slash command's family by key (/ops first), from the platforms' descriptors.
FAMILIES = "handlers:all_families"


def command_families(settings: Settings) -> dict[str, CommandFamily]:
    """Every slash command's family by key, /ops first, then the platforms' in order (for
    the manifest)."""
    families: dict[str, CommandFamily] = pkgutil.resolve_name(FAMILIES)(settings.descriptors)
    return families


def create_app(services: Services, register: Registrar | None = None) -> AsyncApp:
    """The Bolt app with every listener that `register` (default: LISTENERS) adds."""
    settings = services.settings
    bolt_logger = logging.getLogger(f"slack_bolt.{AsyncApp.__name__}")
    if not any(isinstance(f, _SameTokenNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SameTokenNotice())
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    app = AsyncApp(
        client=services.slack,
        signing_secret=signing_secret,
        # Ack goes back at once; listener work continues after the HTTP 200 (3-second rule).
        # Commands and clicks go further (AckFirstRunner, below); modal submissions and events
        # keep this path, which lets a listener ack with response_action and work on.
        process_before_response=False,
        # An unknown action id or event reaches on_error (logged) instead of vanishing.
        raise_error_for_unhandled_request=True,
        # Over HTTP, bot.web checks every signature (stricter: over the raw bytes, with the
        # timestamp's shape) before Bolt sees the request; a second HMAC here would add
        # nothing. Socket Mode needs no signature.
        request_verification_enabled=False,
    )

    app.use(installation.SocketModeTeamCheck(services.installation))
    app.use(ServicesAndRetries(services))

    unhandled_seen: set[str] = set()

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # Acknowledged all the same: a 404 makes Slack retry events and show the person
            # an error. Logged once per kind, so a subscribed event nobody handles is no flood.
            kind = _describe(body)
            level = logging.DEBUG if kind in unhandled_seen else logging.INFO
            if len(unhandled_seen) < 1000:
                unhandled_seen.add(kind)
            log.log(level, "unhandled Slack request: %s (acknowledged)", kind)
            return BoltResponse(status=200, body="")
        log.exception("listener error on %s", _describe(body), exc_info=error)
        # Slack never gets a 500 from us (it would retry, and show the person a failure):
        # a request that broke a listener before its ack is answered as malformed.
        return BoltResponse(status=400, body="")

    if register is None:
        register = pkgutil.resolve_name(LISTENERS)
    register(app, settings)
    installation.register(app)
    AckFirstRunner.install(app)
    BodyMatcher.install(app)
    return app


class BodyMatcher(AsyncListenerMatcher):
    """A Bolt built-in matcher (command name, action id, callback id …), asked with the body
    alone. Bolt asks each listener in turn whether it matches, and for each it builds every
    keyword argument a listener could want (the say/respond/ack callables, the parsed
    payloads …) though the built-in matchers only read `body`: with this app's few dozen
    listeners that was a tenth of a command's CPU."""

    def __init__(self, func: Any) -> None:
        self.func = func

    async def async_matches(self, req: AsyncBoltRequest, resp: BoltResponse) -> bool:
        return bool(await self.func(body=req.body))

    @classmethod
    def install(cls, app: AsyncApp) -> None:
        for listener in app._async_listeners:
            listener.matchers = [
                cls(m.func)
                if type(m) is AsyncBuiltinListenerMatcher and m.arg_names == ["body"]
                else m
                for m in listener.matchers
            ]


class AckFirstRunner(AsyncioListenerRunner):
    """Bolt's listener runner, except for listeners marked ACKS_AT_ONCE (slash commands and
    button clicks), which ack, hand their work to a task of their own and return: those run
    inline, as under process_before_response=True, so the HTTP 200 leaves when they return.
    Bolt's own path for process_before_response=False runs the listener in a task and polls
    every 10 ms for the ack, which was most of a command's ack time."""

    def __init__(self, bolt: AsyncioListenerRunner) -> None:
        super().__init__(
            bolt.logger,
            False,
            bolt.listener_error_handler,
            bolt.listener_start_handler,
            bolt.listener_completion_handler,
            bolt.lazy_listener_runner,
        )
        self.inline = AsyncioListenerRunner(
            bolt.logger,
            True,
            bolt.listener_error_handler,
            bolt.listener_start_handler,
            bolt.listener_completion_handler,
            bolt.lazy_listener_runner,
        )

    @classmethod
    def install(cls, app: AsyncApp) -> None:
        # After @app.error: Bolt stores the error handler on the runner it has at that moment.
        # There is no public setter for the runner; the attribute is Bolt's since 1.0.
        app._async_listener_runner = cls(app._async_listener_runner)

    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        if getattr(getattr(listener, "ack_function", None), ACKS_AT_ONCE, False):
            return await self.inline.run(request, response, listener_name, listener, starting_time)
        return await super().run(request, response, listener_name, listener, starting_time)


class ServicesAndRetries(AsyncMiddleware):
    """Every request gets `context["services"]`; an event Slack retries (it thinks the first
    delivery failed) runs once. A class, not an @app.middleware function: Bolt builds every
    possible keyword argument for a function middleware on each request, which cost more than
    the middleware itself."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        services = self.services
        req.context["services"] = services
        event_id = req.body.get("event_id") if isinstance(req.body, dict) else None
        if event_id:
            first = await services.store.run(
                seen.first_time, f"event:{event_id}", services.now().isoformat()
            )
            if not first:
                return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        return await next()


def _describe(body: object) -> str:
    """What the request was, for logs: type and ids only, never field values."""
    if not isinstance(body, dict):
        return "?"
    try:
        kind = body.get("type") or ("command" if "command" in body else "?")
        detail = body.get("command") or (body.get("event") or {}).get("type") or ""
        if body.get("actions"):
            detail = ",".join(str(a.get("action_id")) for a in body["actions"])
        if body.get("view"):
            detail = str(body["view"].get("callback_id"))
        if kind == "shortcut" or kind == "message_action":
            detail = str(body.get("callback_id"))
    except (AttributeError, TypeError):  # a signed body of an unexpected shape
        return "?"
    return f"{kind} {detail}".strip()[:120]
