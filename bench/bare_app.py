"""The baseline for bench/ack_latency.py: a bare slack-bolt AsyncApp whose /dss handler only
acks and responds, served like the bot (Starlette + uvicorn, one process).

    python -m bench.bare_app PORT SIGNING_SECRET SLACK_API_URL
"""

from __future__ import annotations

import sys

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench._served import serve


def main() -> None:
    port, secret, api_url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-bench", base_url=api_url), signing_secret=secret
    )

    @app.command("/dss")
    async def dss(ack, respond):  # type: ignore[no-untyped-def]
        await ack()
        await respond(text="ok")

    serve(AsyncSlackRequestHandler(app).handle, port)


if __name__ == "__main__":
    main()
