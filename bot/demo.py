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

from emulators import astakos, dss, keycloak, limits, mstr, squonk
from emulators.base import Emulator

# Which Slack user links which platform with which demo credential (the link form's fields).
# Alice holds Astakos's service token so commissions (and their buttons) show; bob a user token.
DEMO_LINKS: list[tuple[str, str, dict[str, str]]] = [
    ("alice", "dss", {"api_key": dss.DEMO["alice"]["api_key"]}),
    ("alice", "mstr", {k: str(v) for k, v in mstr.DEMO["alice"].items()}),
    (
        "alice",
        "squonk",
        {
            "username": keycloak.DEMO["alice"]["username"],
            "password": keycloak.DEMO["alice"]["password"],
        },
    ),
    ("alice", "astakos", {"token": astakos.DEMO["service"]["token"]}),
    (
        "alice",
        "limits",
        {
            "username": limits.DEMO["alice"]["username"],
            "password": limits.DEMO["alice"]["password"],
        },
    ),
    ("bob", "dss", {"api_key": dss.DEMO["bob"]["api_key"]}),
    ("bob", "astakos", {"token": astakos.DEMO["bob"]["token"]}),
    (
        "bob",
        "limits",
        {"username": limits.DEMO["bob"]["username"], "password": limits.DEMO["bob"]["password"]},
    ),
]


@dataclass
class DemoPlatforms:
    """All five platforms' emulators, started; `platforms` is the bot's instance config."""

    emulators: dict[str, Emulator] = field(default_factory=dict)
    platforms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def start(cls, stack: ExitStack) -> DemoPlatforms:
        world = cls()
        dss_emu = stack.enter_context(dss.DSSEmulator())
        kc = stack.enter_context(keycloak.KeycloakEmulator())
        sq = stack.enter_context(squonk.SquonkEmulator(keycloak=kc))
        mstr_emu = stack.enter_context(mstr.StrategyOneEmulator())
        ast = stack.enter_context(astakos.AstakosEmulator())
        lim = stack.enter_context(limits.LimitsEmulator())
        world.emulators = {
            "dss": dss_emu,
            "keycloak": kc,
            "squonk": sq,
            "mstr": mstr_emu,
            "astakos": ast,
            "limits": lim,
        }
        world.platforms = {
            "dss": [{"name": "design", "url": dss_emu.url}],
            "mstr": [{"name": "library", "url": mstr_emu.url}],
            "squonk": [sq.instance_settings("im")],
            "astakos": [{"name": "okeanos", "url": ast.url}],
            "limits": [{"name": "risk", "url": lim.url}],
        }
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
