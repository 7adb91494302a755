"""The aiohttp transport under the platform clients' httpx client: what httpx's own transport
did must still hold (the fault suite covers timeouts, refused connections and the breaker)."""

from __future__ import annotations

import gzip
import json
import socket

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.platforms.http import PlatformHTTP
from bot.platforms.transport import AiohttpTransport
from emulators.base import Emulator


class Site(Emulator):
    name = "site"

    def routes(self):
        async def echo(request: Request) -> Response:
            body = await request.body()
            response = JSONResponse(
                {
                    "method": request.method,
                    "body": body.decode(),
                    "cookie": request.headers.get("cookie"),
                    "auth": request.headers.get("authorization"),
                    "query": dict(request.query_params),
                }
            )
            response.set_cookie("session", "alice-secret-session")
            return response

        async def moved(request: Request) -> Response:
            return RedirectResponse("/echo", status_code=302)

        async def zipped(request: Request) -> Response:
            return Response(
                gzip.compress(json.dumps({"big": "x" * 5000}).encode()),
                headers={"content-encoding": "gzip", "content-type": "application/json"},
            )

        return [
            Route("/echo", echo, methods=["GET", "POST"]),
            Route("/moved", moved),
            Route("/zipped", zipped),
        ]


@pytest.fixture
def site():
    with Site() as emulator:
        yield emulator


@pytest.fixture
async def http(site):
    client = PlatformHTTP(platform="dss", instance="prod", base_url=site.url, timeout=2.0)
    yield client
    await client.aclose()


async def test_a_request_goes_out_whole_and_its_answer_comes_back(http):
    answer = await http.json(
        "POST", "/echo", params={"q": "1"}, json={"a": 1}, auth=httpx.BasicAuth("key", "")
    )
    assert answer["method"] == "POST"
    assert json.loads(answer["body"]) == {"a": 1}
    assert answer["query"] == {"q": "1"}
    assert answer["auth"].startswith("Basic ")


async def test_a_cookie_one_user_was_given_is_never_sent_for_the_next(http):
    await http.request("GET", "/echo")
    second = await http.json("GET", "/echo")
    assert second["cookie"] is None


async def test_a_redirect_is_handed_back_not_followed_by_the_transport(site):
    async with httpx.AsyncClient(transport=AiohttpTransport(), base_url=site.url) as client:
        response = await client.get("/moved")
    assert response.status_code == 302
    assert [r.path for r in site.requests] == ["/moved"]


async def test_a_gzipped_body_is_decoded_once(http):
    assert (await http.json("GET", "/zipped")) == {"big": "x" * 5000}


async def test_a_refused_connection_is_httpx_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_silent_server_is_httpx_read_timeout(site):
    site.faults.set(hang=True)
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{site.url}/echo")


async def test_the_body_is_streamed_in_chunks_so_a_cap_can_stop_reading(site):
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        async with client.stream("GET", f"{site.url}/zipped") as response:
            first = await anext(response.aiter_raw(256))
    assert 0 < len(first) <= 256
