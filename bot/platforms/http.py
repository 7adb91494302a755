"""One place where a platform's HTTP traffic becomes typed errors.

Every platform client owns one `PlatformHTTP` per configured instance (opened at start-up,
closed at shutdown). It turns timeouts, refused connections and error statuses into the error
tree of `bot.errors`, using the platform's own reason from the error body. Clients never catch
httpx errors themselves.

The message it builds names the method and path, never headers or bodies, so a secret in a
request cannot leak into an error text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import http.cookiejar

import httpx

from bot import errors

DEFAULT_TIMEOUT = 10.0

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
    ) -> None:
        self.platform = platform
        self.instance = instance
        self.timeout = timeout
        self._reason = reason
        self._error_class = error_class
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers=headers,
            follow_redirects=False,
            # One client serves every user of the instance: a shared cookie jar would hand one
            # person's session cookies to the next. Platforms that need cookies keep them per user.
            cookies=_NoCookies(),
        )

    def error(self, cls: type[errors.PlatformError], detail: str,
              status: int | None = None) -> errors.PlatformError:
        return cls(detail, platform=self.platform, instance=self.instance, status=status)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; return the response if its status is below 400, else raise."""
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise self.error(
                errors.Unavailable, f"no answer within {self.timeout:g} s ({method} {path})"
            ) from None
        except httpx.TransportError as exc:
            raise self.error(
                errors.Unavailable, f"could not connect ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            raise self.error_for(response)
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise self.error(
                errors.Unavailable, f"answered {method} {path} with a body that is not JSON"
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


class _NoCookies(http.cookiejar.CookieJar):
    """A jar that keeps nothing."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None

    def extract_cookies(self, response: object, request: object) -> None:
        return None
