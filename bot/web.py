"""The HTTP surface for `switchboard run` (and the tests): one Starlette app under uvicorn.

POST /slack/events   every Slack request (commands, interactions, events), signed
GET  /healthz        liveness: the process answers (no counts, nothing about the data)
GET  /readyz         readiness, JSON: 200 when this replica can serve, else 503
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
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import build_normalized_headers, extract_content_type
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import weblink
from bot.readiness import Readiness
from bot.services import Services

log = logging.getLogger(__name__)

# Slack never sends more than a few hundred KB; anything bigger is refused before parsing.
MAX_BODY_BYTES = 1_000_000
# Slack's rule (slack.md 1.2): a request more than 5 minutes from our clock is refused.
SIGNATURE_WINDOW_SECONDS = 300
# Acks take milliseconds; Slack's limit is 3 s. Fine buckets at the low end, so the
# histogram can tell a 2 ms ack from a 12 ms one (bench/ack_latency.py prints it).
ACK_BUCKETS = (
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    3.0,
    5.0,
    10.0,
)


def create_web_app(
    app: AsyncApp,
    services: Services,
    *,
    lifespan: Any = None,
    extra_routes: list[Route] | None = None,
) -> Starlette:
    registry = CollectorRegistry()
    requests = Counter(
        "switchboard_slack_requests",
        "Slack requests received, by status",
        ["status"],
        registry=registry,
    )
    rejected = Counter(
        "switchboard_slack_rejected",
        "Slack requests refused, by reason",
        ["reason"],
        registry=registry,
    )
    ack_seconds = Histogram(
        "switchboard_slack_ack_seconds",
        "Time to answer Slack",
        registry=registry,
        buckets=ACK_BUCKETS,
    )

    signing_secret = (
        services.settings.slack_signing_secret.get_secret_value()
        if services.settings.slack_signing_secret
        else ""
    )

    async def answer(request: Request) -> Response:
        body = await read_capped(request)
        if body is None:
            raise Refused(413, "too_large", "request body too large")
        if is_ssl_check(request.headers, body):
            # Slack checking the Request URL's certificate (signed or not): nothing to run.
            return Response(status_code=200)
        parsed = check_slack_request(request.headers, body, signing_secret)
        await check_team(services, parsed)
        try:
            response = await app.async_dispatch(ParsedBoltRequest(request, body, parsed))
            return to_starlette_response(response)
        except Exception:
            # Bolt could not make sense of a signed body; never a 500 to Slack.
            log.warning("a signed Slack request could not be handled", exc_info=True)
            raise Refused(400, "unparsable", "malformed request") from None

    async def events(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await answer(request)
        except Refused as refusal:
            rejected.labels(refusal.reason).inc()
            response = Response(refusal.text, status_code=refusal.status)
        except Exception as error:  # whatever slipped through: still never a 500
            log.warning("a Slack request failed before its handler: %s", type(error).__name__)
            rejected.labels("error").inc()
            response = Response("malformed request", status_code=400)
        requests.labels(str(response.status_code)).inc()
        ack_seconds.observe(time.perf_counter() - started)
        return response

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    readiness = Readiness(services)

    async def readyz(request: Request) -> Response:
        report = await readiness.check()
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *(extra_routes or []),
    ]
    if services.settings.public_url:
        routes += weblink.routes(services)
        routes.append(Route("/charts/{key}.png", chart_png(services), methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)


def chart_png(services: Services) -> Any:
    """A drawn chart by its data key, for the image blocks digests carry where public_url
    is set (bot.digests.pictures). Slack fetches it once and keeps its own copy."""

    async def serve(request: Request) -> Response:
        picture = services.pictures.get(request.path_params["key"])
        if picture is None or picture.png is None:
            return Response("no such chart", status_code=404, media_type="text/plain")
        return Response(
            picture.png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
        )

    return serve


class ParsedBoltRequest(AsyncBoltRequest):
    """Bolt's request for an HTTP body already verified and parsed here: the same fields
    AsyncBoltRequest's own constructor sets, without parsing the body a second time (with
    Bolt's second signature check, about 2 % of a command's CPU in py-spy under
    bench/ack_latency)."""

    def __init__(self, request: Request, body: bytes, parsed: dict[str, Any]) -> None:
        # Not super().__init__: it would parse `body` again. Bolt reads these attributes.
        self.raw_body = body.decode("utf-8")  # check_slack_request proved it decodes
        self.query = {}
        self.headers = build_normalized_headers(dict(request.headers))
        self.content_type = extract_content_type(self.headers)
        self.body = parsed
        self.context = build_async_context(AsyncBoltContext({}), parsed)
        self.lazy_only = False  # no lazy listeners here: Bolt's header for them is not honoured
        self.lazy_function_name = None
        self.mode = "http"


class Refused(Exception):
    """A request answered without reaching Bolt: the status, and the reason counted in
    /metrics (switchboard_slack_rejected_total{reason=...})."""

    def __init__(self, status: int, reason: str, text: str = "invalid request") -> None:
        super().__init__(reason)
        self.status, self.reason, self.text = status, reason, text


async def read_capped(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES (read in chunks: never buffered whole)."""
    length = request.headers.get("content-length")
    if length and length.isascii() and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    body = b"".join(chunks)
    return body


def is_ssl_check(headers: Any, body: bytes) -> bool:
    """Slack's `ssl_check=1&token=...` form (sent unsigned when it checks a Request URL).
    Bolt would answer it 200 too; it carries no command or payload, so nothing can run."""
    if headers.get("content-type", "").startswith("application/json") or b"ssl_check" not in body:
        return False
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return form.get("ssl_check") == ["1"]


def check_slack_request(headers: Any, body: bytes, signing_secret: str) -> dict[str, Any]:
    """Refuse what must not reach Bolt: a bad, stale or non-numeric timestamp or signature
    (401, before any parsing, so unsigned garbage costs nothing), and a signed body Bolt
    cannot parse (400). This is the one signature check of every HTTP request (the Bolt app
    is built with its own check off: bot.app). Returns the body parsed (a JSON object, or the
    form with its `payload` opened), which Bolt is then given as it is (ParsedBoltRequest)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp or not signature:
        raise Refused(401, "unsigned")
    # isascii: "²1795971444".isdigit() is True, and int() refuses it.
    if not (timestamp.isascii() and timestamp.isdigit() and signature.isascii()):
        raise Refused(401, "bad_timestamp" if signature.isascii() else "bad_signature")
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        raise Refused(401, "stale")
    # Over the raw bytes (slack_sdk's verifier decodes them as UTF-8 first, and raises).
    expected = (
        "v0="
        + hmac.new(
            signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
    )
    if not hmac.compare_digest(expected, signature):
        raise Refused(401, "bad_signature")
    parsed = _parse(headers.get("content-type", ""), body)
    if parsed is None:
        raise Refused(400, "malformed", "malformed request")
    return parsed


def _parse(content_type: str, body: bytes) -> dict[str, Any] | None:
    """A JSON object (events), or a form that is a slash command or carries a JSON object
    in `payload` (interactions); None when it is neither."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            parsed = json.loads(text)
            return parsed if isinstance(parsed, dict) else None
        form = parse_qs(text, keep_blank_values=True)
        payloads = form.get("payload")
        if payloads is None:
            return {k: v[0] for k, v in form.items()} if "command" in form else None
        if len(payloads) != 1:
            return None
        payload = json.loads(payloads[0])
        return payload if isinstance(payload, dict) else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: a `payload` nested tens of thousands deep.
        return None


async def check_team(services: Services, body: dict[str, Any]) -> None:
    """A signed request from another workspace or organisation (the same app installed
    elsewhere shares its signing secret) is refused before any listener, and audited."""
    try:
        refused = await services.installation.refuses(body)
    except ValueError:  # ids of the wrong shape
        raise Refused(400, "malformed", "malformed request") from None
    if refused:
        raise Refused(403, "foreign_team", "this app is not installed there")
