"""Replies through a response_url, over one pooled HTTP session.

Bolt's `respond()` opens a new aiohttp session for every post; a command that shows
"working…" and then its answer posts twice, and under load those sessions cost more than the
rest of the command. `Responder.to(url)` is a drop-in `respond` that reuses one aiohttp
session (aiohttp rather than httpx here: with dozens of posts in flight, httpcore's pool
bookkeeping took half the bot's CPU in bench/ack_latency.py). A response_url is a capability
(anyone holding it may post as the app), so it is never logged.

Only Slack's own hosts are posted to: a response_url comes from a payload (and is carried in
button values and modal metadata), and posting a reply, with whatever it shows, to any other
URL would hand it to whoever forged it. Allowed: https on hooks.slack.com or
hooks.slack-gov.com, or the configured Slack Web API base's host (the emulator, GovSlack).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger(__name__)

SLACK_HOOK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def slack_hosts_only(api_base: str) -> Callable[[str], bool]:
    """Is this response_url on Slack (or the configured Web API base's host)?"""
    base = _origin(api_base)
    default_port = {"https": 443, "http": 80}

    def allowed(url: str) -> bool:
        origin = _origin(url)
        if origin is None or not origin[1]:
            return False
        scheme, host, port = origin
        if scheme == "https" and host in SLACK_HOOK_HOSTS and port in (None, 443):
            return True
        if base is None:
            return False
        return (scheme, host, port or default_port.get(scheme)) == (
            base[0],
            base[1],
            base[2] or default_port.get(base[0]),
        )

    return allowed


class Responder:
    def __init__(
        self, *, timeout: float = 10.0, allowed: Callable[[str], bool] | None = None
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._allowed = allowed
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop (aiohttp binds to it).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=100)
            )
        return self._session

    def to(self, url: str) -> Respond:
        return Respond(self, url)

    async def post(self, url: str, body: dict[str, Any]) -> None:
        if self._allowed is not None and not self._allowed(url):
            # Only the host: the path is the capability.
            origin = _origin(url)
            log.warning(
                "ignored a response_url that is not on Slack (host %r)",
                origin[1][:100] if origin else "?",
            )
            return
        try:
            async with self._open().post(url, json=body) as response:
                if response.status >= 400:
                    # Slack answers 404 once a response_url is used 5 times or 30 min old.
                    text = (await response.text())[:100]
                    log.warning("a response_url answered HTTP %s: %s", response.status, text)
        except (TimeoutError, aiohttp.ClientError) as error:
            log.warning("posting to a response_url failed: %s", type(error).__name__)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class Respond:
    """Callable like Bolt's `respond(text=..., blocks=..., response_type=..., ...)`."""

    def __init__(self, responder: Responder, url: str) -> None:
        self._responder = responder
        self._url = url

    async def __call__(
        self,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        **extra: Any,
    ) -> None:
        body: dict[str, Any] = {
            "text": text,
            "blocks": blocks,
            "response_type": response_type,
            "replace_original": replace_original,
            "delete_original": delete_original,
            **extra,
        }
        await self._responder.post(self._url, {k: v for k, v in body.items() if v is not None})
