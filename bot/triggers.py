"""`<when>` as people type it → an APScheduler trigger, and the run-time arithmetic.

    daily HH:MM            every day at that local time
    weekdays HH:MM         Monday to Friday
    weekly <day> HH:MM     one day a week (mon … sun, or the full name)
    every <N>m | <N>h      a fixed interval (N ≥ 5 minutes), anchored at the subscription's
                           creation so restarts do not shift it
    cron "<5 fields>"      minute hour day-of-month month day-of-week, in standard cron
                           numbering (0 or 7 = Sunday, 1 = Monday; APScheduler's own
                           from_crontab counts 0 = Monday, so the day field is translated)

Times are wall-clock times in the subscription's zone (zoneinfo), so a daily 09:00 digest stays
at 09:00 across DST changes. The text form is what the subscriptions table stores; `build`
turns it back into a trigger at every start-up.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import errors

MIN_INTERVAL_MINUTES = 5
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_FULL_DAYS = {
    d: d[:3] for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}
_CRON_DAY = {0: "sun", 1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}

FORMS = (
    "`daily 09:00`, `weekdays 08:30`, `weekly mon 09:00`, `every 30m` (or `every 2h`; "
    f'at least {MIN_INTERVAL_MINUTES} minutes), or `cron "0 9 * * 1-5"`'
)
BAD_WHEN = "I can't read `{when}` as a schedule. Use one of: " + FORMS + "."


class WallClock(BaseTrigger):
    """Wraps a trigger so each wall-clock run happens once and time only moves forward.

    APScheduler 3.11's CronTrigger with a zoneinfo zone answers the repeated hour of a DST
    fall-back twice (02:30+02:00, then 02:30+01:00) and then keeps answering the second one
    for ever, which would make the scheduler loop. Here a run whose local wall-clock time
    equals the previous run's, or that is not after it, is skipped.
    """

    def __init__(self, inner: BaseTrigger, tz: ZoneInfo) -> None:
        self.inner = inner
        self.timezone = tz

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire = self.inner.get_next_fire_time(previous_fire_time, now)
        for _ in range(100):
            if fire is None or previous_fire_time is None:
                return fire
            # Compared in UTC: two aware times with the same tzinfo compare by wall clock
            # alone in Python, ignoring the DST fold.
            prev_utc, fire_utc = previous_fire_time.astimezone(UTC), fire.astimezone(UTC)
            wall_prev = previous_fire_time.astimezone(self.timezone).replace(tzinfo=None)
            wall = fire.astimezone(self.timezone).replace(tzinfo=None)
            if fire_utc > prev_utc and wall != wall_prev:
                return fire
            moment = (
                max(now.astimezone(UTC), prev_utc, fire_utc) + timedelta(minutes=1)
            ).astimezone(self.timezone)
            previous_fire_time = fire
            fire = self.inner.get_next_fire_time(None, moment)
        return None

    def __str__(self) -> str:
        return str(self.inner)


@dataclass(frozen=True)
class When:
    """A parsed `<when>`: the normalised text (what is stored) and the trigger."""

    text: str
    tz: str
    trigger: BaseTrigger


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise errors.UserError(
            f"`{name}` is not a time zone I know. Use an Area/City name, like "
            "`tz=Europe/Paris` or `tz=America/New_York`."
        ) from None


def _hhmm(word: str, when: str) -> tuple[int, int]:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", word)
    if not match:
        raise errors.UserError(BAD_WHEN.format(when=when))
    return int(match.group(1)), int(match.group(2))


def _cron_days(field: str, when: str) -> str:
    """Standard cron day-of-week (0/7 = Sunday) → APScheduler day names."""
    if field in ("*", "?"):
        return "*"
    days: set[str] = set()

    def number(token: str) -> int:
        token = token.lower()
        if token[:3] in DAYS and not token.isdigit():
            return (DAYS.index(token[:3]) + 1) % 7
        if not token.isdigit() or int(token) > 7:
            raise errors.UserError(BAD_WHEN.format(when=when))
        return int(token)

    for part in field.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise errors.UserError(BAD_WHEN.format(when=when))
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            low, high = body.split("-", 1)
            first, last = number(low), number(high)
            if last < first:
                raise errors.UserError(BAD_WHEN.format(when=when))
        else:
            first = last = number(body)
            if step:
                last = 6
        for n in range(first, last + 1, step or 1):
            days.add(_CRON_DAY[n])
    return ",".join(d for d in DAYS if d in days)


def parse(
    words: list[str], tz: str, *, anchor: datetime | None = None, checked: bool = True
) -> When:
    """Parse `<when>` (already split into words) in zone `tz`. Raises UserError.

    `checked=False` skips the too-often check (it samples 50 future runs): stored schedules
    were checked when they were added, and start-up rebuilds thousands of them."""
    when = " ".join(words).strip()
    zinfo = zone(tz)
    if not words:
        raise errors.UserError(BAD_WHEN.format(when=when))
    kind = words[0].lower()
    rest = words[1:]
    if kind == "daily" and len(rest) == 1:
        hour, minute = _hhmm(rest[0], when)
        return When(
            f"daily {hour:02d}:{minute:02d}",
            tz,
            WallClock(CronTrigger(hour=hour, minute=minute, timezone=zinfo), zinfo),
        )
    if kind == "weekdays" and len(rest) == 1:
        hour, minute = _hhmm(rest[0], when)
        return When(
            f"weekdays {hour:02d}:{minute:02d}",
            tz,
            WallClock(
                CronTrigger(day_of_week="mon-fri", hour=hour, minute=minute, timezone=zinfo), zinfo
            ),
        )
    if kind == "weekly" and len(rest) == 2:
        day = rest[0].lower()
        day = _FULL_DAYS.get(day, day)
        if day not in DAYS:
            raise errors.UserError(BAD_WHEN.format(when=when))
        hour, minute = _hhmm(rest[1], when)
        return When(
            f"weekly {day} {hour:02d}:{minute:02d}",
            tz,
            WallClock(
                CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=zinfo), zinfo
            ),
        )
    if kind == "every" and rest:
        spec = "".join(rest).lower()
        match = re.fullmatch(r"(\d{1,5})\s*(m|min|mins|minutes?|h|hours?)", spec)
        if not match:
            raise errors.UserError(BAD_WHEN.format(when=when))
        n, unit = int(match.group(1)), match.group(2)[0]
        minutes = n * 60 if unit == "h" else n
        if minutes < MIN_INTERVAL_MINUTES:
            raise errors.UserError(
                f"`{when}` is too often: digests run at most every {MIN_INTERVAL_MINUTES} "
                "minutes. Use e.g. `every 5m`, `every 30m` or `every 1h`."
            )
        start = (anchor or datetime.now(UTC)).astimezone(zinfo)
        text = f"every {n}h" if unit == "h" else f"every {n}m"
        return When(
            text,
            tz,
            WallClock(IntervalTrigger(minutes=minutes, start_date=start, timezone=zinfo), zinfo),
        )
    if kind == "cron" and rest:
        expr = " ".join(rest).strip().strip('"').strip("'")
        fields = expr.split()
        if len(fields) != 5:
            raise errors.UserError(BAD_WHEN.format(when=when))
        cron_minute, cron_hour, dom, month, dow = fields
        try:
            trigger = WallClock(
                CronTrigger(
                    minute=cron_minute,
                    hour=cron_hour,
                    day=dom,
                    month=month,
                    day_of_week=_cron_days(dow, when),
                    timezone=zinfo,
                ),
                zinfo,
            )
        except ValueError:
            raise errors.UserError(BAD_WHEN.format(when=when)) from None
        if checked and _too_often(trigger):
            raise errors.UserError(
                f"`{when}` is too often: digests run at most every {MIN_INTERVAL_MINUTES} "
                "minutes. Use one of: " + FORMS + "."
            )
        return When(f'cron "{expr}"', tz, trigger)
    raise errors.UserError(BAD_WHEN.format(when=when))


def build(text: str, tz: str, *, anchor: datetime | None = None) -> When:
    """Rebuild a stored `<when>` text (as `parse` normalised and checked it)."""
    return parse(shlex.split(text), tz, anchor=anchor, checked=False)


def _too_often(trigger: BaseTrigger) -> bool:
    """Any two consecutive runs closer than the minimum, over a sample of the next runs."""
    start = datetime(2030, 1, 1, tzinfo=UTC)
    runs = next_runs(trigger, start, 50)
    return any((b - a) < timedelta(minutes=MIN_INTERVAL_MINUTES) for a, b in pairwise(runs))


def next_runs(trigger: BaseTrigger, now: datetime, n: int = 3) -> list[datetime]:
    """The next `n` run times strictly after `now`."""
    out: list[datetime] = []
    previous: datetime | None = None
    moment = now + timedelta(microseconds=1)
    while len(out) < n:
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        if fire <= now:  # an interval trigger answers the slot at or before `moment`
            previous = fire
            continue
        out.append(fire)
        previous = fire
        moment = fire + timedelta(microseconds=1)
    return out


def last_run_before(trigger: BaseTrigger, now: datetime, after: datetime) -> datetime | None:
    """The latest scheduled run in (`after`, `now`], or None. Looks back in growing windows so
    a frequent trigger never enumerates months of runs."""
    for window in (
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(days=8),
        timedelta(days=32),
        timedelta(days=400),
    ):
        start = max(after, now - window)
        latest = None
        for fire in _runs_between(trigger, start, now):
            latest = fire
        if latest is not None:
            return latest
        if start == after:
            return None
    return None


def _runs_between(
    trigger: BaseTrigger, start: datetime, end: datetime, cap: int = 20_000
) -> Iterator[datetime]:
    """Run times in (start, end]."""
    previous: datetime | None = None
    moment = start + timedelta(microseconds=1)
    for _ in range(cap):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None or fire > end:
            return
        previous = fire
        moment = fire + timedelta(microseconds=1)
        if fire > start:
            yield fire
