"""Times as people read them in Slack: durations and "5 min ago"."""

from __future__ import annotations

from datetime import UTC, datetime


def duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def from_ms(ms: int | float | None) -> datetime | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC)


def slack_date(when: datetime | str | None, fallback: str = "—") -> str:
    """Slack's date token renders in each reader's own time zone. Takes a datetime or the
    ISO text the store keeps; the fallback (older clients, notifications) is in UTC."""
    if isinstance(when, str):
        text = when
        try:
            when = datetime.fromisoformat(text) if text else None
        except ValueError:
            return text
    if when is None:
        return fallback
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ts = int(when.timestamp())
    return f"<!date^{ts}^{{date_short_pretty}} {{time}}|{utc_text(when)}>"


def utc_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
