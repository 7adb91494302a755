"""The configured platforms, built from settings, in the order people see them.

Which platforms exist comes from their descriptors (`Settings.descriptors`, by default
bot.platforms.catalog). A platform's class is imported only when it is configured, so one
platform's import cost or failure never touches the others.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar, overload

from pydantic import ValidationError

from bot import approval_kinds, errors, messages
from bot.config import ConfigError, Settings
from bot.platforms.base import Platform
from bot.platforms.catalog import DESCRIPTORS
from bot.platforms.descriptor import PlatformDescriptor

P = TypeVar("P", bound=Platform[Any])
D = TypeVar("D")


class Platforms(Mapping[str, Platform[Any]]):
    """The configured platforms by key, and the descriptors of every known one.

    `get(DSSPlatform)` is the typed lookup: the configured DSS platform as a `DSSPlatform`
    (its `client()` a `DSSClient`), or a reply saying DSS is not configured here.
    """

    def __init__(
        self,
        platforms: dict[str, Platform[Any]],
        descriptors: tuple[PlatformDescriptor, ...] = DESCRIPTORS,
    ) -> None:
        self._platforms = platforms
        self.descriptors: dict[str, PlatformDescriptor] = {d.key: d for d in descriptors}
        self._by_class: dict[type[Platform[Any]], Platform[Any]] = {
            type(p): p for p in platforms.values()
        }

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Platforms:
        built: dict[str, Platform[Any]] = {}
        known = {d.key for d in settings.descriptors}
        unknown = set(settings.platforms) - known
        if unknown:
            raise ConfigError(f"unknown platform table(s): {', '.join(sorted(unknown))}")
        for descriptor in settings.descriptors:
            key = descriptor.key
            raw = settings.platforms.get(key)
            if not raw:
                continue
            platform_cls = descriptor.platform_class()
            # Its approval kinds, for the generic approval flow and the claims' recovery.
            approval_kinds.register(*descriptor.kinds())
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
        return cls(built, settings.descriptors)

    def __getitem__(self, key: str) -> Platform[Any]:
        return self._platforms[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._platforms)

    def __len__(self) -> int:
        return len(self._platforms)

    # Mapping.get, widened: a Platform class is a key too.
    @overload
    def get(self, key: type[P], /) -> P: ...
    @overload
    def get(self, key: str, /) -> Platform[Any] | None: ...
    @overload
    def get(self, key: str, default: D, /) -> Platform[Any] | D: ...
    def get(self, key: Any, default: Any = None) -> Any:
        if not isinstance(key, type):
            return self._platforms.get(key, default)
        found = self._by_class.get(key)
        if found is None:
            found = next((p for p in self._platforms.values() if isinstance(p, key)), None)
        if found is None:
            title = getattr(key, "title", key.__name__)
            raise errors.UserError(
                messages.NOT_CONFIGURED.format(
                    title=title,
                    key=getattr(key, "key", "?"),
                    platforms=", ".join(f"`{k}`" for k in self._platforms) or "none yet",
                )
            )
        return found

    def title(self, key: str) -> str:
        """The platform's name as people read it ("Dataiku DSS"); the key if unknown."""
        descriptor = self.descriptors.get(key)
        return descriptor.title if descriptor else key

    def titles(self) -> dict[str, str]:
        return {key: d.title for key, d in self.descriptors.items()}

    def key_for(self, word: str) -> str:
        """The platform key a word names (`dataiku` -> `dss`); the word itself otherwise."""
        word = word.lower()
        return next((k for k, d in self.descriptors.items() if word in d.names()), word)

    async def aclose(self) -> None:
        await asyncio.gather(*(p.aclose() for p in self._platforms.values()))
