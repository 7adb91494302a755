"""Digest sections and alert sources against the platform emulators over real loopback HTTP,
with a `Services` opened the way the bot opens it and credentials linked the way the link
modal links them (the platform's `verify`, then `accounts.link`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.services import Services
from tests.digests.helpers import open_for


@pytest.fixture
async def services_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Services]]:
    """Open Services for some platform instances; closed after the test."""
    opened: list[Services] = []

    def make(platforms: dict[str, list[dict[str, Any]]], **kwargs: Any) -> Services:
        services = open_for(tmp_path, platforms, **kwargs)
        opened.append(services)
        return services

    yield make
    for services in opened:
        await services.aclose()
