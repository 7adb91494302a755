"""Dataiku DSS in the demo (bot.demo): its emulator, and alice's and bob's API keys."""

from __future__ import annotations

from contextlib import ExitStack

from bot.platforms.descriptor import DemoSeed, DemoWorld
from emulators.dss import DEMO, DSSEmulator


def start(stack: ExitStack) -> DemoWorld:
    emulator = stack.enter_context(DSSEmulator())
    return {"dss": emulator}, [{"name": "design", "url": emulator.url}]


SEED = DemoSeed(
    links=(
        ("alice", {"api_key": DEMO["alice"]["api_key"]}),
        ("bob", {"api_key": DEMO["bob"]["api_key"]}),
    ),
    start=start,
)
