"""Replicas: signed commands per second and ack latency for one process on SQLite, one on
PostgreSQL and two replicas on PostgreSQL, in one run (ratios against the SQLite process);
then failover: the leader killed (kill -9) → the standby leading → the next due digest
posted, over several kills.

    .venv/bin/python -m bench.replicas                     # about 3 minutes on 2 cores
    BENCH_SECONDS=10 BENCH_IN_FLIGHT=40 BENCH_KILLS=5 .venv/bin/python -m bench.replicas

Throughput: closed loop, BENCH_IN_FLIGHT (default 40) signed `/dss futures` commands in
flight for BENCH_SECONDS (default 8), after a 2-second warm-up; with two replicas the load
generator spreads the commands over both, round robin (as a load balancer would). Figures:
acked commands per second, ack p50 / p99 (from send to the HTTP 200), replies missing.
PostgreSQL: SWITCHBOARD_BENCH_POSTGRES_URL (a database the bench may fill), else a throwaway
server from Debian's package (tests/postgres.py). Everything on 127.0.0.1; the emulators, the
generators and each replica are processes of their own.

Failover: two replicas on a fresh database with `leader_retry` 1 s. Before each kill a digest
is made due BENCH_DUE_AFTER seconds after the kill (default 0.3: before the standby can lead;
an `every 5m` subscription anchored so its next run falls then). The leader (per /readyz) is
killed with SIGKILL; the bench measures the time until the other says it leads and until that
digest is posted in #ops (the Slack emulator counts it), then checks, past the recovery's
settle, that it was posted exactly once. "Late" is the post's delay past its due time. The
killed replica is started again and waits as the standby. A digest already in flight when
the leader dies (claimed, not yet posted) waits for `digest_recovery_settle` before the new
leader posts it (tests/e2e/test_replicas.py); that bound is configuration, not measured here.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.ack_latency import SECRET, emulators, load
from bench.common import free_port, percentile, process, python

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
IN_FLIGHT = int(os.environ.get("BENCH_IN_FLIGHT", "40"))
KILLS = int(os.environ.get("BENCH_KILLS", "3"))
DUE_AFTER = float(os.environ.get("BENCH_DUE_AFTER", "0.3"))
# BENCH_ONLY=failover skips the throughput part.
ONLY = os.environ.get("BENCH_ONLY", "")
SETTLE = 10.0  # digest_recovery_settle in the failover run: a late duplicate would show


def postgres() -> tuple[Any, Any]:
    """(a function giving a fresh database URL, the server to stop or None)."""
    url = os.environ.get("SWITCHBOARD_BENCH_POSTGRES_URL")
    if url:
        return (lambda: url), None
    from tests.postgres import PostgresServer

    server = PostgresServer.start()
    return server.new_database, server


def start_bot(
    stack: ExitStack,
    emu: dict[str, Any],
    tmp: Path,
    name: str,
    database: str | None,
    **settings: Any,
) -> dict[str, Any]:
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "switchboard.toml"
    config.write_text(f'[[dss]]\nname = "prod"\nurl = "{emu["dss"]}"\n')
    data = tmp / name
    data.mkdir(exist_ok=True)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-bench-bot",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{emu['slack']}/api/",
        "SWITCHBOARD_DATA_DIR": str(data),
        "SWITCHBOARD_CONFIG": str(config),
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_SECRET_KEY": emu["key"],
        **{f"SWITCHBOARD_{k.upper()}": str(v) for k, v in settings.items()},
    }
    if database:
        env["SWITCHBOARD_DATABASE_URL"] = database
    proc = stack.enter_context(
        process(
            [python(), "-m", "bot", "--log-level", "WARNING", "run"],
            env,
            f"http://127.0.0.1:{port}/healthz",
        )
    )
    return {"proc": proc, "url": f"http://127.0.0.1:{port}", "env": env}


def throughput(
    emu: dict[str, Any], tmp: Path, setup: str, database: str | None, replicas: int
) -> dict[str, Any]:
    with ExitStack() as stack:
        folder = tmp / setup.replace(" ", "-").replace(",", "")
        bots = [start_bot(stack, emu, folder, f"r{i}", database) for i in range(replicas)]
        httpx.post(
            f"{emu['slack']}/__bench__/link",
            timeout=60,
            json={"events_url": f"{bots[0]['url']}/slack/events", "secret": SECRET},
        ).raise_for_status()
        base = {k: emu[k] for k in ("slack", "alice", "channel", "channel_name", "dss_key")}
        spec = {
            **base,
            "kind": "command",
            "target": [f"{b['url']}/slack/events" for b in bots],
            "secret": SECRET,
            "marker": "Running tasks",
            "mode": "closed",
            "in_flight": IN_FLIGHT,
            "seconds": SECONDS,
        }
        load({**spec, "seconds": 2})  # warm-up
        result = load(spec)
    acks = result["acks"]
    wall = result["wall"]
    return {
        "setup": setup,
        "rate": len(acks) / wall if wall else 0.0,
        "p50": percentile(acks, 50),
        "p99": percentile(acks, 99),
        "errors": result["errors"],
        "missing": result["missing"],
    }


def readyz(bot: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(httpx.get(f"{bot['url']}/readyz", timeout=2).json())
    except (httpx.HTTPError, ValueError):
        return {}


def wait(predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.02)
    return value


def due_digest(database: str, owner: str, channel: str, due: datetime) -> int:
    """A DSS digest for `owner` in `channel` whose next run falls at `due`: `every 5m` is
    anchored at its creation (bot/triggers.py), so it is created five minutes before."""
    from bot.store import Store
    from bot.store import subscriptions as subs

    store = Store(database)
    try:
        row = store.run_sync(
            subs.add,
            {
                "owner": owner,
                "kind": "digest",
                "platforms": "dss",
                "trigger": "every 5m",
                "tz": "UTC",
                "channel": channel,
                "skip_empty": 0,
                "created_at": (due - timedelta(minutes=5)).isoformat(),
            },
        )
    finally:
        store.close()
    return int(row["id"])


def digests_posted(emu: dict[str, Any], subscription: int) -> int:
    answer = httpx.post(
        f"{emu['slack']}/__bench__/digests", json={"subscription": subscription}, timeout=10
    )
    return int(answer.json()["posts"])


def failover(emu: dict[str, Any], tmp: Path, database: str) -> list[dict[str, float]]:
    """Per kill: seconds from the leader's kill -9 to the standby leading, to the digest that
    fell due meanwhile being posted, and that post's delay past its due time."""
    figures = []
    settings = {"leader_retry": 1.0, "digest_recovery_settle": SETTLE}
    with ExitStack() as outer:
        bots = [
            start_bot(outer, emu, tmp / "failover", f"r{i}", database, **settings) for i in range(2)
        ]
        httpx.post(
            f"{emu['slack']}/__bench__/link",
            timeout=60,
            json={"events_url": f"{bots[0]['url']}/slack/events", "secret": SECRET},
        ).raise_for_status()
        for n in range(KILLS):
            leader = wait(lambda: next((b for b in bots if readyz(b).get("leader")), None), 60)
            other = next(b for b in bots if b is not leader)
            due = datetime.now(UTC) + timedelta(seconds=DUE_AFTER + 3)
            subscription = due_digest(database, emu["alice"], emu["channel"], due)
            # Kill DUE_AFTER seconds before the run: the dead leader never starts it.
            time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - DUE_AFTER))
            os.kill(leader["proc"].pid, signal.SIGKILL)
            killed, killed_wall = time.monotonic(), time.time()
            wait(lambda other=other: readyz(other).get("leader"), 60)
            leads = time.monotonic() - killed
            wait(lambda sub=subscription: digests_posted(emu, sub), 120)
            posted, posted_wall = time.monotonic() - killed, time.time()
            time.sleep(SETTLE + 1)  # past the new leader's recovery settle
            figure = {
                "leads": leads,
                "posted": posted,
                "late": max(0.0, posted_wall - due.timestamp()),
                "due_after": due.timestamp() - killed_wall,
                "posts": float(digests_posted(emu, subscription)),
            }
            figures.append(figure)
            print(
                f"  kill {n + 1}: the standby leads after {leads:5.2f} s; the digest due "
                f"{figure['due_after']:.1f} s after the kill was posted after {posted:5.2f} s "
                f"({figure['late']:.2f} s late), {figure['posts']:.0f} time(s)",
                flush=True,
            )
            leader["proc"].wait(10)
            # The killed replica comes back as the standby.
            i = bots.index(leader)
            bots[i] = start_bot(outer, emu, tmp / "failover", f"r{i}-{n}", database, **settings)
    return figures


def main() -> None:
    from cryptography.fernet import Fernet

    fresh, server = postgres()
    try:
        with emulators() as emu, tempfile.TemporaryDirectory(prefix="bench-rep-") as name:
            emu["key"] = Fernet.generate_key().decode()
            tmp = Path(name)
            rows = (
                []
                if ONLY == "failover"
                else [
                    throughput(emu, tmp, "1 process, SQLite", None, 1),
                    throughput(emu, tmp, "1 process, PostgreSQL", fresh(), 1),
                    throughput(emu, tmp, "2 replicas, PostgreSQL", fresh(), 2),
                ]
            )
            kills = failover(emu, tmp, fresh())
    finally:
        if server is not None:
            server.stop()
    report(rows, kills)


def report(rows: list[dict[str, Any]], kills: list[dict[str, float]]) -> None:
    if rows:
        base = rows[0]["rate"] or float("nan")
        print(
            f"\nSigned `/dss futures` commands, closed loop, {IN_FLIGHT} in flight, "
            f"{SECONDS:g} s, {os.cpu_count()} CPU(s)"
        )
        print("\n| setup | commands/s | vs SQLite | ack p50 ms | ack p99 ms | errors | missing |")
        print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['setup']} | {r['rate']:.0f} | {r['rate'] / base:.2f}x | "
            f"{r['p50'] * 1000:.1f} | {r['p99'] * 1000:.1f} | {r['errors']} | "
            f"{r['missing']} |"
        )
    if kills:

        def spread(key: str) -> str:
            values = [k[key] for k in kills]
            return (
                f"{min(values):.2f} to {max(values):.2f} s (mean {sum(values) / len(values):.2f})"
            )

        print(f"\nFailover over {len(kills)} kill(s) (leader_retry 1 s, kill -9):")
        print(f"  the standby leads after          {spread('leads')}")
        print(f"  the digest due {DUE_AFTER:g} s after the kill")
        print(f"    is posted after                {spread('posted')}")
        print(f"    late past its due time by      {spread('late')}")
        twice = [k for k in kills if k["posts"] != 1]
        print(f"  posted exactly once: {len(kills) - len(twice)} of {len(kills)}")


if __name__ == "__main__":
    main()
