"""Charts in the digest fan-out (bench/digest_fanout.py): what drawing a digest's charts adds
per digest, next to the same digest without charts, and what the cache saves when many digests
share one picture. Measured in this process with the bot's own code, on one user's digest of
all five platforms (the world of the fan-out), warm, best of REPEAT; bounded: SHARED digests.

- without charts: compose() only (the text digest, as with `charts = false`).
- with charts, nothing cached: compose() + drawing its charts (bot.charts.Pictures) with an empty
  cache each time, i.e. every chart of the digest drawn (worst case: every user's data differs).
- memory: matplotlib's import (RSS before and after the first draw, once per process) and the
  Python heap peak of one digest's drawing (tracemalloc).
- cache: SHARED digests with the same data, each with its charts, through one cache (drawn
  once) against a fresh cache each (drawn SHARED times: SAMPLE of them timed, scaled).
"""

from __future__ import annotations

import asyncio
import os
import time
import tracemalloc
from typing import Any

from bench import _world as w
from bench.common import rss_mb
from bot.charts import Pictures
from bot.config import Settings
from bot.digests import compose as composer
from bot.services import open_services

REPEAT = 3
SHARED = int(os.environ.get("BENCH_CHART_SHARED", "50"))
SAMPLE = 5  # digests drawn without the cache, scaled to SHARED (keeps the run bounded)


async def measure(settings: Settings) -> dict[str, Any]:
    services = open_services(settings)
    try:
        gates = composer.Gates(settings.digest_platform_concurrency)
        owner = w.user_id(0)
        targets = await composer.resolve_targets(services, owner, "all")

        async def digest() -> composer.Digest:
            return await composer.compose(
                services,
                owner=owner,
                targets=targets,
                now=services.now(),
                since=None,
                gates=gates,
                heading="bench",
            )

        rss_before = rss_mb(os.getpid())
        first = await digest()
        object.__setattr__(services, "pictures", Pictures())
        await services.pictures.pictures(first.charts)  # imports matplotlib, warms fonts
        rss_after = rss_mb(os.getpid())
        plain = charted = float("inf")
        for _ in range(REPEAT):
            started = time.perf_counter()
            await digest()
            plain = min(plain, time.perf_counter() - started)
            started = time.perf_counter()
            made = await digest()
            object.__setattr__(services, "pictures", Pictures())  # nothing cached
            drawn = await services.pictures.pictures(made.charts)
            charted = min(charted, time.perf_counter() - started)
        tracemalloc.start()
        object.__setattr__(services, "pictures", Pictures())
        await services.pictures.pictures((await digest()).charts)
        heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

        shared = [await digest() for _ in range(SHARED)]
        started = time.perf_counter()
        one = Pictures()
        object.__setattr__(services, "pictures", one)
        await asyncio.gather(*(services.pictures.pictures(d.charts) for d in shared))
        cached = time.perf_counter() - started
        started = time.perf_counter()
        for d in shared[:SAMPLE]:  # bounded: a sample, scaled to SHARED
            object.__setattr__(services, "pictures", Pictures())
            await services.pictures.pictures(d.charts)
        uncached = (time.perf_counter() - started) * len(shared) / min(SAMPLE, len(shared))
    finally:
        await services.aclose()
    return {
        "charts": len(drawn),
        "plain": plain,
        "charted": charted,
        "import_mb": rss_after - rss_before,
        "heap_mb": heap_peak,
        "cached": cached,
        "uncached": uncached,
        "draws_cached": one.draws,
        "shared": SHARED,
    }


def report(r: dict[str, Any]) -> None:
    added = r["charted"] - r["plain"]
    print(
        f"charts: one digest of all five platforms carries {r['charts']} chart(s); "
        f"without charts {r['plain'] * 1000:.0f} ms, with charts drawn "
        f"{r['charted'] * 1000:.0f} ms (+{added * 1000:.0f} ms a digest, "
        f"ratio {r['charted'] / r['plain']:.2f}); memory: matplotlib loaded once "
        f"+{r['import_mb']:.0f} MB RSS, drawing one digest's charts peaks at "
        f"{r['heap_mb']:.1f} MB of Python heap"
    )
    print(
        f"chart cache: {r['shared']} digests sharing one set of pictures: "
        f"{r['cached']:.2f} s through one cache ({r['draws_cached']} draws) against "
        f"~{r['uncached']:.2f} s drawing each (scaled from {SAMPLE}; "
        f"ratio {r['uncached'] / r['cached']:.1f})\n"
    )
