"""Serving the bot over HTTP: `serve()` for `switchboard run`, `BotServer` for the console,
the demo, tests and benchmarks (the same app on its own thread and event loop, on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from bot.app import create_app
from bot.config import Settings
from bot.services import Services, open_services
from bot.web import create_web_app

log = logging.getLogger(__name__)

STARTUP_AUTH_SECONDS = 10.0


async def serve(
    services: Services,
    *,
    sock: socket.socket | None = None,
    host: str = "127.0.0.1",
    port: int = 3000,
    started: Callable[[uvicorn.Server], None] | None = None,
    process: bool = False,
) -> None:
    """Serve /slack/events, /healthz, /readyz and /metrics until stopped (SIGTERM, SIGINT),
    then drain (`drain`) and close services. `process`: this serving is the process's whole
    life (`switchboard run`), not one of many in a test or demo process."""
    app = create_app(services)
    web = create_web_app(app, services)
    if process:
        settle_heap()
    config = uvicorn.Config(
        web,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=max(1, int(services.settings.drain_timeout)),
    )
    server = _Server(config)
    if started is not None:
        started(server)
    await _know_installation(services)
    leading = asyncio.get_running_loop().create_task(_lead_once_up(server, services))
    try:
        await server.serve(sockets=[sock] if sock else None)
    finally:
        leading.cancel()
        await drain(services)
        await services.aclose()


def settle_heap() -> None:
    """Once start-up is done: what exists now (modules, the app, its listeners, settings)
    lives as long as the process, so it leaves the cyclic collector's generations: a full
    collection no longer walks those ~90,000 objects (tens of milliseconds on two busy
    cores, with the event loop stopped). Only for a process that serves once: a test
    process serving many apps would keep every one of them."""
    gc.collect()  # start-up's garbage goes first, not into the permanent generation
    gc.freeze()


async def _know_installation(services: Services) -> None:
    """Ask Slack which workspace the token belongs to (auth.test) before serving, so foreign
    requests are refused from the first one; Slack unreachable: asked again later."""
    try:
        await asyncio.wait_for(services.installation.start(), STARTUP_AUTH_SECONDS)
    except TimeoutError:
        log.warning(
            "Slack auth.test did not answer within %g s; will ask again", STARTUP_AUTH_SECONDS
        )


class _Server(uvicorn.Server):
    """uvicorn re-raises a SIGTERM / SIGINT it caught once it has stopped serving, which would
    end the process before the drain below: here the signal only asks it to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


async def _lead_once_up(server: uvicorn.Server, services: Services) -> None:
    """Digests, alerts and watches start once the bot answers Slack (catch-up runs after)."""
    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(0.02)
    if services.leader is not None:
        services.leader.start()


async def drain(services: Services) -> None:
    """Shutting down, after the HTTP server (or Socket Mode) stopped taking requests and let
    those in flight be answered: `draining` is set (/readyz: 503); digest and alert runs and
    the listener work
    that follows each ack (Bolt runs it after the HTTP answer) get `drain_timeout` seconds
    to finish, together; watches stop (the next leader resumes them); the leader role is
    released."""
    services.draining.set()
    budget = services.settings.drain_timeout
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    stopping = [services.background.aclose(budget)]
    if services.leader is not None:
        stopping.append(services.leader.stop(budget))
    await asyncio.gather(*stopping)
    # Anything else still running (Bolt's own listener tasks) within what is left.
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    remaining = deadline - loop.time()
    if others and remaining > 0:
        _, pending = await asyncio.wait(others, timeout=remaining)
        if pending:
            log.warning(
                "%d task(s) still running after the %s s drain: stopping anyway",
                len(pending),
                budget,
            )
    log.info("drained: leader role released, work in flight finished")


class BotServer:
    """The bot on a background thread: `with BotServer(settings) as bot: bot.url`."""

    def __init__(self, settings: Settings, **service_kwargs: Any) -> None:
        self.settings = settings
        self.service_kwargs = service_kwargs
        self.services: Services | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def start(self) -> str:
        # IPPROTO_TCP: asyncio turns Nagle off only for sockets that say so (else ~40 ms a reply).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        ready = threading.Event()

        def on_started(server: uvicorn.Server) -> None:
            self._server = server

        def main() -> None:
            try:
                self.services = open_services(self.settings, **self.service_kwargs)
                ready.set()
                asyncio.run(serve(self.services, sock=sock, started=on_started))
            except BaseException as exc:  # reported to start()
                self._error = exc
                ready.set()

        self._thread = threading.Thread(target=main, name="switchboard-bot", daemon=True)
        self._thread.start()
        ready.wait(30)
        deadline = time.monotonic() + 30
        while not (self._server and self._server.started):
            if self._error is not None:
                raise RuntimeError(f"the bot did not start: {self._error}") from self._error
            if time.monotonic() > deadline:
                raise RuntimeError("the bot did not start within 30 s")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._server = self._thread = None

    def __enter__(self) -> BotServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
