"""The configured platforms, built from settings, in the order people see them."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from bot.config import ConfigError, Settings
from bot.platforms.base import Platform

# key -> "module:Class". Imported only when configured, so one platform's import cost or
# failure never touches the others.
PLATFORM_CLASSES: dict[str, str] = {
    "dss": "bot.platforms.dss.platform:DSSPlatform",
    "mstr": "bot.platforms.mstr.platform:StrategyOnePlatform",
    "squonk": "bot.platforms.squonk.platform:SquonkPlatform",
    "astakos": "bot.platforms.astakos.platform:AstakosPlatform",
    "limits": "bot.platforms.limits.platform:LimitsPlatform",
}


TITLES: dict[str, str] = {
    "dss": "Dataiku DSS",
    "mstr": "Strategy One",
    "squonk": "Squonk2 Data Manager",
    "astakos": "Synnefo Astakos",
    "limits": "Atoti Limits",
}


def platform_class(key: str) -> type[Platform]:
    module, _, name = PLATFORM_CLASSES[key].partition(":")
    cls: type[Platform] = getattr(importlib.import_module(module), name)
    return cls


class Platforms(Mapping[str, Platform]):
    def __init__(self, platforms: dict[str, Platform]) -> None:
        self._platforms = platforms

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Platforms:
        built: dict[str, Platform] = {}
        for key in PLATFORM_CLASSES:
            raw = settings.platforms.get(key)
            if not raw:
                continue
            platform_cls = platform_class(key)
            try:
                instances = [
                    platform_cls.instance_model(**{"timeout": settings.platform_timeout, **item})
                    for item in raw
                ]
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ConfigError(f"[[{key}]] {where}: {first['msg']}") from None
            # Tests and benchmarks pass extras (a clock, a transport) to every platform; each
            # platform takes the ones its constructor knows.
            accepted = inspect.signature(platform_cls.__init__).parameters
            built[key] = platform_cls(
                instances, **{k: v for k, v in kwargs.items() if k in accepted}
            )
        unknown = set(settings.platforms) - set(PLATFORM_CLASSES)
        if unknown:
            raise ConfigError(f"unknown platform table(s): {', '.join(sorted(unknown))}")
        return cls(built)

    def __getitem__(self, key: str) -> Platform:
        return self._platforms[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._platforms)

    def __len__(self) -> int:
        return len(self._platforms)

    async def aclose(self) -> None:
        await asyncio.gather(*(p.aclose() for p in self._platforms.values()))
