"""The emulator process of bench/ack_latency.py: the Slack and DSS emulators on 127.0.0.1, in
a process of their own so that neither the load generator nor the servers measured share a CPU
budget (a GIL) with them.

    python -m bench._ack_emulators      # prints one JSON line {slack, dss, alice, channel}
                                        # then serves until its stdin closes

The Slack emulator gains three routes for the other processes:

    POST /__bench__/urls {"n": N}        N fresh response_urls for alice in #ops
    POST /__bench__/arrivals {"marker"}  for each response_url, the time.monotonic() (this
                                         machine's CLOCK_MONOTONIC, comparable across
                                         processes) at which the first post containing the
                                         marker arrived
    POST /__bench__/link {events_url, secret}   links alice's DSS key through the real modal
    POST /__bench__/digests {"subscription"}   how many digest messages of that subscription
                                         were posted (bench/replicas.py)
    POST /__bench__/settle               collect this process's garbage and freeze the rest
                                         (below): {"ms": how long that took, "collected"}

Settling between loads: the emulators keep every call they received (the tests assert on
that history), so this process's heap grows with every load. Left to the cyclic collector,
a full collection walked all of it, pausing both emulators for up to ~100 ms at intervals
that grew with the heap (and freezing the heap between loads still left pauses of 45-130 ms
within the bot's loads); the DSS answers and response_url posts held up meanwhile then
reached the server measured all at once, and its acks queued behind that burst of reply
work (ack p99 spikes clustered every 5-8 s, gone with the collector off). So this process
runs with the collector off and collects between loads (a settle: gc.collect, then
gc.freeze), where no load is measured; what the settles found is printed.

Arrival times are taken when the post reaches the route, before the emulator's own work.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulators.dss import DEMO as DSS_DEMO
from emulators.dss import DSSEmulator
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver


def settle() -> dict[str, float]:
    """Between loads: collect this process's garbage (its collector is off), then freeze what
    is left, so the next settle walks only what the next load made."""
    started = time.perf_counter()
    collected = gc.collect()
    gc.freeze()
    return {"ms": (time.perf_counter() - started) * 1000, "collected": collected}


class BenchSlack(SlackEmulator):
    def __init__(self) -> None:
        super().__init__()
        self._posts: dict[str, list[tuple[float, str]]] = {}
        self._posts_lock = threading.Lock()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/__bench__/urls", self._urls, methods=["POST"]),
            Route("/__bench__/arrivals", self._arrivals, methods=["POST"]),
            Route("/__bench__/link", self._link, methods=["POST"]),
            Route("/__bench__/digests", self._digests, methods=["POST"]),
            Route("/__bench__/settle", self._settle, methods=["POST"]),
            *super().routes(),
        ]

    async def _response_url(self, request: Request) -> Response:
        arrived = time.monotonic()
        raw = await request.body()  # cached by Starlette: the emulator reads it again
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        text = ""
        if isinstance(body, dict):
            text = str(body.get("text") or "") + json.dumps(body.get("blocks") or [])[:2000]
        with self._posts_lock:
            self._posts.setdefault(str(request.url), []).append((arrived, text))
        return await super()._response_url(request)

    async def _urls(self, request: Request) -> Response:
        n = int((await request.json())["n"])
        return JSONResponse([self.new_response_url("alice", "C0OPS") for _ in range(n)])

    async def _arrivals(self, request: Request) -> Response:
        marker = str((await request.json())["marker"])
        with self._posts_lock:
            posts = {url: list(items) for url, items in self._posts.items()}
            self._posts.clear()
        first: dict[str, float] = {}
        notes: dict[str, int] = {}
        for url, items in posts.items():
            hits = [t for t, text in items if marker in text]
            if hits:
                first[url] = min(hits)
            notes[url] = len(items)
        return JSONResponse({"first": first, "posts": sum(notes.values())})

    async def _settle(self, request: Request) -> Response:
        return JSONResponse(settle())

    async def _digests(self, request: Request) -> Response:
        wanted = int((await request.json())["subscription"])
        posts = sum(
            1
            for m in self.messages()
            if m.metadata
            and m.metadata.get("event_type") == "switchboard_digest"
            and m.metadata.get("event_payload", {}).get("subscription") == wanted
        )
        return JSONResponse({"posts": posts})

    async def _link(self, request: Request) -> Response:
        args = await request.json()
        async with SlackDriver(self, args["events_url"], args["secret"], timeout=30) as driver:
            opened = len(self.views_opened("alice"))  # linked again: wait for the new form
            await driver.command("alice", "/ops", "link dss")
            view = await driver.wait_for(
                lambda: self.views_opened("alice")[opened:] and self.views_opened("alice")[-1],
                timeout=30,
            )
            await driver.submit("alice", view, {"field_api_key": DSS_DEMO["alice"]["api_key"]})
            await driver.wait_for(lambda: "Linked" in str(self.view(view.id).blocks), timeout=30)
        return JSONResponse({"ok": True})


def main() -> None:
    gc.disable()  # collected between loads only (settle, above)
    with BenchSlack() as slack, DSSEmulator() as dss:
        # A digest's owner must be in its channel (bot.membership); bench/replicas posts
        # alice's digests in #ops.
        with slack.workspace.lock:
            slack.channel("C0OPS").members.add(slack.user("alice").id)
        info: dict[str, Any] = {
            "slack": slack.url,
            "dss": dss.url,
            "alice": slack.user("alice").id,
            "channel": slack.channel("C0OPS").id,
            "channel_name": slack.channel("C0OPS").name,
            "dss_key": DSS_DEMO["alice"]["api_key"],
        }
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # the orchestrator closes our stdin to stop us


if __name__ == "__main__":
    main()
