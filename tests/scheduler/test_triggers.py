"""`<when>` parsing and next-run arithmetic with a fixed clock, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot import errors
from bot.triggers import build, last_run_before, next_runs, parse

PARIS = ZoneInfo("Europe/Paris")
NY = ZoneInfo("America/New_York")


def local(runs: list[datetime], zone: ZoneInfo) -> list[str]:
    return [r.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z") for r in runs]


def test_daily_keeps_the_wall_clock_time_across_spring_forward():
    now = datetime(2024, 3, 29, 12, 0, tzinfo=UTC)
    when = parse(["daily", "09:00"], "Europe/Paris")
    assert when.text == "daily 09:00"
    assert local(next_runs(when.trigger, now), PARIS) == [
        "Sat 2024-03-30 09:00 CET",
        "Sun 2024-03-31 09:00 CEST",
        "Mon 2024-04-01 09:00 CEST",
    ]
    # Seen from UTC, the run moves an hour earlier: 08:00Z, then 07:00Z.
    assert [r.astimezone(UTC).hour for r in next_runs(when.trigger, now)] == [8, 7, 7]


def test_a_run_in_the_repeated_hour_of_fall_back_happens_once():
    now = datetime(2030, 10, 25, 12, 0, tzinfo=UTC)
    when = parse(["daily", "02:30"], "Europe/Paris")
    runs = next_runs(when.trigger, now, 4)
    assert local(runs, PARIS) == [
        "Sat 2030-10-26 02:30 CEST",
        "Sun 2030-10-27 02:30 CEST",
        "Mon 2030-10-28 02:30 CET",
        "Tue 2030-10-29 02:30 CET",
    ]
    assert all(b - a >= timedelta(hours=23) for a, b in pairwise(runs))


def test_a_run_in_the_skipped_hour_of_spring_forward_still_happens_once():
    now = datetime(2024, 3, 30, 12, 0, tzinfo=UTC)
    runs = next_runs(parse(["weekly", "sun", "02:30"], "Europe/Paris").trigger, now, 2)
    assert runs[0].astimezone(UTC) == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert runs[1].astimezone(PARIS).strftime("%a %H:%M") == "Sun 02:30"


def test_weekdays_skip_the_weekend_in_new_york_across_its_dst_change():
    now = datetime(2024, 11, 1, 20, 0, tzinfo=UTC)  # a Friday, after 08:30 in New York
    runs = next_runs(parse(["weekdays", "08:30"], "America/New_York").trigger, now)
    assert local(runs, NY) == [
        "Mon 2024-11-04 08:30 EST",
        "Tue 2024-11-05 08:30 EST",
        "Wed 2024-11-06 08:30 EST",
    ]


def test_cron_uses_standard_day_numbers():
    now = datetime(2024, 6, 1, 0, 0, tzinfo=UTC)  # Saturday
    when = parse(["cron", "0 9 * * 1-5"], "UTC")
    assert when.text == 'cron "0 9 * * 1-5"'
    assert local(next_runs(when.trigger, now), UTC) == [
        "Mon 2024-06-03 09:00 UTC",
        "Tue 2024-06-04 09:00 UTC",
        "Wed 2024-06-05 09:00 UTC",
    ]
    sunday = next_runs(parse(["cron", "15 7 * * 0"], "UTC").trigger, now, 1)
    assert local(sunday, UTC) == ["Sun 2024-06-02 07:15 UTC"]


def test_interval_is_anchored_at_creation_so_a_rebuild_gives_the_same_runs():
    created = datetime(2024, 3, 30, 0, 7, tzinfo=UTC)
    now = datetime(2024, 3, 31, 0, 50, tzinfo=UTC)  # across the Paris DST change
    first = parse(["every", "30m"], "Europe/Paris", anchor=created)
    again = build(first.text, "Europe/Paris", anchor=created)
    assert first.text == "every 30m"
    assert next_runs(first.trigger, now) == next_runs(again.trigger, now)
    assert [r.astimezone(UTC).strftime("%H:%M") for r in next_runs(first.trigger, now)] == [
        "01:07",
        "01:37",
        "02:07",
    ]
    hourly = parse(["every", "2h"], "UTC", anchor=created)
    assert hourly.text == "every 2h"
    assert next_runs(hourly.trigger, now, 1)[0] == datetime(2024, 3, 31, 2, 7, tzinfo=UTC)


def test_last_run_before_finds_the_latest_scheduled_time():
    daily = parse(["daily", "09:00"], "UTC").trigger
    now = datetime(2024, 3, 30, 9, 5, tzinfo=UTC)
    assert last_run_before(daily, now, now - timedelta(days=30)) == datetime(
        2024, 3, 30, 9, 0, tzinfo=UTC
    )
    assert last_run_before(daily, now, datetime(2024, 3, 30, 9, 0, tzinfo=UTC)) is None
    every = parse(["every", "5m"], "UTC", anchor=datetime(2024, 1, 1, tzinfo=UTC)).trigger
    assert last_run_before(every, now, datetime(2024, 1, 1, tzinfo=UTC)) == now.replace(minute=5)


@pytest.mark.parametrize(
    "words",
    [
        ["every", "2m"],
        ["cron", "* * * * *"],
        ["daily", "25:00"],
        ["daily"],
        ["hourly"],
        ["weekly", "someday", "09:00"],
        ["cron", "0 9 * *"],
        ["cron", "0 9 * * 8"],
        [],
    ],
)
def test_bad_input_shows_the_accepted_forms(words):
    with pytest.raises(errors.UserError) as raised:
        parse(words, "UTC")
    message = str(raised.value)
    assert "every 5m" in message or "`daily 09:00`" in message


def test_unknown_time_zone_says_the_right_form():
    with pytest.raises(errors.UserError, match="tz=Europe/Paris"):
        parse(["daily", "09:00"], "Mars/Olympus")
