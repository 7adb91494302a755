"""What both baselines of bench/ack_latency.py share with the bot's own serving: a POST
/slack/events route and GET /healthz on Starlette, under uvicorn, one process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def serve(events: Callable[[Request], Awaitable[Response]], port: int) -> None:
    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    web = Starlette(
        routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)]
    )
    uvicorn.run(web, host="127.0.0.1", port=port, log_level="warning", access_log=False)
