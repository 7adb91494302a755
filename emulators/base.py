"""What every platform emulator shares: a real HTTP server on 127.0.0.1, a request log, a
controllable clock and fault injection.

An emulator is a Starlette app served by uvicorn on its own thread and event loop, so a test's
event loop, a benchmark or the demo can all talk to it over real loopback HTTP. Subclasses give
their routes and the platform's error body; everything else lives here.

    with DSSEmulator() as dss:          # starts on an ephemeral port
        dss.url                         # "http://127.0.0.1:PORT"
        dss.faults.set(status=500)      # every request now fails like the platform would
        dss.faults.set(answer="html")   # ... or answers 200 with something hostile (HOSTILE)
        dss.requests                    # every request received, in order
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulators.tls import ServerTLS

CONTROL_PREFIX = "/__emulator__"


class FakeClock:
    """A clock tests move by hand, so expiry and progress need no sleeping."""

    def __init__(self, start: float = 1_760_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Faults:
    """What goes wrong, and for which requests.

    latency: seconds added before every answer (a slow platform).
    status: answer with this HTTP status and the platform's error body (500, 401, 503 ...).
    hang: never answer until the fault is cleared or the server stops (a client timeout test).
    slow_body: seconds spent dribbling the body out after the headers are sent.
    answer: instead of the real answer, one of the hostile shapes in `HOSTILE` (a login page
        with 200, `{}`, a redirect to another host, a gzip bomb ...).
    path_prefix: only requests whose path starts with this are affected.
    remaining: only the next N matching requests are affected (None: until cleared).
    after: the first N matching requests go through unharmed (the fault hits the N+1th on).
    """

    latency: float = 0.0
    status: int | None = None
    hang: bool = False
    slow_body: float = 0.0
    answer: str | None = None
    path_prefix: str = ""
    remaining: int | None = None
    after: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def set(self, **changes: Any) -> None:
        with self._lock:
            self.latency, self.status, self.hang, self.slow_body = 0.0, None, False, 0.0
            self.path_prefix, self.remaining, self.answer, self.after = "", None, None, 0
            for name, value in changes.items():
                if not hasattr(self, name) or name.startswith("_"):
                    raise TypeError(f"unknown fault {name!r}")
                if name == "answer" and value is not None and value not in HOSTILE:
                    raise TypeError(f"unknown hostile answer {value!r}; one of {list(HOSTILE)}")
                setattr(self, name, value)

    def clear(self) -> None:
        self.set()

    def take(self, path: str) -> Faults | None:
        """The faults that apply to this request (consuming one of `remaining`), or None."""
        with self._lock:
            active = self.latency or self.status or self.hang or self.slow_body or self.answer
            if not active or not path.startswith(self.path_prefix):
                return None
            if self.after > 0:
                self.after -= 1
                return None
            if self.remaining is not None:
                if self.remaining <= 0:
                    return None
                self.remaining -= 1
            return Faults(
                latency=self.latency,
                status=self.status,
                hang=self.hang,
                slow_body=self.slow_body,
                answer=self.answer,
            )


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


async def read_json(request: Request) -> Any:
    """The body as JSON whatever the Content-Type says (official clients often send none)."""
    body = await request.body()
    if not body.strip():
        return None
    return json.loads(body)


class Emulator:
    """Base class: subclasses implement `routes()` and `error_response()`."""

    name = "emulator"
    # Set before `start` to serve HTTPS (emulators.tls); None: plain HTTP.
    tls: ServerTLS | None = None

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    # -- what subclasses provide -------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def error_response(self, status: int, message: str) -> Response:
        """The platform's own error body for this status."""
        return JSONResponse({"error": message}, status_code=status)

    def normalize_path(self, path: str) -> str:
        """Hook for platforms whose clients send odd paths (double slashes and the like)."""
        return path

    # -- serving -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{self.name} emulator is not started")
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def build_app(self) -> Starlette:
        control = [
            Route(f"{CONTROL_PREFIX}/faults", self._control_faults, methods=["POST", "DELETE"]),
            Route(f"{CONTROL_PREFIX}/requests", self._control_requests, methods=["GET", "DELETE"]),
        ]
        app = Starlette(routes=control + self.routes())
        return _FaultsAndLog(app, self)  # type: ignore[return-value]

    def start(self, port: int = 0) -> str:
        # IPPROTO_TCP: asyncio turns Nagle off only for sockets that say so (else ~40 ms a reply).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.build_app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            **self._tls_options(),
        )
        self._server = uvicorn.Server(config)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"{self.name}-emulator",
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self.name} emulator did not start")
            time.sleep(0.01)
        return self.url

    def _tls_options(self) -> dict[str, Any]:
        if self.tls is None:
            return {}
        options: dict[str, Any] = {
            "ssl_certfile": str(self.tls.cert),
            "ssl_keyfile": str(self.tls.key),
        }
        if self.tls.client_ca is not None:
            options.update(ssl_ca_certs=str(self.tls.client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
        return options

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request log -------------------------------------------------------------------------
    def requests_to(self, method: str, path_contains: str) -> list[RecordedRequest]:
        return [
            r for r in list(self.requests) if r.method == method.upper() and path_contains in r.path
        ]

    # -- control endpoints (for the demo and benchmarks in another process) ------------------
    async def _control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        else:
            self.faults.set(**(await read_json(request) or {}))
        return JSONResponse({"ok": True})

    async def _control_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
            return JSONResponse({"ok": True})
        return JSONResponse(
            [{"method": r.method, "path": r.path, "query": r.query} for r in self.requests]
        )

    async def _wait_while_hanging(self, seconds: float) -> bool:
        """Wait while the hang fault is set; True once it is cleared, False on stop/timeout."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and time.monotonic() < deadline:
            if not self.faults.hang:
                return True
            await asyncio.sleep(0.02)
        return False


class _FaultsAndLog:
    """ASGI middleware: normalise the path, log the request, then apply any faults."""

    def __init__(self, app: Starlette, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        emulator = self.emulator
        scope = dict(scope)
        scope["path"] = emulator.normalize_path(scope["path"])
        path = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return

        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = Request(scope)
        emulator.requests.append(
            RecordedRequest(
                method=scope["method"],
                path=path,
                query=dict(request.query_params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )

        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        fault = emulator.faults.take(path)
        if fault is None:
            await self.app(scope, replay, send)
            return
        if fault.hang:
            # Held until the fault is cleared (then answered as usual) or the server stops.
            if not await emulator._wait_while_hanging(3600):
                return
            await self.app(scope, replay, send)
            return
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.status:
            response = emulator.error_response(fault.status, f"injected fault {fault.status}")
            await response(scope, replay, send)
            return
        if fault.answer:
            await HOSTILE[fault.answer](scope, receive, send)
            return
        if fault.slow_body:
            await self.app(scope, replay, _SlowBody(send, fault.slow_body))
            return
        await self.app(scope, replay, send)


class _SlowBody:
    """Wraps `send` so that the body goes out a byte at a time over `seconds`."""

    def __init__(self, send: Any, seconds: float) -> None:
        self.send = send
        self.seconds = seconds

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] != "http.response.body" or not message.get("body"):
            await self.send(message)
            return
        body: bytes = message["body"]
        step = self.seconds / max(len(body), 1)
        for i in range(len(body)):
            await self.send(
                {"type": "http.response.body", "body": body[i : i + 1], "more_body": True}
            )
            await asyncio.sleep(step)
        await self.send(
            {
                "type": "http.response.body",
                "body": b"",
                "more_body": message.get("more_body", False),
            }
        )


# -- hostile answers -------------------------------------------------------------------------
# What a broken proxy, a half-upgraded server or a hostile instance sends back with a 2xx or 3xx,
# each an ASGI app. Clients must turn every one into a clear message, never a crash.

GZIP_BOMB_CAP = 1 << 30  # decoded bytes at most (about 1 MB on the wire), should nobody stop


def _fixed(
    status: int, body: bytes, content_type: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


async def _redirect_loop(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A redirect to the very same URL, for ever (same host: a client may follow a few)."""
    location = scope["path"] + (
        f"?{scope['query_string'].decode()}" if scope.get("query_string") else ""
    )
    await _fixed(302, b"", "text/plain", ((b"location", location.encode()),))(scope, receive, send)


def _bomb_blocks() -> tuple[bytes, bytes]:
    """The gzip header with a first MB of zeros, and the deflate block of every next MB: after
    a full flush the compressor starts afresh, so each next block is the same bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    return first, packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)


_BOMB = _bomb_blocks()


async def _gzip_bomb(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """200, `Content-Encoding: gzip`, 1 MB of zeros per kilobyte sent, streamed until the
    client hangs up (or `GZIP_BOMB_CAP`): a client that inflates it all never finishes."""
    gone = asyncio.ensure_future(receive())  # completes with http.disconnect when it hangs up
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")],
        }
    )
    first, block = _BOMB
    sent = 0
    try:
        while sent < GZIP_BOMB_CAP and not gone.done():
            await send(
                {"type": "http.response.body", "more_body": True, "body": block if sent else first}
            )
            sent += 1 << 20
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})
    finally:
        gone.cancel()


HOSTILE: dict[str, Callable[..., Any]] = {
    # A sign-in page from a proxy in front of the platform.
    "html": _fixed(
        200, b"<html><body><h1>Sign in</h1><form></form></body></html>", "text/html; charset=utf-8"
    ),
    "not-json": _fixed(200, b'{"items": [1, 2', "application/json"),
    "empty-object": _fixed(200, b"{}", "application/json"),
    # A list where an object is expected, and not a list of objects where a list is.
    "list": _fixed(200, b'["surprise", 42]', "application/json"),
    "redirect-away": _fixed(
        302, b"", "text/plain", ((b"location", b"http://198.51.100.7/login?next=/api"),)
    ),
    "redirect-loop": _redirect_loop,
    "gzip-bomb": _gzip_bomb,
}
