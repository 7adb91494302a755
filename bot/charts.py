"""Charts for digests and Home: what a picture says faster than a list.

A digest section may carry `Chart`s: plain data (hashable rows) with a title. They are drawn
to PNG here with matplotlib's Agg backend, imported inside `draw` only, so a bot that draws
no chart never loads matplotlib (tests/bot/test_charts.py checks sys.modules in a fresh
interpreter). Every chart has alt text saying the same in words (`alt`), which Slack shows to
screen readers and where images are off, and which the console prints.

Three kinds:
    usage   Astakos quota usage per resource as a share of its limit (bars; 80 % and over
            marked "near limit", 100 % "at limit")
    daily   Atoti Limits breaches and warnings per as-of date (stacked bars, two weeks)
    runs    DSS scenario runs / Squonk2 instances: duration per run, coloured by outcome

Colours and background: an opaque light card (not transparent) with dark text, so the
picture reads the same on Slack's light and dark themes; outcomes are also told by hatching
and the legend's words, not by colour alone.

`Pictures` is the cache: keyed on the chart's data, bounded, and one draw per key even when
many digests of the same minute ask for it at once (they await the same task). Drawing runs
in a worker thread, one at a time (matplotlib's font cache and text layout are not made for
concurrent use), so the event loop keeps serving Slack.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

USAGE, DAILY, RUNS = "usage", "daily", "runs"
NEAR = 0.8  # the share of a limit from which a bar is marked "near limit"
WIDTH, HEIGHT, DPI = 800, 400, 100  # pixels: Slack shows it full width without zooming
MAX_BARS = 20
# The card: light, opaque, with text and grid dark enough for WCAG contrast on it.
BACKGROUND, INK, GRID = "#f6f7f9", "#1d1c1d", "#c9ccd1"
OK, WARN, BAD, OTHER = "#2b7bb9", "#e8912d", "#c0392b", "#7a7d81"
OUTCOME_STYLE = {  # outcome word -> (colour, hatch): colour-blind safe by the hatch too
    "success": (OK, ""),
    "warning": (WARN, "//"),
    "failed": (BAD, "xx"),
    "aborted": (OTHER, ".."),
    "running": (OTHER, ""),
}


@dataclass(frozen=True)
class Chart:
    """What to draw. rows, by kind:
    usage  (label, used, limit, used_text, limit_text)
    daily  (YYYY-MM-DD, breaches, warnings)
    runs   (label, seconds, outcome word)     oldest first
    """

    kind: str
    title: str
    rows: tuple[tuple[Any, ...], ...]
    unit: str = ""  # what the run label names ("run", "instance")

    @property
    def key(self) -> str:
        raw = json.dumps([self.kind, self.title, self.rows, self.unit], default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    @property
    def filename(self) -> str:
        return f"switchboard-{self.kind}-{self.key[:12]}.png"


@dataclass
class Picture:
    chart: Chart
    png: bytes | None = None
    error: str = ""  # one line when it could not be drawn
    alt: str = field(default="")

    @property
    def ok(self) -> bool:
        return self.png is not None


# -- words ----------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s" if s else f"{minutes} min"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


def alt(chart: Chart) -> str:
    """The chart in words (Slack's alt text allows 2,000 characters)."""
    rows = chart.rows
    if not rows:
        return f"{chart.title}: nothing to show."
    if chart.kind == USAGE:
        parts = []
        for label, used, limit, used_text, limit_text in rows:
            share = used / limit if limit else (1.0 if used else 0.0)
            mark = " (at limit)" if share >= 1 else " (near limit)" if share >= NEAR else ""
            parts.append(f"{label} {share:.0%}{mark}: {used_text} of {limit_text}")
        near = sum(1 for _, used, limit, *_ in rows if limit and used / limit >= NEAR)
        head = f"{chart.title}: {len(rows)} quota(s), {near} near or at the limit."
        text = head + " " + "; ".join(parts) + "."
    elif chart.kind == DAILY:
        breaches = sum(r[1] for r in rows)
        warnings = sum(r[2] for r in rows)
        worst = max(rows, key=lambda r: (r[1], r[2]))
        days = "; ".join(f"{d}: {b} breach(es), {w} warning(s)" for d, b, w in rows if b or w)
        text = (
            f"{chart.title}: {breaches} breach(es) and {warnings} warning(s) over "
            f"{len(rows)} day(s) from {rows[0][0]} to {rows[-1][0]}"
            + (f"; the most on {worst[0]}" if worst[1] or worst[2] else "")
            + (f". {days}." if days else "; none.")
        )
    else:
        counts: dict[str, int] = {}
        for _, _, outcome in rows:
            counts[outcome] = counts.get(outcome, 0) + 1
        longest = max(rows, key=lambda r: r[1])
        mean = sum(r[1] for r in rows) / len(rows)
        unit = chart.unit or "run"
        told = ", ".join(f"{n} {word}" for word, n in sorted(counts.items()))
        text = (
            f"{chart.title}: the last {len(rows)} {unit}(s), oldest first: {told}; "
            f"average {_duration(mean)}, longest {longest[0]} at "
            f"{_duration(longest[1])}. "
            + "; ".join(f"{label} {_duration(s)} {o}" for label, s, o in rows)
            + "."
        )
    return text if len(text) <= 2000 else text[:1999] + "…"


# -- drawing --------------------------------------------------------------------------------

_DRAW_LOCK = threading.Lock()


def draw(chart: Chart) -> bytes:
    """The chart as PNG bytes, WIDTH x HEIGHT. matplotlib is imported here, on first use."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _DRAW_LOCK:
        fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor=BACKGROUND)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.set_facecolor(BACKGROUND)
        for spine in ax.spines.values():
            spine.set_color(GRID)
        ax.tick_params(colors=INK, labelsize=9)
        ax.set_title(chart.title, color=INK, fontsize=12, loc="left")
        {USAGE: _usage, DAILY: _daily, RUNS: _runs}[chart.kind](ax, chart)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=DPI, facecolor=BACKGROUND)
        return out.getvalue()


def _usage(ax: Any, chart: Chart) -> None:
    rows = chart.rows[:MAX_BARS]
    labels = [r[0] for r in rows][::-1]
    shares = [(r[1] / r[2] * 100 if r[2] else (100.0 if r[1] else 0.0)) for r in rows][::-1]
    colours = [BAD if s >= 100 else WARN if s >= NEAR * 100 else OK for s in shares]
    hatches = ["xx" if s >= 100 else "//" if s >= NEAR * 100 else "" for s in shares]
    bars = ax.barh(
        labels, [min(s, 110) for s in shares], color=colours, edgecolor=INK, linewidth=0.4
    )
    for bar, hatch in zip(bars, hatches, strict=True):
        bar.set_hatch(hatch)
    for bar, share, row in zip(bars, shares, rows[::-1], strict=True):
        mark = " at limit" if share >= 100 else " near limit" if share >= NEAR * 100 else ""
        ax.text(
            min(share, 110) + 1,
            bar.get_y() + bar.get_height() / 2,
            f"{share:.0f}%{mark} ({row[3]} of {row[4]})",
            va="center",
            color=INK,
            fontsize=8,
        )
    ax.axvline(100, color=BAD, linewidth=1)
    ax.axvline(NEAR * 100, color=WARN, linewidth=1, linestyle="--")
    ax.set_xlim(0, 150)
    ax.set_xlabel("% of limit", color=INK)
    ax.grid(axis="x", color=GRID, linewidth=0.5)


def _daily(ax: Any, chart: Chart) -> None:
    days = [r[0][5:] for r in chart.rows]  # MM-DD
    breaches = [r[1] for r in chart.rows]
    warnings = [r[2] for r in chart.rows]
    ax.bar(days, breaches, color=BAD, hatch="xx", edgecolor=INK, linewidth=0.4, label="breaches")
    ax.bar(
        days,
        warnings,
        bottom=breaches,
        color=WARN,
        hatch="//",
        edgecolor=INK,
        linewidth=0.4,
        label="warnings",
    )
    ax.set_ylabel("incidents", color=INK)
    ax.tick_params(axis="x", labelrotation=45)
    ax.grid(axis="y", color=GRID, linewidth=0.5)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(facecolor=BACKGROUND, edgecolor=GRID, labelcolor=INK, fontsize=9)


def _runs(ax: Any, chart: Chart) -> None:
    from matplotlib.patches import Patch

    rows = chart.rows[-MAX_BARS:]
    styles = [OUTCOME_STYLE.get(outcome, (OTHER, "")) for _, _, outcome in rows]
    bars = ax.bar(
        range(len(rows)),
        [r[1] / 60 for r in rows],
        color=[c for c, _ in styles],
        edgecolor=INK,
        linewidth=0.4,
    )
    for bar, (_, hatch) in zip(bars, styles, strict=True):
        bar.set_hatch(hatch)
    ax.set_xticks(range(len(rows)), [str(r[0]) for r in rows], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("minutes", color=INK)
    ax.grid(axis="y", color=GRID, linewidth=0.5)
    outcomes = list(dict.fromkeys(r[2] for r in rows))
    if outcomes:
        handles = [
            Patch(
                facecolor=OUTCOME_STYLE.get(o, (OTHER, ""))[0],
                hatch=OUTCOME_STYLE.get(o, (OTHER, ""))[1],
                edgecolor=INK,
                label=o,
            )
            for o in outcomes
        ]
        ax.legend(handles=handles, facecolor=BACKGROUND, edgecolor=GRID, labelcolor=INK, fontsize=9)


# -- the cache ------------------------------------------------------------------------------


class Pictures:
    """Drawn charts by data key: at most `size` kept, least recently used dropped."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._done: OrderedDict[str, Picture] = OrderedDict()
        self._drawing: dict[str, asyncio.Future[Picture]] = {}
        self.draws = 0  # charts actually drawn (for the benchmark and tests)
        self.hits = 0

    def get(self, key: str) -> Picture | None:
        """A picture drawn already (the bot's web page serves it by key)."""
        return self._done.get(key)

    async def picture(self, chart: Chart) -> Picture:
        key = chart.key
        if key in self._done:
            self.hits += 1
            self._done.move_to_end(key)
            return self._done[key]
        if key in self._drawing:
            self.hits += 1
            return await asyncio.shield(self._drawing[key])
        task = asyncio.ensure_future(self._draw(chart))
        self._drawing[key] = task
        try:
            return await asyncio.shield(task)
        finally:
            self._drawing.pop(key, None)

    async def _draw(self, chart: Chart) -> Picture:
        words = alt(chart)
        self.draws += 1
        try:
            png = await asyncio.to_thread(draw, chart)
        except Exception as error:
            log.warning("chart %r could not be drawn: %s", chart.title, error)
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            return Picture(chart, error=reason[:200], alt=words)
        picture = Picture(chart, png=png, alt=words)
        self._done[chart.key] = picture
        while len(self._done) > self.size:
            self._done.popitem(last=False)
        return picture

    async def pictures(self, charts: list[Chart]) -> list[Picture]:
        return list(await asyncio.gather(*(self.picture(c) for c in charts)))
