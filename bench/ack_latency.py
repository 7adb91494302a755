"""Ack latency: how fast the bot answers Slack, next to a bare Bolt app under the same load.

    .venv/bin/python -m bench.ack_latency            # 2,000 commands, 50 in flight
    BENCH_N=500 .venv/bin/python -m bench.ack_latency

The bot runs as `switchboard run` (uvicorn, HTTP mode) in its own process against the Slack
and DSS emulators (in this process, on 127.0.0.1). Signed `/dss futures` commands are fired
with a fixed number in flight; for each we time the HTTP 200 (the ack) and the arrival of the
reply at the Slack emulator (the futures list, after a real DSS call). The same load then goes
to a bare slack-bolt AsyncApp whose handler only acks and responds; the table ends with our
p99 over its p99. Reply times come from a poller with a 2 ms period.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds, free_port, percentile, process, python
from emulators.dss import DEMO as DSS_DEMO
from emulators.dss import DSSEmulator
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver

N = int(os.environ.get("BENCH_N", "2000"))
IN_FLIGHT = int(os.environ.get("BENCH_IN_FLIGHT", "50"))
SECRET = "bench-signing-secret"
# Slack's rule: an ack later than this is a failure the person sees.
ACK_LIMIT = 3.0


async def fire(driver: SlackDriver, slack: SlackEmulator, *, n: int, in_flight: int,
               reply_marker: str) -> dict[str, object]:
    """Send n commands, in_flight at a time; time each ack and each reply."""
    gate = asyncio.Semaphore(in_flight)
    sent: dict[str, float] = {}
    acks: list[float] = []
    errors = 0
    # A reply can reach Slack before its ack reaches us: arrivals are kept by URL and joined
    # with the send times at the end.
    arrivals: dict[str, float] = {}
    done = asyncio.Event()

    async def poll_replies() -> None:
        seen = 0
        while True:
            posts = slack.responses()
            now = time.perf_counter()
            for post in posts[seen:]:
                body = post.body if isinstance(post.body, dict) else {}
                text = str(body.get("text", "")) + str(body.get("blocks", ""))
                if reply_marker in text:
                    arrivals.setdefault(post.url, now)
            seen = len(posts)
            if done.is_set() and (all(u in arrivals for u in sent)
                                  or time.perf_counter() - done_at > 30):
                return  # replies still missing after 30 s are counted as missing
            await asyncio.sleep(0.002)

    async def one() -> None:
        nonlocal errors
        async with gate:
            start = time.perf_counter()
            try:
                response = await driver.command("alice", "/dss", "futures")
            except Exception:
                errors += 1
                return
            took = time.perf_counter() - start
            if response.status != 200 or response.response_url is None:
                errors += 1
                return
            sent[response.response_url] = start
            acks.append(took)

    poller = asyncio.create_task(poll_replies())
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - started
    done_at = time.perf_counter()
    done.set()
    await poller
    replies = [arrivals[u] - t for u, t in sent.items() if u in arrivals]
    return {"acks": acks, "replies": replies, "errors": errors, "wall": wall,
            "missing": len(sent) - len(replies)}


async def measured(pid: int, run: Any) -> dict[str, object]:
    """The run's figures plus the CPU the app and this process (load + emulators) used."""
    app0, me0, t0 = cpu_seconds(pid), cpu_seconds(os.getpid()), time.perf_counter()
    result = await run
    span = time.perf_counter() - t0
    result["app_cpu"] = (cpu_seconds(pid) - app0) / span
    result["bench_cpu"] = (cpu_seconds(os.getpid()) - me0) / span
    return result


def row(name: str, result: dict[str, object]) -> str:
    acks = result["acks"]
    replies = result["replies"]
    assert isinstance(acks, list) and isinstance(replies, list)
    ms = [f"{percentile(acks, p) * 1000:8.1f}" for p in (50, 95, 99)]
    rp = [f"{percentile(replies, p) * 1000:8.1f}" for p in (50, 95, 99)]
    over = sum(1 for a in acks if a > ACK_LIMIT)
    return (f"| {name:<10} | {len(acks):5d} | {result['errors']:3d} | {' | '.join(ms)} | "
            f"{max(acks) * 1000:8.1f} | {over:3d} | {' | '.join(rp)} | {result['missing']:4d} |"
            f" {result['wall']:6.1f} | {result['app_cpu']:4.0%} | {result['bench_cpu']:4.0%} |")


async def main() -> None:
    with SlackEmulator() as slack, DSSEmulator() as dss, \
            tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
        config = Path(tmp) / "switchboard.toml"
        config.write_text(f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n')
        port = free_port()
        env = {"SLACK_BOT_TOKEN": "xoxb-bench-bot", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": f"{slack.url}/api/", "SWITCHBOARD_DATA_DIR": tmp,
               "SWITCHBOARD_CONFIG": str(config), "SWITCHBOARD_PORT": str(port)}
        results = {}
        with process([python(), "-m", "bot", "--log-level", "WARNING", "run"], env,
                     f"http://127.0.0.1:{port}/healthz") as bot:
            async with SlackDriver(slack, f"http://127.0.0.1:{port}/slack/events", SECRET,
                                   timeout=30) as driver:
                await link_alice(driver, slack)
                await fire(driver, slack, n=50, in_flight=10, reply_marker="Running tasks")
                results["switchboard"] = await measured(
                    bot.pid, fire(driver, slack, n=N, in_flight=IN_FLIGHT,
                                  reply_marker="Running tasks"))
        bare_port = free_port()
        with process([python(), "bench/bare_app.py", str(bare_port), SECRET,
                      f"{slack.url}/api/"], {}, f"http://127.0.0.1:{bare_port}/healthz") as bare:
            async with SlackDriver(slack, f"http://127.0.0.1:{bare_port}/slack/events", SECRET,
                                   timeout=30) as driver:
                await fire(driver, slack, n=50, in_flight=10, reply_marker="ok")
                results["bare bolt"] = await measured(
                    bare.pid, fire(driver, slack, n=N, in_flight=IN_FLIGHT, reply_marker="ok"))
    print(f"\nAck latency: {N} signed `/dss futures` commands, {IN_FLIGHT} in flight "
          f"(times in ms; reply = until the answer reached the Slack emulator)\n")
    print("| app        |  acks | err |  ack p50 |  ack p95 |  ack p99 |  ack max | >3s |"
          " rep p50 |  rep p95 |  rep p99 | miss | wall s | app cpu | load+emu cpu |")
    print("|" + "---|" * 15)
    for name, result in results.items():
        print(row(name, result))
    ours = percentile(results["switchboard"]["acks"], 99)  # type: ignore[arg-type]
    bare = percentile(results["bare bolt"]["acks"], 99)  # type: ignore[arg-type]
    print(f"\nack p99 ratio (switchboard / bare bolt): {ours / bare:.2f}")


async def link_alice(driver: SlackDriver, slack: SlackEmulator) -> None:
    await driver.command("alice", "/ops", "link dss")
    view = await driver.wait_for(lambda: slack.views_opened("alice")
                                 and slack.views_opened("alice")[-1])
    await driver.submit("alice", view, {"field_api_key": DSS_DEMO["alice"]["api_key"]})
    await driver.wait_for(lambda: "Linked" in str(slack.view(view.id).blocks), timeout=20)


if __name__ == "__main__":
    asyncio.run(main())
