"""Footprint: the bot's resident memory after start-up, empty and with many users.

    .venv/bin/python -m bench.footprint
    BENCH_USERS=2000 .venv/bin/python -m bench.footprint
    BENCH_BOT_PYTHON=/path/to/plain-venv/bin/python .venv/bin/python -m bench.footprint

The bot runs as `python -m bot run` (HTTP mode) against the five platform emulators and the
Slack emulator (this process, 127.0.0.1), with all five platforms configured. Two starts:
1. an empty database;
2. BENCH_USERS (default 10,000) Slack users, each linked to all five platforms (own Fernet
   ciphertext per link) and each owning one subscription, so the scheduler builds one
   APScheduler job per subscription at start-up. Schedules cycle through `daily 09:00`,
   `weekdays 08:30`, `every 30m` and `cron "0 */2 * * *"`; created now, so no run is due or
   missed during the measurement. The database is filled directly with the bot's store
   functions and vault (bench/_world.py), not through the link modal.
VmRSS (from /proc) is read once /healthz answers and the log says the scheduler started,
then again after SETTLE seconds (the figure in the table), with VmHWM (the peak).
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench import _world as w
from bench.common import rss_mb

USERS = int(os.environ.get("BENCH_USERS", "10000"))
SETTLE = float(os.environ.get("BENCH_SETTLE", "5"))
# Seconds to wait for /healthz (50,000 users take minutes to load on a busy machine).
START_TIMEOUT = float(os.environ.get("BENCH_START_TIMEOUT", "600"))
TRIGGERS = ["daily 09:00", "weekdays 08:30", "every 30m", 'cron "0 */2 * * *"']


def hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(tmp: Path, config: Path, key: str, slack: object) -> dict[str, float]:
    with w.bot_process(
        tmp,
        config,
        key,
        slack,  # type: ignore[arg-type]
        timeout=START_TIMEOUT,
    ) as (proc, up, log_path):
        if not w.wait_for_log(log_path, "scheduler started", 120):
            raise RuntimeError("the scheduler did not start")
        ready = time.monotonic()
        first = rss_mb(proc.pid)
        time.sleep(SETTLE)
        jobs = re.findall(
            r"scheduler started with \d+ subscription\(s\) in (\d+) job", log_path.read_text()
        )
        return {
            "startup": up,
            "rss_ready": first,
            "rss": rss_mb(proc.pid),
            "hwm": hwm_mb(proc.pid),
            "jobs": float(jobs[-1]) if jobs else float("nan"),
            "settled": time.monotonic() - ready,
        }


def main() -> None:
    with (
        ExitStack() as stack,
        w.world(stack) as (platforms, slack),
        tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp_name,
    ):
        root = Path(tmp_name)
        config = root / "switchboard.toml"
        w.write_config(config, platforms.platforms)
        key = w.new_key()
        empty = root / "empty"
        empty.mkdir()
        results = {"empty database": measure(empty, config, key, slack)}

        full = root / "full"
        full.mkdir()
        verified = asyncio.run(w.verify_all(w.settings_for(full, config, key, slack)))
        started = time.monotonic()
        w.populate(
            full / "switchboard.db",
            key,
            verified,
            USERS,
            subscription={
                "kind": "digest",
                "platforms": "all",
                "trigger": TRIGGERS[0],
                "tz": "UTC",
                "channel": "",
                "skip_empty": 0,
                "created_at": datetime.now(UTC).isoformat(),
            },
            triggers=TRIGGERS,
        )
        fill = time.monotonic() - started
        db_mb = (full / "switchboard.db").stat().st_size / 2**20
        name = f"{USERS:,} users, {USERS * 5:,} links, {USERS:,} subscriptions"
        results[name] = measure(full, config, key, slack)

    print(
        f"\nFootprint: `python -m bot run`, 5 platforms configured; VmRSS {SETTLE:.0f} s "
        "after start-up (scheduler jobs built)\n"
    )
    print("| database | jobs | start-up s | RSS at ready MB | RSS settled MB | peak (VmHWM) MB |")
    print("|---|---|---|---|---|---|")
    for label, r in results.items():
        print(
            f"| {label} | {r['jobs']:.0f} | {r['startup']:.1f} | {r['rss_ready']:.0f} |"
            f" {r['rss']:.0f} | {r['hwm']:.0f} |"
        )
    base = results["empty database"]["rss"]
    last = results[name]["rss"]
    print(
        f"\nper user (5 links + 1 subscription + its job): "
        f"{(last - base) * 1024 / USERS:.1f} KB; database file {db_mb:.1f} MB; "
        f"filled directly in {fill:.1f} s (not through the link modal)"
    )


if __name__ == "__main__":
    main()
