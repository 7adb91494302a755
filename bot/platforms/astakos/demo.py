"""Synnefo Astakos in the demo (bot.demo): its emulator; alice holds the service token so
commissions (and their buttons) show, bob a user token."""

from __future__ import annotations

from contextlib import ExitStack

from bot.platforms.descriptor import DemoSeed, DemoWorld
from emulators.astakos import DEMO, AstakosEmulator


def start(stack: ExitStack) -> DemoWorld:
    emulator = stack.enter_context(AstakosEmulator())
    return {"astakos": emulator}, [{"name": "okeanos", "url": emulator.url}]


SEED = DemoSeed(
    links=(
        ("alice", {"token": DEMO["service"]["token"]}),
        ("bob", {"token": DEMO["bob"]["token"]}),
    ),
    start=start,
)
