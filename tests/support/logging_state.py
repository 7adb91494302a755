"""The logging module's configuration is process-wide: a test that runs the `switchboard`
command in-process (bot.__main__.main calls setup_logging) adds a root handler and sets
slack_sdk, httpx and httpcore to INFO/WARNING for every later test. `LoggingState` takes a
snapshot of all of it and puts it back."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field


@dataclass
class LoggingState:
    root_level: int
    root_handlers: list[logging.Handler]
    disabled: int
    loggers: dict[str, tuple[int, bool, bool, list[logging.Filter]]] = field(default_factory=dict)

    @classmethod
    def take(cls) -> LoggingState:
        root = logging.getLogger()
        return cls(
            root_level=root.level,
            root_handlers=list(root.handlers),
            disabled=logging.root.manager.disable,
            loggers={
                name: (one.level, one.disabled, one.propagate, list(one.filters))
                for name, one in logging.root.manager.loggerDict.items()
                if isinstance(one, logging.Logger)
            },
        )

    def restore(self) -> None:
        root = logging.getLogger()
        root.setLevel(self.root_level)
        for handler in list(root.handlers):
            # pytest's capture handlers come and go with each phase of a test: theirs to manage.
            if handler not in self.root_handlers and not _is_pytests(handler):
                root.removeHandler(handler)
        logging.disable(self.disabled)
        for name, one in logging.root.manager.loggerDict.items():
            if not isinstance(one, logging.Logger):
                continue
            level, disabled, propagate, filters = self.loggers.get(name, (0, False, True, []))
            one.setLevel(level)
            one.disabled, one.propagate, one.filters = disabled, propagate, list(filters)


def _is_pytests(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")
