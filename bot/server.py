"""Serving the bot over HTTP: `serve()` for `switchboard run`, `BotServer` for the console,
the demo, tests and benchmarks (the same app on its own thread and event loop, on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from bot.app import create_app
from bot.config import Settings
from bot.services import Services, open_services
from bot.web import create_web_app

log = logging.getLogger(__name__)

STARTUP_AUTH_SECONDS = 10.0


async def serve(services: Services, *, sock: socket.socket | None = None,
                host: str = "127.0.0.1", port: int = 3000,
                started: Callable[[uvicorn.Server], None] | None = None) -> None:
    """Serve /slack/events, /healthz and /metrics until stopped; close services after."""
    app = create_app(services)
    web = create_web_app(app, services)
    config = uvicorn.Config(web, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    if started is not None:
        started(server)
    await _know_installation(services)
    scheduler = asyncio.get_running_loop().create_task(_start_scheduler(server, services))
    try:
        await server.serve(sockets=[sock] if sock else None)
    finally:
        scheduler.cancel()
        await services.aclose()


async def _know_installation(services: Services) -> None:
    """Ask Slack which workspace the token belongs to (auth.test) before serving, so foreign
    requests are refused from the first one; Slack unreachable: asked again later."""
    try:
        await asyncio.wait_for(services.installation.start(), STARTUP_AUTH_SECONDS)
    except asyncio.TimeoutError:
        log.warning("Slack auth.test did not answer within %g s; will ask again",
                    STARTUP_AUTH_SECONDS)


async def _start_scheduler(server: uvicorn.Server, services: Services) -> None:
    """Digests and alerts start once the bot answers Slack (start-up catch-up runs after)."""
    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(0.02)
    if services.scheduler is not None:
        try:
            await services.scheduler.start()
        except Exception:
            log.exception("the scheduler did not start; digests and alerts are off")


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
