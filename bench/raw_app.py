"""The floor for bench/ack_latency.py: one raw Starlette route that does what any Slack app
must (check the signature, parse the form, answer 200, post a reply to the response_url over
a pooled aiohttp session) and nothing else. Served like the bot (uvicorn, one process).

    python -m bench.raw_app PORT SIGNING_SECRET
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import Response

from bench._served import serve


def main() -> None:
    port, verifier = int(sys.argv[1]), SignatureVerifier(sys.argv[2])
    session: list[aiohttp.ClientSession] = []
    tasks: set[asyncio.Task[Any]] = set()

    async def reply(url: str) -> None:
        if not session:
            session.append(aiohttp.ClientSession())
        async with session[0].post(url, json={"text": "ok", "response_type": "ephemeral"}) as r:
            await r.read()

    async def events(request: Request) -> Response:
        body = await request.body()
        if not verifier.is_valid_request(body, dict(request.headers)):
            return Response(status_code=401)
        form = parse_qs(body.decode())
        task = asyncio.get_running_loop().create_task(reply(form["response_url"][0]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return Response(status_code=200)

    serve(events, port)


if __name__ == "__main__":
    main()
