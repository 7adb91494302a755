"""create_app(services) -> AsyncApp: middleware, the error handler, every listener.

No app is built at import time: tests, the console and `switchboard run` each build their own.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.services import Services
from bot.store import seen

log = logging.getLogger(__name__)


def create_app(services: Services) -> AsyncApp:
    settings = services.settings
    signing_secret = (settings.slack_signing_secret.get_secret_value()
                      if settings.slack_signing_secret else "")
    app = AsyncApp(
        client=services.slack,
        signing_secret=signing_secret,
        # Ack goes back at once; listener work continues after the HTTP 200 (3-second rule).
        process_before_response=False,
        # An unknown action id or event reaches on_error (logged) instead of vanishing.
        raise_error_for_unhandled_request=True,
        # Socket Mode needs no signature; Bolt skips verification there by itself.
        request_verification_enabled=True,
    )

    @app.middleware
    async def inject_services(req: AsyncBoltRequest, resp: BoltResponse, next: Any) -> Any:
        req.context["services"] = services
        return await next()

    @app.middleware
    async def drop_handled_retries(req: AsyncBoltRequest, resp: BoltResponse, next: Any) -> Any:
        """Slack retries an event it thinks failed; run each event id once."""
        event_id = req.body.get("event_id") if isinstance(req.body, dict) else None
        if event_id:
            first = await services.store.run(
                seen.first_time, f"event:{event_id}", services.now().isoformat())
            if not first:
                return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        return await next()

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            log.info("unhandled Slack request: %s", _describe(body))
            return BoltResponse(status=404, body="")
        log.exception("listener error on %s", _describe(body), exc_info=error)
        # Slack never gets a 500 from us (it would retry, and show the person a failure):
        # a request that broke a listener before its ack is answered as malformed.
        return BoltResponse(status=400, body="")

    from handlers import register_all

    register_all(app, settings)
    return app


def _describe(body: dict[str, Any]) -> str:
    """What the request was, for logs: type and ids only, never field values."""
    if not isinstance(body, dict):
        return "?"
    kind = body.get("type") or ("command" if "command" in body else "?")
    detail = body.get("command") or (body.get("event") or {}).get("type") or ""
    if body.get("actions"):
        detail = ",".join(str(a.get("action_id")) for a in body["actions"])
    if body.get("view"):
        detail = str(body["view"].get("callback_id"))
    return f"{kind} {detail}".strip()
