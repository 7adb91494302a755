"""The floor for bench/ack_latency.py: one raw Starlette route that does what any Slack app
must (check the signature, parse the form, answer 200, post a reply to the response_url over
a pooled aiohttp session) and nothing else. Served like the bot (uvicorn, one process).

    python bench/raw_app.py PORT SIGNING_SECRET
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sys
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def main() -> None:
    port, secret = int(sys.argv[1]), sys.argv[2].encode()
    session: list[aiohttp.ClientSession] = []
    tasks: set[asyncio.Task[Any]] = set()

    async def reply(url: str) -> None:
        if not session:
            session.append(aiohttp.ClientSession())
        async with session[0].post(url, json={"text": "ok", "response_type": "ephemeral"}) as r:
            await r.read()

    async def events(request: Request) -> Response:
        body = await request.body()
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        expected = (
            "v0="
            + hmac.new(
                secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expected, request.headers.get("x-slack-signature", "")):
            return Response(status_code=401)
        form = parse_qs(body.decode())
        task = asyncio.get_running_loop().create_task(reply(form["response_url"][0]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return Response(status_code=200)

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    web = Starlette(
        routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)]
    )
    uvicorn.run(web, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
