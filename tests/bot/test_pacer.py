"""The digest poster's pacing (bot.digests.delivery.Pacer) on a clock of the test's own: the
workspace budget is a sliding minute, kept a little longer than a minute (Slack counts a post
when it arrives), and posts waiting for it go in the order they came, one wake per freed slot."""

from __future__ import annotations

import asyncio

import pytest

from bot.digests.delivery import WINDOW_EDGE, Pacer


class Clock:
    """Seconds that pass only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_a_full_minute_lets_the_next_post_go_a_minute_and_the_edge_after_the_first(
    clock: Clock,
) -> None:
    pacer = Pacer(channel_interval=1.0, per_minute=3, clock=clock, sleep=clock.sleep)
    for channel in ("D1", "D2", "D3"):
        await pacer.wait(channel)
    assert clock.now == 0.0  # a burst up to the budget goes at once
    await pacer.wait("D4")
    assert clock.now == 60.0 + WINDOW_EDGE


async def test_posts_waiting_for_the_budget_go_in_order_one_wake_per_freed_slot(
    clock: Clock,
) -> None:
    pacer = Pacer(channel_interval=1.0, per_minute=2, clock=clock, sleep=clock.sleep)
    admitted: list[tuple[str, float]] = []

    async def post(channel: str) -> None:
        await pacer.wait(channel)
        admitted.append((channel, clock.now))

    await asyncio.gather(*(post(f"D{i}") for i in range(1, 6)))
    span = 60.0 + WINDOW_EDGE
    assert admitted == [
        ("D1", 0.0),
        ("D2", 0.0),
        ("D3", span),
        ("D4", span),
        ("D5", 2 * span),
    ]
    # Only the head of the line sleeps for the window: two waits, not one per waiter per slot.
    assert clock.sleeps == [span, span]


async def test_one_channel_is_spaced_by_its_interval(clock: Clock) -> None:
    pacer = Pacer(channel_interval=1.0, per_minute=100, clock=clock, sleep=clock.sleep)
    await pacer.wait("D1")
    await pacer.wait("D1")
    assert clock.now == 1.0
    pacer.hold("D1", 5.0)  # Slack said 429, Retry-After 5
    await pacer.wait("D1")
    assert clock.now == 6.0
