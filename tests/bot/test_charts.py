"""bot.charts: matplotlib only when a chart is drawn, alt text in words, one draw per data."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from bot import charts
from bot.charts import Chart, Pictures

# Pillow comes with matplotlib (pyproject): a venv made before charts lacks both until
# `pip install -e '.[test]'` is run again; say so instead of failing collection.
Image = pytest.importorskip(
    "PIL.Image",
    reason="matplotlib (and Pillow) not installed: run .venv/bin/pip install -e '.[test]'",
)

USAGE = Chart(
    charts.USAGE,
    "Astakos quota usage (okeanos)",
    (
        ("CPUs", 9, 10, "9", "10"),
        ("Disk", 2 << 30, 10 << 30, "2 GiB", "10 GiB"),
        ("RAM", 8, 8, "8 GiB", "8 GiB"),
    ),
)
DAILY = Chart(charts.DAILY, "Breaches", (("2026-11-27", 0, 1), ("2026-11-28", 3, 2)))
RUNS = Chart(
    charts.RUNS, "Runs", (("build", 90, "success"), ("nightly", 3720, "failed")), unit="run"
)


def test_importing_the_app_does_not_import_matplotlib():
    code = (
        "import sys, bot.app, bot.server, bot.scheduler, bot.charts, bot.digests.pictures;"
        "print(any(m == 'matplotlib' or m.startswith('matplotlib.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_each_kind_draws_a_png_of_the_stated_size():
    for chart in (USAGE, DAILY, RUNS, Chart(charts.RUNS, "None yet", ())):
        image = Image.open(io.BytesIO(charts.draw(chart)))
        assert image.format == "PNG" and image.size == (charts.WIDTH, charts.HEIGHT)
        # Opaque: the same card on Slack's light and dark themes.
        assert image.mode == "RGBA" and image.getextrema()[3] == (255, 255)


def test_alt_text_says_what_the_picture_shows():
    assert charts.alt(USAGE) == (
        "Astakos quota usage (okeanos): 3 quota(s), 2 near or at the limit. "
        "CPUs 90% (near limit): 9 of 10; Disk 20%: 2 GiB of 10 GiB; "
        "RAM 100% (at limit): 8 GiB of 8 GiB."
    )
    assert charts.alt(DAILY) == (
        "Breaches: 3 breach(es) and 3 warning(s) over 2 day(s) from 2026-11-27 to 2026-11-28; "
        "the most on 2026-11-28. 2026-11-27: 0 breach(es), 1 warning(s); "
        "2026-11-28: 3 breach(es), 2 warning(s)."
    )
    assert charts.alt(RUNS) == (
        "Runs: the last 2 run(s), oldest first: 1 failed, 1 success; average 31 min 45 s, "
        "longest nightly at 1 h 02 min. build 1 min 30 s success; nightly 1 h 02 min failed."
    )
    assert charts.alt(Chart(charts.RUNS, "Runs", ())) == "Runs: nothing to show."


async def test_many_digests_sharing_one_picture_draw_it_once():
    cache = Pictures(size=2)
    same = [Chart(USAGE.kind, USAGE.title, USAGE.rows) for _ in range(20)]
    pictures = await cache.pictures(same)
    assert cache.draws == 1 and cache.hits == 19
    assert len({id(p) for p in pictures}) == 1 and pictures[0].ok
    await cache.pictures([DAILY, RUNS])  # bounded: the oldest is dropped
    assert cache.get(USAGE.key) is None and cache.get(RUNS.key) is not None


async def test_a_failed_draw_is_one_line_and_not_kept(monkeypatch):
    def broken(chart):
        raise ValueError("bad data\nmore")

    monkeypatch.setattr(charts, "draw", broken)
    cache = Pictures()
    picture = await cache.picture(RUNS)
    assert not picture.ok and picture.error == "bad data" and picture.alt.startswith("Runs:")
    assert cache.get(RUNS.key) is None
    monkeypatch.undo()
    assert (await cache.picture(RUNS)).ok  # drawn again once it can be
