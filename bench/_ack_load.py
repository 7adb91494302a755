"""The load generator of bench/ack_latency.py, a process of its own (aiohttp, no emulator, no
server in it), so its CPU never competes with what it measures inside one interpreter.

    python -m bench._ack_load '<json spec>'   # prints one JSON line of raw figures

spec: {"kind": "command" | "dss", "target": events URL (or a list of them: round robin; or
       the DSS URL), "secret",
       "slack": the Slack emulator's URL, "alice", "channel", "channel_name", "dss_key",
       "mode": "open" | "closed", "rate": commands/s (open), "in_flight": (closed),
       "seconds": how long to send, "marker": text that marks the real reply}

Open loop: command i is due at t0 + i / rate, whatever happened to the ones before; its ack
time is counted from when it was DUE, so a generator that falls behind shows up in the
figures (and in `lag`), instead of silently sending less (coordinated omission). Closed loop:
`in_flight` senders, each sending the next command when the last one was acked.

Reply time: from due (open) or sent (closed) to the arrival of the first post holding
`marker` at the Slack emulator, both read from CLOCK_MONOTONIC (time.monotonic()).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from emulators.slack_models import APP_ID, TEAM_DOMAIN, TEAM_ID
from emulators.slack_payloads import VERIFICATION_TOKEN

# Replies still missing this long after the last ack are counted as missing.
REPLY_WAIT = 30.0


def signed(secret: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = (
        "v0="
        + hmac.new(
            secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
    )
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


def command_body(spec: dict[str, Any], response_url: str) -> bytes:
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": spec["channel"],
            "channel_name": spec["channel_name"],
            "user_id": spec["alice"],
            "user_name": "alice",
            "command": "/dss",
            "text": "futures",
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "bench.trigger",
        }
    ).encode()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    mode, seconds = spec["mode"], float(spec["seconds"])
    # Enough response_urls for the run, fetched before the clock starts.
    most = (
        int(spec.get("rate", 0) * seconds) + 1
        if mode == "open"
        else int(spec.get("max_commands", 20000))
    )
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        urls: list[str] = []
        if spec["kind"] == "command":
            async with http.post(f"{spec['slack']}/__bench__/urls", json={"n": most}) as r:
                urls = await r.json()
        acks: list[float] = []
        started: dict[str, float] = {}
        lags: list[float] = []
        errors = 0

        async def one(due: float, index: int) -> None:
            nonlocal errors
            lags.append(time.monotonic() - due)
            try:
                if spec["kind"] == "command":
                    url = urls[index]
                    body = command_body(spec, url)
                    # A list of targets: spread round robin, as a load balancer would.
                    target = (
                        spec["target"][index % len(spec["target"])]
                        if isinstance(spec["target"], list)
                        else spec["target"]
                    )
                    async with http.post(
                        target, data=body, headers=signed(spec["secret"], body)
                    ) as response:
                        await response.read()
                        ok = response.status == 200
                    if ok:
                        started[url] = due
                else:  # the platform alone, for its own response time
                    async with http.get(
                        f"{spec['target']}/public/api/futures/",
                        auth=aiohttp.BasicAuth(spec["dss_key"], ""),
                    ) as response:
                        await response.read()
                        ok = response.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            if ok:
                acks.append(time.monotonic() - due)
            else:
                errors += 1

        cpu0, t0 = time.process_time(), time.monotonic()
        end = t0 + seconds
        tasks: list[asyncio.Task[None]] = []
        sent = 0
        if mode == "open":
            rate = float(spec["rate"])
            while True:
                due = t0 + sent / rate
                if due >= end or sent >= most:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(due, sent)))
                sent += 1
            await asyncio.gather(*tasks)
        else:
            counter = iter(range(most))

            async def sender() -> None:
                nonlocal sent
                for index in counter:
                    if time.monotonic() >= end:
                        return
                    sent += 1
                    await one(time.monotonic(), index)

            await asyncio.gather(*(sender() for _ in range(int(spec["in_flight"]))))
        wall = time.monotonic() - t0
        cpu = time.process_time() - cpu0

        replies: list[float] = []
        posts = 0
        if spec["kind"] == "command":
            deadline = time.monotonic() + REPLY_WAIT
            while True:
                await asyncio.sleep(0.5)
                async with http.post(
                    f"{spec['slack']}/__bench__/arrivals", json={"marker": spec["marker"]}
                ) as r:
                    got = await r.json()
                posts += got["posts"]
                for url, at in got["first"].items():
                    if url in started:
                        replies.append(at - started.pop(url))
                if not started or time.monotonic() > deadline:
                    break
    return {
        "sent": sent,
        "acks": acks,
        "replies": replies,
        "errors": errors,
        "missing": len(started),
        "wall": wall,
        "cpu": cpu,
        "posts": posts,
        "lag_max": max(lags, default=0.0),
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(run(spec))), flush=True)


if __name__ == "__main__":
    main()
