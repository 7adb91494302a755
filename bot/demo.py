"""The demo's world: every platform emulator with its seeded data, and the demo accounts.

`switchboard demo` starts these, points a bot at them, links the demo accounts through the
real link modal (as a person would), then opens the console. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.platforms.catalog import DESCRIPTORS
from bot.platforms.descriptor import PlatformDescriptor
from emulators.base import Emulator

DEMO_PEOPLE = ("alice", "bob")


def demo_links(
    descriptors: tuple[PlatformDescriptor, ...] = DESCRIPTORS,
) -> list[tuple[str, str, dict[str, str]]]:
    """Which Slack user links which platform with which demo credential (the link form's
    fields): each platform's demo seed says, person by person in platform order."""
    seeds = [(d.key, d.demo_seed()) for d in descriptors]
    return [
        (person, key, dict(values))
        for person in DEMO_PEOPLE
        for key, seed in seeds
        if seed is not None
        for who, values in seed.links
        if who == person
    ]


DEMO_LINKS = demo_links()


@dataclass
class DemoPlatforms:
    """Every platform's emulators, started; `platforms` is the bot's instance config."""

    emulators: dict[str, Emulator] = field(default_factory=dict)
    platforms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def start(
        cls, stack: ExitStack, descriptors: tuple[PlatformDescriptor, ...] = DESCRIPTORS
    ) -> DemoPlatforms:
        world = cls()
        for descriptor in descriptors:
            seed = descriptor.demo_seed()
            if seed is None:
                continue
            emulators, instances = seed.start(stack)
            world.emulators.update(emulators)
            world.platforms[descriptor.key] = instances
        return world


def demo_settings_values(
    *, slack_url: str, platforms: dict[str, list[dict[str, Any]]], data_dir: Path
) -> dict[str, Any]:
    """Embedded defaults for the demo: no Slack account, a fresh signing secret each run."""
    return {
        "slack_bot_token": "xoxb-switchboard-demo",
        "slack_signing_secret": secrets.token_hex(16),
        "slack_api_url": f"{slack_url}/api/",
        "data_dir": data_dir,
        "operators": ["U0ALICE"],
        "platforms": platforms,
        "watch_interval": 2.0,
    }
