"""The emulator base: real loopback HTTP, request log, faults."""

from __future__ import annotations

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.routing import Route

from emulators.base import Emulator


class Echo(Emulator):
    name = "echo"

    def routes(self):
        async def hello(request):
            return JSONResponse({"hello": "world"})

        return [Route("/hello", hello)]


@pytest.fixture
def echo():
    with Echo() as emulator:
        yield emulator


def test_serves_on_loopback_and_logs_requests(echo):
    assert echo.url.startswith("http://127.0.0.1:")
    r = httpx.get(f"{echo.url}/hello?x=1")
    assert r.json() == {"hello": "world"}
    assert [(q.method, q.path, q.query) for q in echo.requests] == [("GET", "/hello", {"x": "1"})]


def test_status_fault_applies_to_the_next_n_requests_only(echo):
    echo.faults.set(status=500, remaining=1)
    assert httpx.get(f"{echo.url}/hello").status_code == 500
    assert httpx.get(f"{echo.url}/hello").status_code == 200


def test_hang_fault_makes_a_client_time_out(echo):
    echo.faults.set(hang=True)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{echo.url}/hello", timeout=0.3)
    echo.faults.clear()
    assert httpx.get(f"{echo.url}/hello").status_code == 200


def test_faults_can_be_set_over_http(echo):
    httpx.post(f"{echo.url}/__emulator__/faults", json={"status": 503})
    assert httpx.get(f"{echo.url}/hello").status_code == 503
    httpx.delete(f"{echo.url}/__emulator__/faults")
    assert httpx.get(f"{echo.url}/hello").status_code == 200
