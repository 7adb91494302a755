"""Strategy One in the demo (bot.demo): its emulator, and alice's login."""

from __future__ import annotations

from contextlib import ExitStack

from bot.platforms.descriptor import DemoSeed, DemoWorld
from emulators.mstr import DEMO, StrategyOneEmulator


def start(stack: ExitStack) -> DemoWorld:
    emulator = stack.enter_context(StrategyOneEmulator())
    return {"mstr": emulator}, [{"name": "library", "url": emulator.url}]


SEED = DemoSeed(links=(("alice", {k: str(v) for k, v in DEMO["alice"].items()}),), start=start)
