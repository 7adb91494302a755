"""Atoti Limits in the demo (bot.demo): its emulator, and alice's and bob's logins."""

from __future__ import annotations

from contextlib import ExitStack

from bot.platforms.descriptor import DemoSeed, DemoWorld
from emulators.limits import DEMO, LimitsEmulator


def start(stack: ExitStack) -> DemoWorld:
    emulator = stack.enter_context(LimitsEmulator())
    return {"limits": emulator}, [{"name": "risk", "url": emulator.url}]


SEED = DemoSeed(
    links=tuple(
        (user, {"username": DEMO[user]["username"], "password": DEMO[user]["password"]})
        for user in ("alice", "bob")
    ),
    start=start,
)
