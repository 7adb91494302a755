"""The one Slack workspace this bot serves: its team (and Enterprise Grid) id, and whether its
bot token still works.

The team id comes from SLACK_TEAM_ID when set, else from auth.test at start-up (the token
belongs to exactly one installation, so Slack itself says which; a setting is for a bot that
must refuse foreign requests even when Slack cannot be reached at start-up). Until either is
known, requests are not refused for their team, and auth.test is asked again at most once a
minute. The same app installed in another workspace signs with the same secret, so a signed
request naming another team or organisation is refused before any listener and audited
(`refuses`): in HTTP mode by bot.web, with a 403; in Socket Mode, where one connection carries
every workspace the app is installed in, by the `SocketModeTeamCheck` middleware, which acks
the envelope (so Slack does not deliver it again) and runs nothing.

Revocation. `app_uninstalled`, `tokens_revoked` naming the bot, or auth.test answering that
the token is revoked or invalid pause every post the bot starts by itself: digests, alerts
and watch DMs are skipped (not failed), and the log and audit say so once. While paused,
auth.test is asked at most once a minute; when the token works again (the app was
reinstalled), posting resumes, logged and audited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_enterprise_id, extract_team_id
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit import Audit

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)

# auth.test answers that mean the token itself is gone (not an outage).
DEAD_TOKEN = {
    "token_revoked",
    "invalid_auth",
    "account_inactive",
    "not_authed",
    "token_expired",
    "app_uninstalled",
}
PROBE_SECONDS = 60.0


@dataclass
class Installation:
    slack: AsyncWebClient
    audit: Audit
    team_id: str | None = None  # from the setting, or auth.test
    enterprise_id: str | None = None
    paused: str | None = None  # why posting is paused (None: posting)
    org_wide: bool = False  # an Enterprise Grid org-wide install: any of its workspaces
    known: bool = False  # auth.test has answered (so enterprise_id None means "none")
    clock: Callable[[], float] = time.monotonic
    _probed: float = field(default=float("-inf"), repr=False)
    _lock: asyncio.Lock | None = field(default=None, repr=False)

    async def start(self) -> None:
        """At start-up: who we are, and whether the token works (auth.test)."""
        await self._probe(force=True)

    async def foreign(self, team_id: Any, enterprise_id: Any) -> str | None:
        """ "workspace" or "organisation" when a request names another one than ours."""
        if self.team_id is None and not self.known:
            await self._probe()  # at start-up Slack could not be asked: once a minute
        if self.known and enterprise_id and str(enterprise_id) != (self.enterprise_id or ""):
            return "organisation"
        if self.org_wide:
            return None
        if self.team_id is not None and team_id and str(team_id) != self.team_id:
            return "workspace"
        return None

    async def refuses(self, body: dict[str, Any]) -> bool:
        """True, logged and audited, when a request names another workspace or organisation
        than ours. ValueError when its ids have the wrong shape."""
        try:
            team_id, enterprise_id = extract_team_id(body), extract_enterprise_id(body)
        except (AttributeError, TypeError, KeyError, IndexError):
            raise ValueError("team or enterprise id of the wrong shape") from None
        foreign = await self.foreign(team_id, enterprise_id)
        if foreign is None:
            return False
        log.warning(
            "refused a Slack request from another %s (%s)",
            foreign,
            team_id if foreign == "workspace" else enterprise_id,
        )
        user = body.get("user_id") or body.get("user")
        if isinstance(user, dict):
            user = user.get("id")
        await self.audit.record(
            user_id=str(user or "")[:40],
            action="slack.request",
            result="refused",
            detail=f"from another {foreign}: team {str(team_id)[:40]}, "
            f"enterprise {str(enterprise_id or '-')[:40]}",
        )
        return True

    async def can_post(self) -> bool:
        """May the bot post by itself now? While paused, auth.test decides (once a minute)."""
        if self.paused is None:
            return True
        await self._probe()
        return self.paused is None

    async def revoked(self, why: str) -> None:
        """Slack says the bot's token is gone: stop posting (once)."""
        if self.paused is not None:
            return
        self.paused = why
        self._probed = self.clock()
        log.warning(
            "Slack: %s; digests, alerts and watch messages are paused until the "
            "bot token works again",
            why,
        )
        await self.audit.record(user_id="", action="slack.paused", result="paused", detail=why)

    async def _resumed(self) -> None:
        why, self.paused = self.paused, None
        log.warning("Slack: the bot token works again (it was paused: %s); posting resumes", why)
        await self.audit.record(
            user_id="", action="slack.resumed", result="ok", detail=f"was paused: {why}"
        )

    async def _probe(self, *, force: bool = False) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not force and self.clock() - self._probed < PROBE_SECONDS:
                return
            self._probed = self.clock()
            try:
                identity = await self.slack.auth_test()
            except SlackApiError as error:
                code = str(error.response.get("error") or "")
                if code in DEAD_TOKEN:
                    await self.revoked(f"auth.test answered {code}")
                else:
                    log.warning("Slack auth.test failed (%s); will ask again", code or "error")
                return
            except (TimeoutError, OSError) as error:
                log.warning(
                    "Slack auth.test could not be reached (%s); will ask again",
                    type(error).__name__,
                )
                return
            if self.team_id is None:
                self.team_id = str(identity.get("team_id") or "") or None
            self.enterprise_id = str(identity.get("enterprise_id") or "") or None
            self.org_wide = bool(identity.get("is_enterprise_install"))
            self.known = True
            if self.paused is not None:
                await self._resumed()


class SocketModeTeamCheck(AsyncMiddleware):
    """Socket Mode's requests never pass bot.web's checks: the same refusal here, first of
    every middleware. The envelope is acked all the same (an unacked one comes back) and
    nothing runs. HTTP requests were checked before Bolt saw them."""

    def __init__(self, installation: Installation) -> None:
        self.installation = installation

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Any
    ) -> BoltResponse | None:
        if req.mode == "socket_mode" and isinstance(req.body, dict):
            try:
                refused = await self.installation.refuses(req.body)
            except ValueError:
                log.warning("a Socket Mode request with malformed team ids was dropped")
                refused = True
            if refused:
                return BoltResponse(status=200, body="")
        return await next()  # type: ignore[no-any-return]  # Bolt's `next` is untyped


def register(app: AsyncApp) -> None:
    """The events that say the bot's token is gone."""

    @app.event("app_uninstalled")
    async def on_app_uninstalled(ack: Any, context: Any) -> None:
        await ack()
        await context["services"].installation.revoked("the app was uninstalled")

    @app.event("tokens_revoked")
    async def on_tokens_revoked(ack: Any, event: dict[str, Any], context: Any) -> None:
        await ack()
        bots = (event.get("tokens") or {}).get("bot") or []
        if bots:
            await context["services"].installation.revoked("the bot token was revoked")
        else:  # only people's own tokens: the bot does not use them
            log.info(
                "Slack revoked %d user token(s); the bot token is untouched",
                len((event.get("tokens") or {}).get("oauth") or []),
            )
