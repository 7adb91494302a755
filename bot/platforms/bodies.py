"""Reading a platform's answer within bounds: its size, its encoding and where it redirects.

A platform instance is trusted to answer, not to answer sanely. Two things are refused here,
before any client parses a byte:

- A body larger than `limit` once decoded. The body is read raw and inflated here, a piece at
  a time, with zlib's `max_length`: a few kilobytes of gzip that would inflate to gigabytes
  stop at the limit, and memory never holds more than the limit. (httpx inflates each network
  read whole, up to about a thousand times its size, so its own decoding is not used.) Only
  gzip and deflate are asked for, so only those (and none) are accepted.
- A redirect to another origin. A redirect on the same scheme, host and port is followed, up
  to `MAX_REDIRECTS` hops: it is the server the operator configured (a proxy adding a trailing
  slash, an API moved under a new path), and the caller's credential goes nowhere new. Anything
  else (another host, another port, https to http) is refused: it would send a person's
  credential, or the bot itself, somewhere the operator never chose.
"""

from __future__ import annotations

import zlib
from typing import Any

import httpx

DEFAULT_MAX_BODY = 10 * 1024 * 1024
MAX_REDIRECTS = 3
ACCEPT_ENCODING = "gzip, deflate"
# Headers that describe the wire form of the body, not the decoded body handed on.
_WIRE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


class BodyRefused(Exception):
    """The answer's body cannot be taken; `str()` says why, in words for people."""


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _inflater(encoding: str) -> Any:
    if encoding in ("", "identity"):
        return None
    if encoding == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise BodyRefused(
        f"it sent its answer in an encoding Switchboard did not ask for ({encoding[:40]})"
    )


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(
        f"its answer is larger than the {limit / 1_048_576:g} MB Switchboard accepts"
    )


async def read_bounded(response: httpx.Response, limit: int) -> httpx.Response:
    """The response, its body read and decoded, or `BodyRefused` once it passes `limit`.

    The returned response carries the decoded body and no wire headers, so `.json()` and
    `.text` work as usual. The streamed response is left for the caller to close.
    """
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if declared.isascii() and declared.isdigit() and not encoding and int(declared) > limit:
        raise _too_large(limit)
    inflater = _inflater(encoding)
    pieces: list[bytes] = []
    size = 0
    first = True
    async for raw in response.aiter_raw():
        if inflater is None:
            piece = raw
        else:
            try:
                try:
                    piece = inflater.decompress(raw, limit - size + 1)
                except zlib.error:
                    if not (first and encoding == "deflate"):
                        raise
                    # Some servers send raw deflate, without the zlib wrapper (httpx takes it).
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    piece = inflater.decompress(raw, limit - size + 1)
            except zlib.error:
                raise BodyRefused("its compressed answer is corrupt") from None
        first = False
        size += len(piece)
        if size > limit:
            raise _too_large(limit)
        pieces.append(piece)
    if inflater is not None:
        try:
            rest = inflater.flush()
        except zlib.error:
            raise BodyRefused("its compressed answer is corrupt") from None
        size += len(rest)
        if size > limit:
            raise _too_large(limit)
        pieces.append(rest)
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(pieces),
        request=response.request,
        extensions=response.extensions,
    )
