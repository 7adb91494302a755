"""The HTTP surface for `switchboard run` (and the tests): one Starlette app under uvicorn.

    POST /slack/events   every Slack request (commands, interactions, events), signed
    GET  /healthz        liveness: the store answers
    GET  /metrics        Prometheus text format
    GET  /link/{token}   the one-time web link form, and POST /link (bot.weblink), only
                         where SWITCHBOARD_PUBLIC_URL is set
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

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

log = logging.getLogger(__name__)

# Slack never sends more than a few hundred KB; anything bigger is refused before parsing.
MAX_BODY_BYTES = 1_000_000
# Slack's rule (slack.md 1.2): a request more than 5 minutes from our clock is refused.
SIGNATURE_WINDOW_SECONDS = 300
# Acks take milliseconds; Slack's limit is 3 s. Fine buckets at the low end, so the
# histogram can tell a 2 ms ack from a 12 ms one (bench/ack_latency.py prints it).
ACK_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5,
               1.0, 2.0, 3.0, 5.0, 10.0)


def create_web_app(app: AsyncApp, services: Services, *, lifespan: Any = None,
                   extra_routes: list[Route] | None = None) -> Starlette:
    handler = AsyncSlackRequestHandler(app)
    registry = CollectorRegistry()
    requests = Counter("switchboard_slack_requests", "Slack requests received, by status",
                       ["status"], registry=registry)
    ack_seconds = Histogram("switchboard_slack_ack_seconds", "Time to answer Slack",
                            registry=registry, buckets=ACK_BUCKETS)

    signing_secret = (services.settings.slack_signing_secret.get_secret_value()
                       if services.settings.slack_signing_secret else "")

    async def events(request: Request) -> Response:
        started = time.perf_counter()
        body = await read_capped(request)
        refusal = (Response("request body too large", status_code=413) if body is None
                   else check_slack_request(request.headers, body, signing_secret))
        if refusal is None:
            try:
                response = await handler.handle(request)
            except Exception:
                # Bolt could not make sense of a signed body; never a 500 to Slack.
                log.warning("a signed Slack request could not be handled", exc_info=True)
                response = Response("malformed request", status_code=400)
        else:
            response = refusal
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


async def read_capped(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES (read in chunks: never buffered whole)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's cache: Bolt's adapter reads it again
    return body


def check_slack_request(headers: Any, body: bytes, signing_secret: str) -> Response | None:
    """Refuse what must not reach Bolt: a bad, stale or non-numeric timestamp or signature
    (401, before any parsing, so unsigned garbage costs nothing), and a signed body Bolt
    cannot parse (400). Bolt verifies the signature again; this only runs first."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp.isdigit() or not signature:
        return Response("invalid request", status_code=401)
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return Response("invalid request", status_code=401)
    # Over the raw bytes (slack_sdk's verifier decodes them as UTF-8 first, and raises).
    expected = "v0=" + hmac.new(signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + body,
                                hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return Response("invalid request", status_code=401)
    if not _parses(headers.get("content-type", ""), body):
        return Response("malformed request", status_code=400)
    return None


def _parses(content_type: str, body: bytes) -> bool:
    """A JSON object (events), or a form that is a slash command or carries a JSON object
    in `payload` (interactions)."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            return isinstance(json.loads(text), dict)
        form = parse_qs(text, keep_blank_values=True)
        payloads = form.get("payload")
        if payloads is None:
            return "command" in form
        return len(payloads) == 1 and isinstance(json.loads(payloads[0]), dict)
    except (UnicodeDecodeError, ValueError):
        return False


@asynccontextmanager
async def no_lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
