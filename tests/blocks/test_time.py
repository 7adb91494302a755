"""bot/blocks/time.py: durations in words a person reads, and every shown time a Slack date
token (rendered in the reader's own time zone) with a UTC fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bot.blocks.time import duration, from_ms, slack_date, utc_text

NOON = datetime(2026, 11, 29, 12, 5, tzinfo=UTC)


def test_durations_read_in_the_largest_units_that_matter():
    assert [duration(s) for s in (-3, 0, 59, 61, 3599, 3600 + 120, 47 * 3600, 49 * 3600)] == [
        "0s",
        "0s",
        "59s",
        "1m 01s",
        "59m 59s",
        "1h 02m",
        "47h 00m",
        "2d 1h",
    ]


def test_a_time_is_a_date_token_with_its_utc_fallback():
    token = slack_date(NOON)
    assert (
        token
        == f"<!date^{int(NOON.timestamp())}^{{date_short_pretty}} {{time}}|2026-11-29 12:05 UTC>"
    )


def test_the_stored_iso_text_and_a_naive_time_are_read_as_utc():
    assert slack_date(NOON.isoformat()) == slack_date(NOON)
    assert slack_date(NOON.replace(tzinfo=None)) == slack_date(NOON)
    athens = NOON.astimezone(timezone(timedelta(hours=2)))
    assert slack_date(athens) == slack_date(NOON)
    assert utc_text(athens) == "2026-11-29 12:05 UTC"


def test_no_time_is_the_fallback_and_text_that_is_no_time_is_shown_as_it_is():
    assert slack_date(None) == "—"
    assert slack_date("", "never") == "never"
    assert slack_date("yesterday") == "yesterday"


def test_platform_milliseconds_become_times_and_zero_is_none():
    assert from_ms(NOON.timestamp() * 1000) == NOON
    assert from_ms(0) is None and from_ms(None) is None
