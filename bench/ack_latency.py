"""Ack latency and CPU per command: the bot next to a bare Bolt app and a raw Starlette route,
under the same load, in the same run.

    .venv/bin/python -m bench.ack_latency                 # about 3 minutes on 2 cores
    BENCH_RATES=100 BENCH_SECONDS=20 .venv/bin/python -m bench.ack_latency
    BENCH_APPS=bot,bare .venv/bin/python -m bench.ack_latency

Four kinds of process, so that no one of them takes CPU from another inside one interpreter:
- the emulators (bench/_ack_emulators.py): Slack and DSS on 127.0.0.1;
- the server measured, one at a time: the bot as `python -m bot run` (uvicorn, HTTP mode, its
  default settings), a bare slack-bolt AsyncApp whose /dss handler only acks and responds
  (bench/bare_app.py), and a raw Starlette route that checks the signature and posts "ok" to the
  response_url (bench/raw_app.py);
- the load generator (bench/_ack_load.py, aiohttp), a new process for every load;
- this orchestrator, which sleeps while a load runs.

Loads, for each server: open loop at each of BENCH_RATES (default 50, 100, 200 signed
`/dss futures` commands a second) for BENCH_SECONDS (default 6) each, then closed loop with
BENCH_IN_FLIGHT (default 50) commands in flight for the same time. A 2-second closed-loop
warm-up comes first and is not counted.

Figures: ack = from when a command was due (open loop) or sent (closed) to its HTTP 200; reply
= to the arrival at the Slack emulator of the post that holds the answer (the bot's futures
list after a real DSS call; "ok" for the others). Server CPU per command = the server process's
own user + system CPU time (/proc/<pid>/stat) over the load and its replies, divided by the
commands sent. The platform's own response time: the generator calls the DSS emulator's
futures list directly at the reference rate (BENCH_REFERENCE_RATE, default 100/s).
The emulator process collects its garbage only between loads (bench/_ack_emulators.py says
why); how long the collection after each load took is printed, as that pause is left out.
The bot's own `switchboard_slack_ack_seconds` histogram is read from /metrics before and after
each load and printed beside the client's figures (server side: from the route's first line to
its response, so it leaves out uvicorn and the network).
A warning is printed for every load during which the generator used more than 70 % of a core:
its figures are then partly the generator's. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, cpu_seconds, free_port, percentile, process, python

RATES = [float(r) for r in os.environ.get("BENCH_RATES", "50,100,200").split(",") if r]
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
IN_FLIGHT = int(os.environ.get("BENCH_IN_FLIGHT", "50"))
REFERENCE_RATE = float(os.environ.get("BENCH_REFERENCE_RATE", "100"))
APPS = [a for a in os.environ.get("BENCH_APPS", "raw,bare,bot").split(",") if a]
SECRET = "bench-signing-secret"
ACK_LIMIT = 3.0  # Slack's rule: a later ack is a failure the person sees
GENERATOR_LIMIT = 0.7  # of one core
MARKERS = {"bot": "Running tasks", "bare": "ok", "raw": "ok"}
NAMES = {"bot": "switchboard", "bare": "bare bolt", "raw": "raw route"}


@contextmanager
def emulators() -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen(
        [python(), "-m", "bench._ack_emulators"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process did not start")
        info = json.loads(line)
        info["pid"] = proc.pid
        yield info
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def load(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [python(), "-m", "bench._ack_load", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def histogram(url: str) -> dict[float, float]:
    """The bot's ack histogram: upper bound (s) -> cumulative count."""
    text = httpx.get(url, timeout=10).text
    buckets = {}
    for match in re.finditer(
        r'^switchboard_slack_ack_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, re.M
    ):
        buckets[float(match.group(1))] = float(match.group(2))
    return buckets


def server_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The upper bound of the bucket holding the q-th quantile of what came in between."""
    diff = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = diff[-1][1] if diff else 0.0
    for le, count in diff:
        if total and count >= q * total:
            return le
    return float("nan")


def settle(slack: str) -> dict[str, float]:
    """The emulator process collects its garbage between loads, never during one
    (bench/_ack_emulators.py says why)."""
    response = httpx.post(f"{slack}/__bench__/settle", timeout=60)
    response.raise_for_status()
    return dict(response.json())


def measure(app: str, pid: int, spec: dict[str, Any], metrics: str | None) -> dict[str, Any]:
    before = histogram(metrics) if metrics else {}
    settle(spec["slack"])
    cpu0 = cpu_seconds(pid)
    result = load(spec)
    result["server_cpu"] = cpu_seconds(pid) - cpu0
    result["emulator_settle"] = settle(spec["slack"])
    if metrics:
        after = histogram(metrics)
        result["server_ack"] = {
            str(q): server_quantile(before, after, q) for q in (0.5, 0.95, 0.99)
        }
        result["buckets"] = {str(le): after[le] - before.get(le, 0.0) for le in after}
    return result


def start(app: str, stack: ExitStack, emu: dict[str, Any], tmp: Path) -> tuple[int, str]:
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    if app == "bot":
        config = tmp / "switchboard.toml"
        config.write_text(f'[[dss]]\nname = "prod"\nurl = "{emu["dss"]}"\n')
        data = tmp / "data"
        data.mkdir(exist_ok=True)
        env = {
            "SLACK_BOT_TOKEN": "xoxb-bench-bot",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": f"{emu['slack']}/api/",
            "SWITCHBOARD_DATA_DIR": str(data),
            "SWITCHBOARD_CONFIG": str(config),
            "SWITCHBOARD_PORT": str(port),
        }
        proc = stack.enter_context(
            process([python(), "-m", "bot", "--log-level", "WARNING", "run"], env, health)
        )
        httpx.post(
            f"{emu['slack']}/__bench__/link",
            timeout=60,
            json={"events_url": f"http://127.0.0.1:{port}/slack/events", "secret": SECRET},
        ).raise_for_status()
    elif app == "bare":
        proc = stack.enter_context(
            process(
                [python(), "-m", "bench.bare_app", str(port), SECRET, f"{emu['slack']}/api/"],
                {},
                health,
            )
        )
    else:
        proc = stack.enter_context(
            process([python(), "-m", "bench.raw_app", str(port), SECRET], {}, health)
        )
    return proc.pid, f"http://127.0.0.1:{port}"


def loads() -> list[tuple[str, dict[str, Any]]]:
    out = [(f"{r:g}/s", {"mode": "open", "rate": r}) for r in RATES]
    out.append((f"closed {IN_FLIGHT}", {"mode": "closed", "in_flight": IN_FLIGHT}))
    return out


def ms(value: float) -> str:
    return f"{value * 1000:8.1f}"


def main() -> None:
    results: dict[tuple[str, str], dict[str, Any]] = {}
    with emulators() as emu, tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp_name:
        base = {k: emu[k] for k in ("slack", "alice", "channel", "channel_name", "dss_key")}
        settle(emu["slack"])
        platform = load(
            {
                **base,
                "kind": "dss",
                "target": emu["dss"],
                "mode": "open",
                "rate": REFERENCE_RATE,
                "seconds": SECONDS,
            }
        )
        for app in APPS:
            with ExitStack() as stack:
                pid, url = start(app, stack, emu, Path(tmp_name))
                metrics = f"{url}/metrics" if app == "bot" else None
                spec = {
                    **base,
                    "kind": "command",
                    "target": f"{url}/slack/events",
                    "secret": SECRET,
                    "marker": MARKERS[app],
                    "seconds": SECONDS,
                }
                load({**spec, "mode": "closed", "in_flight": 10, "seconds": 2})  # warm-up
                for name, shape in loads():
                    results[(app, name)] = measure(app, pid, {**spec, **shape}, metrics)
                    time.sleep(1)  # let the server settle between loads
    report(results, platform)


def report(results: dict[tuple[str, str], dict[str, Any]], platform: dict[str, Any]) -> None:
    print(
        f"\nAck latency: signed `/dss futures` commands, {SECONDS:g} s per load, "
        f"{os.cpu_count()} CPU(s); times in ms"
    )
    print(
        "\n| app | load | sent | err | ack p50 | ack p95 | ack p99 | ack max | >3s |"
        " reply p50 | reply p99 | missing | server CPU ms/cmd | generator CPU |"
        " emulator GC after ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    warnings = []
    for (app, name), r in results.items():
        acks, replies = r["acks"], r["replies"]
        per = r["server_cpu"] / r["sent"] * 1000 if r["sent"] else float("nan")
        gen = r["cpu"] / r["wall"] if r["wall"] else 0.0
        over = sum(1 for a in acks if a > ACK_LIMIT)
        print(
            f"| {NAMES[app]} | {name} | {r['sent']} | {r['errors']} | "
            f"{ms(percentile(acks, 50))} | {ms(percentile(acks, 95))} | "
            f"{ms(percentile(acks, 99))} | {ms(max(acks, default=float('nan')))} | {over} | "
            f"{ms(percentile(replies, 50))} | {ms(percentile(replies, 99))} | "
            f"{r['missing']} | {per:6.2f} | {gen:4.0%} | {r['emulator_settle']['ms']:5.1f} |"
        )
        if gen > GENERATOR_LIMIT:
            warnings.append(
                f"WARNING: the generator used {gen:.0%} of a core during "
                f"{NAMES[app]} {name}: those figures are partly the generator's."
            )
        if r["lag_max"] > 0.1:
            warnings.append(
                f"note: during {NAMES[app]} {name} the generator sent up to "
                f"{r['lag_max'] * 1000:.0f} ms late (counted in the ack times)."
            )
    plat = platform["acks"]
    print(
        f"\nDSS emulator's own response time at {REFERENCE_RATE:g}/s, called directly: "
        f"p50 {percentile(plat, 50) * 1000:.1f} ms, p99 {percentile(plat, 99) * 1000:.1f} ms "
        f"({platform['sent']} calls, {platform['errors']} errors)"
    )

    print("\nRatios, same run (bot : bare bolt : raw route = x : 1 : y, so bot/bare is x)")
    print(
        "\n| load | CPU/cmd bot:bare:raw | ack p50 bot/bare | ack p99 bot/bare |"
        " reply p50 bot / DSS p50 |"
    )
    print("|---|---|---|---|---|")
    for name, _ in loads():
        bot, bare, raw = (results.get((a, name)) for a in ("bot", "bare", "raw"))
        if not (bot and bare):
            continue
        cpu = [
            r["server_cpu"] / r["sent"] if r and r["sent"] else float("nan")
            for r in (bot, bare, raw)
        ]
        cpu_ratio = f"{cpu[0] / cpu[1]:.2f} : 1 : {cpu[2] / cpu[1]:.2f}"
        p50 = percentile(bot["acks"], 50) / percentile(bare["acks"], 50)
        p99 = percentile(bot["acks"], 99) / percentile(bare["acks"], 99)
        reply = percentile(bot["replies"], 50) / percentile(plat, 50)
        print(f"| {name} | {cpu_ratio} | {p50:.2f} | {p99:.2f} | {reply:.2f} |")

    bot_rows = [(name, r) for (app, name), r in results.items() if app == "bot"]
    if bot_rows:
        print(
            "\nThe bot's own ack histogram (/metrics, server side, bucket upper bounds) beside"
            " the client's"
        )
        print(
            "\n| load | server p50 ≤ | server p95 ≤ | server p99 ≤ | client p50 | client p95 |"
            " client p99 |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, r in bot_rows:
            s = r.get("server_ack", {})
            print(
                f"| {name} | {ms(s.get('0.5', float('nan')))} | "
                f"{ms(s.get('0.95', float('nan')))} | {ms(s.get('0.99', float('nan')))} | "
                f"{ms(percentile(r['acks'], 50))} | {ms(percentile(r['acks'], 95))} | "
                f"{ms(percentile(r['acks'], 99))} |"
            )
        name, r = bot_rows[min(1, len(bot_rows) - 1)]
        counts = r.get("buckets", {})
        if counts:
            print(
                f"\nBuckets at {name} (cumulative count of acks at or under):  "
                + "  ".join(
                    f"{float(le) * 1000:g} ms: {int(c)}" for le, c in counts.items() if le != "inf"
                )
            )
    for line in warnings:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
