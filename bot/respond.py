"""Replies through a response_url, over one pooled HTTP client.

Bolt's `respond()` opens a new aiohttp session for every post; a command that shows
"working…" and then its answer posts twice, and under load those sessions cost more than the
rest of the command. `Responder.to(url)` is a drop-in `respond` that reuses connections.
A response_url is a capability (anyone holding it may post as the app), so it is never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)


class Respond:
    """Callable like Bolt's `respond(text=..., blocks=..., response_type=..., ...)`."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self._http = http
        self._url = url

    async def __call__(self, text: str | None = None, blocks: list[dict[str, Any]] | None = None,
                       response_type: str | None = None, replace_original: bool | None = None,
                       delete_original: bool | None = None, **extra: Any) -> None:
        body: dict[str, Any] = {
            "text": text, "blocks": blocks, "response_type": response_type,
            "replace_original": replace_original, "delete_original": delete_original, **extra,
        }
        body = {k: v for k, v in body.items() if v is not None}
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.HTTPError as error:
            log.warning("posting to a response_url failed: %s", type(error).__name__)
            return
        if response.status_code >= 400:
            # Slack answers 404 once a response_url is used 5 times or 30 minutes old.
            log.warning("a response_url answered HTTP %s: %s", response.status_code,
                        response.text[:100])


class Responder:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self._http = httpx.AsyncClient(timeout=timeout,
                                       limits=httpx.Limits(max_connections=100))

    def to(self, url: str) -> Respond:
        return Respond(self._http, url)

    async def aclose(self) -> None:
        await self._http.aclose()
