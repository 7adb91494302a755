"""An answer of the wrong shape becomes `BadAnswer`, at the client that parses it.

A platform client reads JSON into pydantic models (and now and then a field by hand). When the
instance answers something else (`{}` for a project, a list for an object, an object for a
list, a login page's fields ...) the parsing raises `ValidationError`, `KeyError`, `TypeError`
and the like. `@checked` on a client class turns those, raised inside any of its public
coroutine methods, into one `BadAnswer` naming the instance, which `bot.messages.for_error`
words for the person ("... answered something Switchboard does not understand ...").

The log line says which method and which fields, never the values: a malformed token answer
must not put the token in the log.
"""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from bot import errors

log = logging.getLogger(__name__)

# What parsing an unexpected shape raises (pydantic's ValidationError and a JSON decode error
# are ValueErrors). A client never raises these on purpose.
SHAPE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError)

C = TypeVar("C", bound=type)


class WrongShape(TypeError):
    """Raised by a client on an answer it checked by hand; the text is shown to people."""


def expect_list(body: Any, what: str) -> list[Any]:
    """A list answer (`None`, an empty body, counts as empty); `{}` or an object is not one."""
    if body is None:
        return []
    if not isinstance(body, list):
        raise WrongShape(f"no list of {what} where one was expected")
    return body


def checked(cls: C) -> C:
    """Class decorator: every public coroutine method maps shape errors to `BadAnswer`.

    The class keeps its `PlatformHTTP` in `self.http` (which names platform and instance).
    """
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            setattr(cls, name, _checked(member))
    return cls


def _checked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except SHAPE_ERRORS as exc:
            http = self.http
            log.warning(
                "%s %s: %s could not read the answer: %s",
                http.platform,
                http.instance,
                method.__qualname__,
                _for_log(exc),
            )
            raise http.error(errors.BadAnswer, describe(exc)) from None

    return call


def describe(exc: BaseException) -> str:
    """What was wrong with the answer, in a few words for people (no values from it)."""
    if isinstance(exc, ValidationError):
        problems = exc.errors(include_input=False, include_url=False)
        if any(not p["loc"] for p in problems):
            return f"no {exc.title} where one was expected"
        count = len(problems)
        return (
            f"an unexpected {exc.title}: {count} field{'s' if count != 1 else ''} missing "
            "or of the wrong type"
        )
    if isinstance(exc, WrongShape):
        return str(exc)
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        return f"no {exc.args[0]!r} in its answer"
    return "its answer has an unexpected shape"


def _for_log(exc: BaseException) -> str:
    """Type, fields and where it broke: never the text of the answer."""
    if isinstance(exc, ValidationError):
        fields = ", ".join(
            f"{'.'.join(map(str, p['loc'])) or '(top)'} {p['type']}"
            for p in exc.errors(include_input=False, include_url=False)[:5]
        )
        return f"{exc.title}: {fields}"
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
    return f"{type(exc).__name__}{where}"
