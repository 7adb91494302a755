"""The platform modules that give digest sections and alert sources, listed by name.

A module not written yet (or failing to import) is left out with a warning; its platform's
section then says that no digest is available for it, and the rest of the digest still goes
out.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from bot.digests.base import AlertSource, SectionSource

log = logging.getLogger(__name__)

# In the order sections appear in a digest (the order people see platforms everywhere).
MODULES = {
    "dss": "bot.digests.dss",
    "mstr": "bot.digests.mstr",
    "squonk": "bot.digests.squonk",
    "astakos": "bot.digests.astakos",
    "limits": "bot.digests.limits",
}
ORDER = list(MODULES)


def _load() -> dict[str, ModuleType]:
    loaded: dict[str, ModuleType] = {}
    for key, name in MODULES.items():
        try:
            loaded[key] = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                log.exception("digest module %s failed to import", name)
        except Exception:
            log.exception("digest module %s failed to import", name)
    return loaded


_modules: dict[str, ModuleType] | None = None


def modules() -> dict[str, ModuleType]:
    global _modules
    if _modules is None:
        _modules = _load()
    return _modules


def waiting() -> dict[str, Callable[..., Awaitable[list[Any]]]]:
    """Per platform, what waits on an account (approval cards) for the App Home tab."""
    return {k: m.waiting for k, m in modules().items() if hasattr(m, "waiting")}


def sections() -> dict[str, SectionSource]:
    return {k: m.section for k, m in modules().items() if hasattr(m, "section")}


def alerts() -> dict[str, AlertSource]:
    """Every alert source by its name ("astakos.commissions"), in platform order."""
    out: dict[str, AlertSource] = {}
    for module in modules().values():
        out.update(getattr(module, "ALERTS", {}) or {})
    return out
