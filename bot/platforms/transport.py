"""An httpx transport over aiohttp, for the platform clients (bot.platforms.http).

httpx's own transport (httpcore on anyio) spent about a fifth of the bot's CPU in pool and
anyio/sniffio bookkeeping under load, not in network work; aiohttp's connector does the same
job for much less. The httpx client above it is unchanged (base URL, auth, params, cookies
refused, redirects not followed, per-request timeouts), and so is what the clients see:
this transport raises httpx's own exceptions, the same classes httpx's transport raises for
the same failure (a refused connection is ConnectError, a read that times out ReadTimeout,
a server that hangs up RemoteProtocolError).

httpx-aiohttp (0.2) was tried first: it maps a refused connection to ConnectTimeout, which
would tell a person "no answer within 10 s" about an instance that is down.

The body is streamed (read in chunks as the caller asks for it), so a cap on what is read
still holds. A session belongs to one event loop; a second loop (the console, a test) gets
its own.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx

# aiohttp exception -> httpx exception, most specific first.
_MAPPING: list[tuple[type[BaseException], type[httpx.TransportError]]] = [
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
    # aiohttp's own timers raise a bare TimeoutError on older versions. A deadline of the
    # caller's (asyncio.timeout) cancels the task instead, so this is never the caller's.
    (asyncio.TimeoutError, httpx.ReadTimeout),
]


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except (TimeoutError, aiohttp.ClientError) as exc:
        for source, target in _MAPPING:
            if isinstance(exc, source):
                raise target(f"{type(exc).__name__}: {exc}") from exc
        raise


class _Body(httpx.AsyncByteStream):
    CHUNK = 64 * 1024

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for chunk in self._response.content.iter_chunked(self.CHUNK):
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, *, limit: int = 100, keepalive: float = 5.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._limit = limit
        self._keepalive = keepalive
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _open(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._loop = loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._limit, keepalive_timeout=self._keepalive, ssl=self._ssl
                ),
                # httpx keeps (or, here, refuses) cookies; aiohttp must not keep its own.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                # httpx decodes gzip/deflate itself, from the headers it sees.
                auto_decompress=False,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        with _mapped():
            response = await self._open().request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=body or None,
                allow_redirects=False,
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            status_code=response.status,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers],
            stream=_Body(response),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            if self._loop is asyncio.get_running_loop():
                await self._session.close()
