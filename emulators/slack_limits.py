"""Rate limiting for the Slack emulator: 429 on demand, and an optional enforced mode.

On demand (`ratelimit`): the next N calls to a method get 429 + Retry-After, for retry tests.
Enforced (`enforce`): per-channel token buckets (Slack allows ~1 chat.postMessage per second per
channel with short bursts) and a sliding one-minute window for the whole workspace, measured on
the emulator clock, for benchmarks of the bot's pacing (slack.md 1.7).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from emulators import slack_rules as rules


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimits:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._on_demand: dict[str | None, list[int]] = {}  # method -> [times left, retry after]
        self._per_channel: float | None = None
        self._burst = 1.0
        self._per_minute: int | None = None
        self._methods: tuple[str, ...] = rules.DEFAULT_RATE_LIMITED_METHODS
        self._buckets: dict[str, _Bucket] = {}
        self._window: deque[float] = deque()

    def ratelimit(self, method: str | None, times: int, retry_after: int) -> None:
        """The next `times` calls to `method` (None: any method) answer 429."""
        with self._lock:
            self._on_demand[method] = [times, retry_after]

    def enforce(
        self,
        per_channel_per_second: float | None,
        workspace_per_minute: int | None,
        burst: int,
        methods: tuple[str, ...],
    ) -> None:
        with self._lock:
            self._per_channel = per_channel_per_second
            self._per_minute = workspace_per_minute
            self._burst = float(max(burst, 1))
            self._methods = methods
            self._buckets.clear()
            self._window.clear()

    def clear(self) -> None:
        with self._lock:
            self._on_demand.clear()
        self.enforce(None, None, 1, rules.DEFAULT_RATE_LIMITED_METHODS)

    def check(self, method: str, channel: str | None) -> int | None:
        """Seconds to put in Retry-After if this call is refused, else None (it is counted)."""
        with self._lock:
            for key in (method, None):
                pending = self._on_demand.get(key)
                if pending and pending[0] > 0:
                    pending[0] -= 1
                    return pending[1]
            if method not in self._methods:
                return None
            now = self.clock()
            wait = max(self._channel_wait(channel, now), self._workspace_wait(now))
            if wait > 0:
                return max(1, math.ceil(wait))
            self._take(channel, now)
            return None

    def _channel_wait(self, channel: str | None, now: float) -> float:
        if self._per_channel is None or channel is None:
            return 0.0
        bucket = self._buckets.setdefault(channel, _Bucket(self._burst, now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._per_channel)
        bucket.updated = now
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self._per_channel

    def _workspace_wait(self, now: float) -> float:
        if self._per_minute is None:
            return 0.0
        while self._window and now - self._window[0] >= 60:
            self._window.popleft()
        if len(self._window) < self._per_minute:
            return 0.0
        return self._window[0] + 60 - now

    def _take(self, channel: str | None, now: float) -> None:
        if self._per_channel is not None and channel is not None:
            self._buckets[channel].tokens -= 1
        if self._per_minute is not None:
            self._window.append(now)
