"""A circuit breaker per platform instance, so a platform that is down is not hammered.

Every `PlatformHTTP` (one per configured instance) owns one `CircuitBreaker`:

    closed      calls go through; failures that mean "the instance is down" (a timeout, a
                refused or broken connection, a 5xx) are counted, any answer below 500 resets
                the count. `threshold` failures in a row open it.
    open        calls fail at once (`CircuitOpen`, which `PlatformHTTP` turns into
                `errors.Unavailable` saying when the instance will be tried again), for
                `cooldown` seconds.
    half-open   after the cool-down, one trial call goes through; calls made meanwhile wait
                for its outcome (`trial_finished`, bounded by the trial's own deadline). Its
                success closes the breaker, its failure opens it for another cool-down.

The breaker never awaits, so on one event loop it needs no lock. Time comes from an injectable
clock (`time.monotonic` by default) so tests move it by hand. The defaults live here, in
`FAILURE_THRESHOLD` and `COOL_DOWN_S`; `set_default_policy` changes what newly built clients
get (start-up configuration, tests).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

FAILURE_THRESHOLD = 5  # consecutive "instance down" failures that open the breaker
COOL_DOWN_S = 30.0  # seconds an open breaker refuses calls before one trial call

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True)
class BreakerPolicy:
    threshold: int = FAILURE_THRESHOLD
    cooldown: float = COOL_DOWN_S
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("the breaker threshold must be at least 1")
        if self.cooldown < 0:
            raise ValueError("the breaker cool-down cannot be negative")


_default_policy = BreakerPolicy()


def default_policy() -> BreakerPolicy:
    """The policy newly built `PlatformHTTP`s get."""
    return _default_policy


def set_default_policy(policy: BreakerPolicy) -> BreakerPolicy:
    """Set the policy for `PlatformHTTP`s built from now on; returns the previous one."""
    global _default_policy
    previous, _default_policy = _default_policy, policy
    return previous


class CircuitOpen(Exception):
    """A call was refused without being made. Carries no secret: numbers only."""

    def __init__(self, *, failures: int, retry_in: float, trial_running: bool) -> None:
        self.failures = failures
        self.retry_in = retry_in  # seconds until a trial call is allowed (0: one is running)
        self.trial_running = trial_running
        super().__init__(f"circuit open after {failures} failures; retry in {retry_in:.1f} s")

    @property
    def retry_in_whole(self) -> int:
        """Seconds to wait, rounded up, for people (never "0 s" while still open)."""
        return max(1, math.ceil(self.retry_in))


class CircuitBreaker:
    """The state machine described in the module docstring.

    Use: `trial = breaker.acquire()` before a call (raises `CircuitOpen`; True when this call is
    the half-open trial), then exactly one of `succeeded(trial)`, `failed(trial)` or
    `released(trial)` (the call ended in a way that says nothing about the instance, e.g. it was
    cancelled). A caller refused with `trial_running` may `await trial_finished()` and ask again.
    """

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or default_policy()
        self.failures = 0  # consecutive "instance down" failures
        self.opened_at: float | None = None
        self.opened_after = 0  # the failures in a row that opened it (what people are told)
        self._trial_running = False
        self._trial_done: asyncio.Event | None = None
        self.opened_count = 0  # how many times it opened (for logs and tests)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if self._trial_running or self._cooled_down():
            return HALF_OPEN
        return OPEN

    def _cooled_down(self) -> bool:
        assert self.opened_at is not None
        return self.policy.clock() - self.opened_at >= self.policy.cooldown

    def retry_in(self) -> float:
        """Seconds until the next trial call may go out (0 when closed or half-open)."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.policy.cooldown - self.policy.clock())

    def acquire(self) -> bool:
        """Allow a call or raise `CircuitOpen`. Returns True when the call is the trial."""
        if self.opened_at is None:
            return False
        if self._trial_running:
            raise CircuitOpen(failures=self.opened_after, retry_in=0.0, trial_running=True)
        if not self._cooled_down():
            raise CircuitOpen(
                failures=self.opened_after, retry_in=self.retry_in(), trial_running=False
            )
        self._trial_running = True
        self._trial_done = asyncio.Event()
        return True

    async def trial_finished(self) -> None:
        """Wait until the running trial call (if any) has ended, whatever its outcome."""
        if self._trial_running and self._trial_done is not None:
            await self._trial_done.wait()

    def _end_trial(self) -> None:
        self._trial_running = False
        if self._trial_done is not None:
            self._trial_done.set()
            self._trial_done = None

    def succeeded(self, trial: bool) -> None:
        """The instance answered (any status below 500): close."""
        self.failures = 0
        self.opened_at = None
        self._end_trial()

    def failed(self, trial: bool) -> None:
        """A timeout, a connection failure or a 5xx."""
        self.failures += 1
        if trial:
            self._open()
            self._end_trial()
        elif self.opened_at is None and self.failures >= self.policy.threshold:
            self._open()
        # A call that was already in flight when the breaker opened fails without starting
        # the cool-down again.

    def released(self, trial: bool) -> None:
        """The call ended without telling anything about the instance (cancelled)."""
        if trial:
            self._end_trial()

    def _open(self) -> None:
        self.opened_at = self.policy.clock()
        self.opened_after = self.failures
        self.opened_count += 1

    def __repr__(self) -> str:
        return f"CircuitBreaker(state={self.state!r}, failures={self.failures})"
