"""One place where a platform's HTTP traffic becomes typed errors.

Every platform client owns one `PlatformHTTP` per configured instance (opened at start-up,
closed at shutdown). It turns timeouts, refused connections and error statuses into the error
tree of `bot.errors`, using the platform's own reason from the error body. Clients never catch
httpx errors themselves.

The requests go out over aiohttp (`bot.platforms.transport`, under the same httpx client):
httpx's own transport spent about a fifth of the bot's CPU in anyio/httpcore bookkeeping
under load. Timeouts, redirects (not followed) and the error mapping are unchanged: the
transport raises httpx's own exceptions.

The message it builds names the method and path, never headers or bodies, so a secret in a
request cannot leak into an error text.

Two guards protect the bot from an instance that misbehaves:

- a deadline: one request, body included, takes at most `timeout` seconds. httpx's own timeout
  applies to each read, so a body dribbled a byte at a time would never trip it; the whole
  exchange runs under `asyncio.timeout` as well.
- bounds on what comes back (`bot.platforms.bodies`): a body past `max_body` bytes once
  decoded is refused without inflating the rest, and a redirect leaves the configured origin
  never; both become `BadAnswer`, like an answer `json()` cannot read.
- a circuit breaker (`bot.platforms.breaker`): after `FAILURE_THRESHOLD` timeouts, refused
  connections or 5xx answers in a row, calls fail at once with `Unavailable` saying the instance
  is considered down and when it will be tried again; after the cool-down one trial call goes
  through, and its success closes the breaker.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import ssl
from collections.abc import Callable
from typing import Any

import httpx

from bot import errors, messages
from bot.platforms import bodies
from bot.platforms.breaker import CircuitBreaker, CircuitOpen
from bot.platforms.transport import AiohttpTransport

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
# Requests in flight at once per instance, from commands, digests and alerts together: a
# fan-out of thousands of digests must not become thousands of concurrent calls.
DEFAULT_MAX_IN_FLIGHT = 16
_max_in_flight = DEFAULT_MAX_IN_FLIGHT
_max_body = bodies.DEFAULT_MAX_BODY


def set_max_in_flight(limit: int) -> int:
    """Set the limit for clients built from now on (from settings); returns the previous."""
    global _max_in_flight
    if limit < 1:
        raise ValueError("at least one request must be allowed in flight")
    previous, _max_in_flight = _max_in_flight, limit
    return previous


def set_max_body(limit: int) -> int:
    """Set the decoded body limit (bytes) for clients built from now on; returns the previous."""
    global _max_body
    if limit < 1:
        raise ValueError("the body limit must be at least one byte")
    previous, _max_body = _max_body, limit
    return previous


# Status -> error class. Anything else >= 400 is Rejected, >= 500 Unavailable.
_BY_STATUS: dict[int, type[errors.PlatformError]] = {
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
}


def default_reason(response: httpx.Response) -> str:
    """A short reason from a JSON error body, else the status phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("detailedMessage", "message", "error_description", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])[:300]
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


class PlatformHTTP:
    """An `httpx.AsyncClient` for one platform instance, with errors mapped to `bot.errors`."""

    def __init__(
        self,
        *,
        platform: str,
        instance: str,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        reason: Callable[[httpx.Response], str] = default_reason,
        error_class: Callable[[httpx.Response], type[errors.PlatformError] | None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
        breaker: CircuitBreaker | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.platform = platform
        self.instance = instance
        self.timeout = timeout
        # One per instance: the policy (threshold, cool-down, clock) is `breaker.default_policy()`
        # unless a breaker is passed in.
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._in_flight = asyncio.Semaphore(_max_in_flight)
        self.max_body = _max_body
        self._reason = reason
        self._error_class = error_class
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            # The instance's TLS settings (company CA, client certificate) go to the
            # connection layer; an injected transport (tests) brings its own.
            transport=transport
            if transport is not None
            else AiohttpTransport(ssl_context=ssl_context),
            # Only encodings `bodies.read_bounded` inflates within the limit.
            headers={"Accept-Encoding": bodies.ACCEPT_ENCODING, **(headers or {})},
            follow_redirects=False,  # `_exchange` follows same-origin redirects itself
            # One client serves every user of the instance: a shared cookie jar would hand one
            # person's session cookies to the next. Platforms that need cookies keep them per user.
            cookies=_NoCookies(),
        )

    def error(
        self, cls: type[errors.PlatformError], detail: str, status: int | None = None
    ) -> errors.PlatformError:
        return cls(detail, platform=self.platform, instance=self.instance, status=status)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; return the response if its status is below 400, else raise.

        The whole exchange (connect, headers, body) is bounded by `timeout`. While the circuit
        breaker is open the request is not sent at all.
        """
        try:
            trial = self.breaker.acquire()
        except CircuitOpen as refused:
            if not refused.trial_running:
                raise self.error(errors.Unavailable, _open_detail(refused)) from None
            # A trial call is checking whether the instance is back: its outcome decides.
            await self.breaker.trial_finished()
            try:
                trial = self.breaker.acquire()
            except CircuitOpen as again:
                raise self.error(errors.Unavailable, _open_detail(again)) from None
        try:
            response = await self._send(method, path, **kwargs)
        except errors.Unavailable:
            self._failed(trial)
            raise
        except BaseException:
            self.breaker.released(trial)  # cancelled, or a bug: says nothing about the instance
            raise
        if response.status_code >= 500:
            self._failed(trial)
        else:
            self.breaker.succeeded(trial)
        if response.status_code >= 400:
            raise self.error_for(response)
        return response

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        late = f"no answer within {self.timeout:g} s ({method} {path})"
        try:
            # Waiting for a slot is not the platform's slowness: outside the deadline.
            async with self._in_flight:
                # httpx's timeout is per read; this bounds the whole exchange, body included.
                async with asyncio.timeout(self.timeout) as deadline:
                    return await self._exchange(method, path, **kwargs)
        except httpx.TimeoutException:
            raise self.error(errors.Unavailable, late) from None
        except TimeoutError:
            if not deadline.expired():
                raise
            raise self.error(errors.Unavailable, late) from None
        except httpx.TransportError as exc:
            raise self.error(
                errors.Unavailable, f"could not connect ({type(exc).__name__})"
            ) from None

    async def _exchange(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send, follow same-origin redirects, read the body within `max_body`."""
        auth = kwargs.pop("auth", httpx.USE_CLIENT_DEFAULT)
        request = self.client.build_request(method, path, **kwargs)
        for _ in range(bodies.MAX_REDIRECTS + 1):
            response = await self.client.send(request, auth=auth, stream=True)
            try:
                redirect = response.next_request
                if redirect is None and 300 <= response.status_code < 400:
                    raise self.error(
                        errors.BadAnswer,
                        f"HTTP {response.status_code} without a place to go for {method} {path}",
                    )
                if redirect is None:
                    return await bodies.read_bounded(response, self.max_body)
            except bodies.BodyRefused as refused:
                raise self.error(errors.BadAnswer, f"{refused}; {method} {path}") from None
            finally:
                await response.aclose()
            if not bodies.same_origin(request.url, redirect.url):
                log.warning(
                    "%s %s: %s %s redirected to %s, not followed",
                    self.platform,
                    self.instance,
                    method,
                    path,
                    redirect.url.host,
                )
                raise self.error(
                    errors.BadAnswer,
                    f"it redirected {method} {path} to another "
                    "server, which Switchboard does not follow",
                )
            request = redirect
        raise self.error(
            errors.BadAnswer,
            f"it redirected {method} {path} more than {bodies.MAX_REDIRECTS} times",
        )

    def _failed(self, trial: bool) -> None:
        was_closed = self.breaker.opened_at is None
        self.breaker.failed(trial)
        if self.breaker.opened_at is not None and (was_closed or trial):
            log.warning(
                "%s %s: considered down after %d failures in a row; not calling it for %g s",
                self.platform,
                self.instance,
                self.breaker.opened_after,
                self.breaker.policy.cooldown,
            )

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.decode(await self.request(method, path, **kwargs))

    def decode(self, response: httpx.Response) -> Any:
        """The body as JSON (None when empty), or `BadAnswer` saying what came instead."""
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            what = f"{kind[:40]} instead of JSON" if kind and "json" not in kind else "not JSON"
            raise self.error(
                errors.BadAnswer,
                f"{what} for {response.request.method} {response.request.url.path}",
            ) from None

    def error_for(self, response: httpx.Response) -> errors.PlatformError:
        status = response.status_code
        cls = self._error_class(response) if self._error_class else None
        if cls is None:
            cls = _BY_STATUS.get(status) or (
                errors.Unavailable if status >= 500 else errors.Rejected
            )
        return self.error(cls, self._reason(response), status)

    async def aclose(self) -> None:
        await self.client.aclose()


def _open_detail(refused: CircuitOpen) -> str:
    if refused.trial_running:
        return messages.CIRCUIT_TRIAL.format(failures=refused.failures)
    return messages.CIRCUIT_OPEN.format(failures=refused.failures, seconds=refused.retry_in_whole)


class _NoCookies(http.cookiejar.CookieJar):
    """A jar that keeps nothing."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None

    def extract_cookies(self, response: object, request: object) -> None:
        return None
