"""The HTTP surface for `switchboard run` (and the tests): one Starlette app under uvicorn.

    POST /slack/events   every Slack request (commands, interactions, events), signed
    GET  /healthz        liveness: the store answers
    GET  /metrics        Prometheus text format
    GET  /link/{token}   the one-time web link form, and POST /link (bot.weblink), only
                         where SWITCHBOARD_PUBLIC_URL is set
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.services import Services
from bot.store import links

# Slack never sends more than a few hundred KB; anything bigger is refused before parsing.
MAX_BODY_BYTES = 1_000_000


def create_web_app(app: AsyncApp, services: Services, *, lifespan: Any = None,
                   extra_routes: list[Route] | None = None) -> Starlette:
    handler = AsyncSlackRequestHandler(app)
    registry = CollectorRegistry()
    requests = Counter("switchboard_slack_requests", "Slack requests received, by status",
                       ["status"], registry=registry)
    ack_seconds = Histogram("switchboard_slack_ack_seconds", "Time to answer Slack",
                            registry=registry)

    async def events(request: Request) -> Response:
        started = time.perf_counter()
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            requests.labels("413").inc()
            return Response("request body too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            requests.labels("413").inc()
            return Response("request body too large", status_code=413)
        response = await handler.handle(request)
        requests.labels(str(response.status_code)).inc()
        ack_seconds.observe(time.perf_counter() - started)
        return response

    async def healthz(request: Request) -> Response:
        linked = await services.store.run(links.count)
        return JSONResponse({"ok": True, "linked_accounts": linked})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *(extra_routes or []),
    ]
    if services.settings.public_url:
        from bot import weblink

        routes += weblink.routes(services)
    return Starlette(routes=routes, lifespan=lifespan)


@asynccontextmanager
async def no_lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
