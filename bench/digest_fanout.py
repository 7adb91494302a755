"""Digest fan-out: N users' digests all due at the same moment, delivered to N DMs.

    .venv/bin/python -m bench.digest_fanout                       # 100, 1,000, 5,000 users
    BENCH_SIZES=100,1000 BENCH_TIME_LIMIT=300 .venv/bin/python -m bench.digest_fanout

The world: all five platform emulators (bot.demo) with 100 ms added to every answer, and the
Slack emulator enforcing Slack's chat.postMessage limits: 1 message a second per channel and a
workspace budget of BENCH_WORKSPACE_PER_MINUTE (default 600 a minute; Slack documents "several
hundred messages per minute" per workspace and no exact figure). The Slack emulator itself
answers without added latency.

Set-up is NOT the path measured: for each size the SQLite database is filled directly with the
bot's own store functions and vault (bench/_world.py): N Slack users, each linked to all five
platforms with the demo credential each platform's own verify() accepted (own Fernet
ciphertext per row), and each owning one `every 5m` digest of all their platforms to their
DM. The anchor of every subscription is put 5 minutes before a moment T a few seconds after
the bot will be up, so all N jobs fall due at T.

What is measured: the real bot, `python -m bot run` in its own process, with its default
settings except the Slack budget (SWITCHBOARD_SLACK_WORKSPACE_PER_MINUTE set to the emulator's).
At T, APScheduler fires the N jobs and the bot composes (platform calls under its
per-instance concurrency gate, `digest_platform_concurrency`) and posts them (its own pacer;
429s waited out). Wall = from T until the Nth digest reached the Slack emulator (polled every
50 ms). A size stops at BENCH_TIME_LIMIT seconds after T and reports what was delivered.

References measured in the same run:
- chain: the slowest platform section of ONE user's digest (the bot's own section code,
  in this process, warm: best of 3). No digest can arrive sooner.
- Slack budget: with W posts a minute, N posts need at least 60 * floor((N - 1) / W) s after
  the first one. Lower bound = chain + budget.
- steady bound: the same budget spent evenly from T (chain + 60 * (N - 1) / W): a sender
  whose digests become ready over time rather than all at T meets this one; the lower bound
  above assumes the first W digests all composed at T.
- gate bound: the bot's per-instance gate (`digest_platform_concurrency`, C) admits C digest
  sections at a time per platform instance, and a section holds it for its whole chain, so
  N users need at least N * (slowest section) / C seconds.
- sequential: bench/_sequential.py, official SDKs in a loop, one user after another, run
  for up to BENCH_SEQUENTIAL_LIMIT seconds; sizes beyond what it reached are extrapolated
  from its rate (marked ~).
Charts (bench/_charts.py): one digest with its charts drawn against the same digest
without, time and memory, and the chart cache's effect when many digests share a picture.
CPU during the fan-out: the bot process's (/proc) and this process's, which serves every
emulator (their threads share one interpreter, so one core is all they can use); a warning is
printed when the emulators used more than 70 % of a core, as the figures are then partly theirs.
Pictures: a digest's charts are uploaded after its text on a budget of their own (the bot's
`slack_uploads_per_minute`); wall counts the texts, and the pictures shared by then are counted.
No network beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import _charts
from bench import _world as w
from bench.common import ROOT, cpu_seconds, python, rss_mb
from bot.config import Settings
from bot.digests import compose as composer
from bot.digests.delivery import EVENT_TYPE
from bot.services import open_services
from emulators.slack import SlackEmulator

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "100,1000,5000").split(",") if s]
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.1"))
PER_MINUTE = int(os.environ.get("BENCH_WORKSPACE_PER_MINUTE", "600"))
PER_CHANNEL = 1.0
TIME_LIMIT = float(os.environ.get("BENCH_TIME_LIMIT", "300"))
SEQ_LIMIT = float(os.environ.get("BENCH_SEQUENTIAL_LIMIT", "60"))
INTERVAL = timedelta(minutes=5)


def digest_posts(slack: SlackEmulator) -> list[Any]:
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.ok and ((c.args.get("metadata") or {}).get("event_type") == EVENT_TYPE)
    ]


async def measure_chain(settings: Settings, platforms: Any) -> dict[str, Any]:
    """One user's digest, section by section, with the bot's own code (warm, best of 3);
    and the calls each instance received for that one digest."""
    services = open_services(settings)
    try:
        gates = composer.Gates(settings.digest_platform_concurrency)
        owner = w.user_id(0)
        targets = await composer.resolve_targets(services, owner, "all")
        for _ in range(2):  # warm: logins, tokens, connections
            await composer.compose(
                services,
                owner=owner,
                targets=targets,
                now=services.now(),
                since=None,
                gates=gates,
                heading="warm-up",
            )
        w.clear_request_logs(platforms)
        await composer.compose(
            services,
            owner=owner,
            targets=targets,
            now=services.now(),
            since=None,
            gates=gates,
            heading="count",
        )
        calls = {name: len(e.requests) for name, e in platforms.emulators.items()}
        per_platform = {}
        for target in targets:
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                await composer.compose(
                    services,
                    owner=owner,
                    targets=[target],
                    now=services.now(),
                    since=None,
                    gates=gates,
                    heading="one",
                )
                best = min(best, time.perf_counter() - started)
            per_platform[target.platform] = best
        best_all = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            await composer.compose(
                services,
                owner=owner,
                targets=targets,
                now=services.now(),
                since=None,
                gates=gates,
                heading="all",
            )
            best_all = min(best_all, time.perf_counter() - started)
    finally:
        await services.aclose()
    return {
        "per_platform": per_platform,
        "chain": max(per_platform.values()),
        "one_digest": best_all,
        "calls": calls,
    }


def fanout(
    n: int, root: Path, platforms: Any, slack: SlackEmulator, key: str, config: Path, verified: Any
) -> dict[str, Any]:
    tmp = root / f"fanout-{n}"
    tmp.mkdir()
    # Seconds from now until T: the bot must be up (jobs built) before. BENCH_LEAD: more, on a
    # busy machine where start-up is slow.
    lead = float(os.environ.get("BENCH_LEAD", "0")) or 8 + n / 400
    settle_fill = time.monotonic()
    # T is chosen after the fill, so the fill time does not eat into the lead.
    w.populate(tmp / "switchboard.db", key, verified, n, subscription=None)
    fill = time.monotonic() - settle_fill
    t_due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead + 1)
    sub = {
        "kind": "digest",
        "platforms": "all",
        "trigger": "every 5m",
        "tz": "UTC",
        "channel": "",
        "skip_empty": 0,
        "created_at": (t_due - INTERVAL).isoformat(),
    }
    w.populate(tmp / "switchboard.db", key, {}, n, subscription=sub)
    slack.enforce_rate_limits(
        per_channel_per_second=PER_CHANNEL, workspace_per_minute=PER_MINUTE
    )  # a fresh budget per size
    before_posts = len(digest_posts(slack))
    before_429 = len([c for c in slack.calls("chat.postMessage") if c.status == 429])
    before_pictures = len([c for c in slack.calls("files.completeUploadExternal") if c.ok])
    env = {
        "SWITCHBOARD_SLACK_WORKSPACE_PER_MINUTE": str(PER_MINUTE),
        "SWITCHBOARD_SLACK_CHANNEL_INTERVAL": str(1 / PER_CHANNEL),
    }
    result: dict[str, Any] = {"n": n, "fill": fill}
    with w.bot_process(tmp, config, key, slack, env) as (proc, up, log_path):
        result["startup"] = up
        if not w.wait_for_log(log_path, "scheduler started", 60):
            raise RuntimeError("the scheduler did not start")
        t0 = t_due.timestamp()
        if time.time() > t0:
            raise RuntimeError(f"the bot took longer than {lead:.0f} s to start; T passed")
        arrivals: list[float] = []
        peak = 0.0
        while time.time() < t0:
            time.sleep(0.01)
        cpu_bot, cpu_us = cpu_seconds(proc.pid), time.process_time()
        while True:
            now = time.time()
            posts = digest_posts(slack)[before_posts:]
            arrivals += [now] * (len(posts) - len(arrivals))
            peak = max(peak, rss_mb(proc.pid))
            if len(arrivals) >= n or now - t0 > TIME_LIMIT:
                break
            time.sleep(0.05)
        result["rss_peak"] = peak
        spent = max(time.time() - t0, 1e-9)
        result["cpu_bot"] = (cpu_seconds(proc.pid) - cpu_bot) / spent
        result["cpu_emulators"] = (time.process_time() - cpu_us) / spent
        result["pictures"] = (
            len([c for c in slack.calls("files.completeUploadExternal") if c.ok]) - before_pictures
        )
    result["delivered"] = len(arrivals)
    result["timeline"] = [
        sum(1 for a in arrivals if a - t0 <= t) for t in range(10, int(TIME_LIMIT) + 20, 10)
    ]
    result["first"] = arrivals[0] - t0 if arrivals else float("nan")
    result["half"] = arrivals[len(arrivals) // 2] - t0 if arrivals else float("nan")
    result["wall"] = arrivals[-1] - t0 if len(arrivals) >= n else float("nan")
    result["stopped"] = len(arrivals) < n
    result["elapsed"] = (arrivals[-1] - t0) if arrivals else TIME_LIMIT
    result["429"] = (
        len([c for c in slack.calls("chat.postMessage") if c.status == 429]) - before_429
    )
    with sqlite3.connect(tmp / "switchboard.db") as db:
        result["ledger"] = dict(
            db.execute("select state, count(*) from deliveries group by state").fetchall()
        )
    return result


def sequential(users: list[str], platforms: Any, slack: SlackEmulator, root: Path) -> dict:
    emus = platforms.emulators
    squonk = platforms.platforms["squonk"][0]
    cfg = {
        "slack_url": f"{slack.url}/api/",
        "slack_token": w.BOT_TOKEN,
        "users": users,
        "time_limit": SEQ_LIMIT,
        "dss": {"url": emus["dss"].url, **w.LINKS["dss"]},
        "mstr": {"url": emus["mstr"].url, **w.LINKS["mstr"]},
        "squonk": {
            "url": squonk["url"],
            "keycloak_url": squonk["keycloak_url"],
            "realm": squonk["realm"],
            "client_id": squonk["client_id"],
            **w.LINKS["squonk"],
        },
        "astakos": {"url": emus["astakos"].url, **w.LINKS["astakos"]},
        "limits": {"url": emus["limits"].url, **w.LINKS["limits"]},
    }
    path = root / f"sequential-{len(users)}.json"
    path.write_text(json.dumps(cfg))
    slack.enforce_rate_limits(per_channel_per_second=PER_CHANNEL, workspace_per_minute=PER_MINUTE)
    out = subprocess.run(
        [python(), "-m", "bench._sequential", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SEQ_LIMIT + 120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the sequential script failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(seconds: float) -> str:
    return "—" if seconds != seconds else f"{seconds:8.1f}"


def main() -> None:
    with (
        ExitStack() as stack,
        w.world(stack) as (platforms, slack),
        tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp_name,
    ):
        root = Path(tmp_name)
        config = root / "switchboard.toml"
        w.write_config(config, platforms.platforms)
        key = w.new_key()
        w.add_slack_users(slack, max(SIZES))
        probe = root / "probe"
        probe.mkdir()
        settings = w.settings_for(probe, config, key, slack)
        verified = asyncio.run(w.verify_all(settings))
        w.set_latency(platforms, LATENCY)
        w.populate(settings.db_path, key, verified, 1, subscription=None)
        chain = asyncio.run(measure_chain(settings, platforms))
        concurrency = settings.digest_platform_concurrency
        print(
            f"\nDigest fan-out: every user linked to all 5 platforms, one digest each, all due"
            f" at the same moment\nplatform emulators +{LATENCY * 1000:.0f} ms per answer;"
            f" Slack emulator enforces {PER_CHANNEL:.0f} msg/s per channel and "
            f"{PER_MINUTE} msgs/min per workspace (the bot is told the same budget)\n"
            f"bot defaults: digest_platform_concurrency={concurrency} per instance; "
            "DB filled directly with the bot's store functions + vault (not through the "
            "link modal)\n"
        )
        print(
            "one user's digest (bot code, warm, best of 3): "
            + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in chain["per_platform"].items())
            + f"; all five {chain['one_digest'] * 1000:.0f} ms"
        )
        print(
            "platform calls per digest: "
            + ", ".join(f"{k} {v}" for k, v in chain["calls"].items())
            + "\n"
        )
        _charts.report(asyncio.run(_charts.measure(settings)))  # charts on vs off, cache

        results = []
        for n in SIZES:
            results.append(fanout(n, root, platforms, slack, key, config, verified))
        seq = sequential([w.user_id(i) for i in range(max(SIZES))], platforms, slack, root)
        seq_rate = seq["seconds"] / max(seq["users"], 1)

        print(
            "| users | wall s | first s | half s | digests/s | chain s | Slack budget s |"
            " lower bound s | steady bound s | gate bound s | sequential s | wall / bound |"
            " wall / steady | 429s | pictures shared | bot CPU | emulators CPU |"
            " start-up s | peak RSS MB |"
        )
        print("|" + "---|" * 19)
        for r in results:
            n = r["n"]
            budget = 60 * ((n - 1) // PER_MINUTE)
            bound = chain["chain"] + budget
            steady = chain["chain"] + 60 * (n - 1) / PER_MINUTE
            gate = n * chain["chain"] / concurrency
            if n <= seq["users"]:
                seq_text = f"{seq_rate * n:.1f}"
            else:
                seq_text = f"~{seq_rate * n:.0f}"
            if r["stopped"]:
                wall = f"stopped at {TIME_LIMIT:.0f}: {r['delivered']}/{n}"
                rate = r["delivered"] / max(r["elapsed"], 1e-9)
                ratio = steady_ratio = "—"
            else:
                wall = fmt(r["wall"]).strip()
                rate = n / r["wall"]
                ratio = f"{r['wall'] / bound:.2f}"
                steady_ratio = f"{r['wall'] / steady:.2f}"
            print(
                f"| {n} | {wall} | {r['first']:.1f} | {r['half']:.1f} | {rate:.1f} |"
                f" {chain['chain']:.2f} | {budget} | {bound:.1f} | {steady:.1f} | {gate:.1f} |"
                f" {seq_text} | {ratio} | {steady_ratio} | {r['429']} | {r['pictures']} |"
                f" {r['cpu_bot']:.0%} | {r['cpu_emulators']:.0%} | {r['startup']:.1f} |"
                f" {r['rss_peak']:.0f} |"
            )
            if r["cpu_emulators"] > 0.7:
                print(
                    f"WARNING: at {n} users the emulators used {r['cpu_emulators']:.0%} of a"
                    " core (one interpreter): the figures are partly theirs."
                )
        print(
            f"\nsequential script (official SDKs, one user after another): {seq['users']} "
            f"users in {seq['seconds']:.1f} s = {seq_rate:.2f} s a user (limit "
            f"{SEQ_LIMIT:.0f} s; ~ = extrapolated from that rate)"
        )
        for r in results:
            timeline = r["timeline"]
            steps = timeline[: timeline.index(r["delivered"]) + 1]
            print(
                f"{r['n']} users, digests delivered by T + 10 s, 20 s, …: "
                + ", ".join(str(k) for k in steps)
            )
        print("ledger states per size: " + "; ".join(f"{r['n']}: {r['ledger']}" for r in results))
        print(
            "fill (direct DB set-up, not measured in wall): "
            + ", ".join(f"{r['n']}: {r['fill']:.1f} s" for r in results)
        )


if __name__ == "__main__":
    main()
