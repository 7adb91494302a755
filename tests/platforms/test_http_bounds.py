"""`PlatformHTTP` against a real server on 127.0.0.1: what comes back is bounded in size, its
encoding is one we asked for, and redirects stay on the configured origin. (issue 11)"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot import errors, messages
from bot.platforms import http
from emulators.base import Emulator

MB = 1024 * 1024


class Server(Emulator):
    name = "bounds"

    def routes(self) -> list[BaseRoute]:
        async def data(request: Request) -> Response:
            return JSONResponse({"ok": True, "auth": request.headers.get("authorization", "")})

        async def moved(request: Request) -> Response:
            return RedirectResponse("/data", status_code=307)

        async def moved_far(request: Request) -> Response:
            # Same host name, another port: another origin.
            return RedirectResponse(f"http://127.0.0.1:{self.port + 1}/data", status_code=302)

        def encoded(body: bytes, encoding: str) -> Response:
            return Response(
                body, headers={"content-encoding": encoding, "content-type": "application/json"}
            )

        async def gz(request: Request) -> Response:
            size = int(request.query_params["size"])
            return encoded(gzip.compress(b'"' + b"a" * (size - 2) + b'"'), "gzip")

        async def raw_deflate(request: Request) -> Response:
            packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
            return encoded(packer.compress(b'{"raw": 1}') + packer.flush(), "deflate")

        async def corrupt(request: Request) -> Response:
            return encoded(b"\x1f\x8b not gzip at all", "gzip")

        async def brotli(request: Request) -> Response:
            return encoded(b"\x0b\x02\x80{}\x03", "br")

        async def plain_big(request: Request) -> Response:
            return Response(b"[" + b"1," * (6 * MB) + b"1]", media_type="application/json")

        return [
            Route("/data", data),
            Route("/moved", moved),
            Route("/moved-far", moved_far),
            Route("/gz", gz),
            Route("/raw-deflate", raw_deflate),
            Route("/corrupt", corrupt),
            Route("/brotli", brotli),
            Route("/plain-big", plain_big),
        ]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server() as emulator:
        yield emulator


@pytest.fixture
async def client(server: Server) -> AsyncIterator[http.PlatformHTTP]:
    server.faults.clear()
    previous = http.set_max_body(10 * MB)
    try:
        platform = http.PlatformHTTP(
            platform="dss", instance="prod", base_url=server.url, timeout=10
        )
    finally:
        http.set_max_body(previous)
    yield platform
    await platform.aclose()


async def bad_answer(client: http.PlatformHTTP, path: str) -> str:
    with pytest.raises(errors.BadAnswer) as caught:
        await client.json("GET", path)
    assert caught.value.instance == "prod"
    return caught.value.detail


async def test_a_same_origin_redirect_is_followed_with_the_credential(client):
    import httpx

    body = await client.json("GET", "/moved", auth=httpx.BasicAuth("key", ""))
    assert body["ok"] is True
    assert body["auth"].startswith("Basic ")


async def test_a_redirect_to_another_origin_is_refused_unfollowed(client, server):
    server.requests.clear()
    detail = await bad_answer(client, "/moved-far")
    assert detail == (
        "it redirected GET /moved-far to another server, which Switchboard does not follow"
    )
    assert [r.path for r in server.requests] == ["/moved-far"]


async def test_a_redirect_loop_stops_after_three_hops(client, server):
    server.faults.set(answer="redirect-loop")
    server.requests.clear()
    assert "more than 3 times" in await bad_answer(client, "/data")
    assert len(server.requests) == 4


async def test_a_compressed_body_within_the_limit_is_read(client):
    assert len(await client.json("GET", "/gz", params={"size": str(9 * MB)})) == 9 * MB - 2


async def test_a_compressed_body_past_the_limit_is_refused(client):
    detail = await bad_answer(client, f"/gz?size={10 * MB + 1}")
    assert detail.startswith("its answer is larger than the 10 MB Switchboard accepts")


async def test_an_endless_gzip_bomb_is_refused(client, server):
    # The server would stream a gigabyte of zeros (a megabyte on the wire).
    server.faults.set(answer="gzip-bomb")
    assert "larger than the 10 MB" in await bad_answer(client, "/data")


async def test_a_gzip_bomb_is_read_only_as_far_as_the_limit():
    """A gigabyte of zeros in about 1 MB of gzip: reading stops once the inflated size
    passes the limit, having pulled a few kilobytes of it, never the whole stream."""
    from bot.platforms import bodies

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = packer.compress(bytes(MB)) + packer.flush(zlib.Z_FULL_FLUSH)  # with the header
    block = packer.compress(bytes(MB)) + packer.flush(zlib.Z_FULL_FLUSH)  # each one after
    pulled = 0

    class Bomb(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            nonlocal pulled
            for n in range(1024):
                pulled += len(block)
                yield block if n else first

    response = httpx.Response(200, headers={"content-encoding": "gzip"}, stream=Bomb())
    with pytest.raises(bodies.BodyRefused, match="larger than the 10 MB"):
        await bodies.read_bounded(response, 10 * MB)
    assert pulled <= 12 * len(block)  # the limit's worth and one more, of 1,024


async def test_a_plain_body_past_the_limit_is_refused(client):
    assert "larger than the 10 MB" in await bad_answer(client, "/plain-big")


async def test_the_limit_is_a_setting(server, tmp_path):
    from bot.config import Settings
    from bot.services import open_services

    previous = http.set_max_body(10 * MB)
    try:
        services = open_services(
            Settings(_env_file=None, data_dir=tmp_path, platform_max_body=2 * MB)
        )
        await services.aclose()
        small = http.PlatformHTTP(platform="dss", instance="prod", base_url=server.url)
    finally:
        http.set_max_body(previous)
    try:
        with pytest.raises(errors.BadAnswer, match="larger than the 2 MB"):
            await small.json("GET", "/gz", params={"size": str(3 * MB)})
    finally:
        await small.aclose()


async def test_raw_deflate_is_read_and_a_corrupt_or_unasked_encoding_is_refused(client):
    assert await client.json("GET", "/raw-deflate") == {"raw": 1}
    assert await bad_answer(client, "/corrupt") == (
        "its compressed answer is corrupt; GET /corrupt"
    )
    assert "an encoding Switchboard did not ask for (br)" in await bad_answer(client, "/brotli")


async def test_html_with_200_is_named_in_the_message(client, server):
    server.faults.set(answer="html")
    detail = await bad_answer(client, "/data")
    assert detail == "text/html instead of JSON for GET /data"
    text = messages.for_error(client.error(errors.BadAnswer, detail))
    assert text == (
        "Dataiku DSS (prod) answered something Switchboard does not understand "
        "(text/html instead of JSON for GET /data); try again later or tell your "
        "operator."
    )
