"""Replies through a response_url, over one pooled HTTP session.

Bolt's `respond()` opens a new aiohttp session for every post; a command that shows
"working…" and then its answer posts twice, and under load those sessions cost more than the
rest of the command. `Responder.to(url)` is a drop-in `respond` that reuses one aiohttp
session (aiohttp rather than httpx here: with dozens of posts in flight, httpcore's pool
bookkeeping took half the bot's CPU in bench/ack_latency.py). A response_url is a capability
(anyone holding it may post as the app), so it is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class Responder:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop (aiohttp binds to it).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=100))
        return self._session

    def to(self, url: str) -> Respond:
        return Respond(self, url)

    async def post(self, url: str, body: dict[str, Any]) -> None:
        try:
            async with self._open().post(url, json=body) as response:
                if response.status >= 400:
                    # Slack answers 404 once a response_url is used 5 times or 30 min old.
                    text = (await response.text())[:100]
                    log.warning("a response_url answered HTTP %s: %s", response.status, text)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            log.warning("posting to a response_url failed: %s", type(error).__name__)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class Respond:
    """Callable like Bolt's `respond(text=..., blocks=..., response_type=..., ...)`."""

    def __init__(self, responder: Responder, url: str) -> None:
        self._responder = responder
        self._url = url

    async def __call__(self, text: str | None = None, blocks: list[dict[str, Any]] | None = None,
                       response_type: str | None = None, replace_original: bool | None = None,
                       delete_original: bool | None = None, **extra: Any) -> None:
        body: dict[str, Any] = {
            "text": text, "blocks": blocks, "response_type": response_type,
            "replace_original": replace_original, "delete_original": delete_original, **extra,
        }
        await self._responder.post(self._url, {k: v for k, v in body.items() if v is not None})
