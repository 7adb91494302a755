"""Squonk2 Data Manager in the demo (bot.demo): its emulator and its Keycloak's, and
alice's login."""

from __future__ import annotations

from contextlib import ExitStack

from bot.platforms.descriptor import DemoSeed, DemoWorld
from emulators.keycloak import DEMO, KeycloakEmulator
from emulators.squonk import SquonkEmulator


def start(stack: ExitStack) -> DemoWorld:
    keycloak = KeycloakEmulator()
    stack.enter_context(keycloak)
    squonk = SquonkEmulator(keycloak=keycloak)
    stack.enter_context(squonk)
    return {"keycloak": keycloak, "squonk": squonk}, [squonk.instance_settings("im")]


SEED = DemoSeed(
    links=(
        (
            "alice",
            {"username": DEMO["alice"]["username"], "password": DEMO["alice"]["password"]},
        ),
    ),
    start=start,
)
