"""Closest names for "not found" replies, the same on every platform: case-insensitive
(difflib on folded names), plus names that contain what was typed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bot.blocks import common as b


def closest(wanted: str, names: Iterable[str], n: int = 3) -> list[str]:
    folded = wanted.casefold()
    by_fold: dict[str, str] = {}
    for name in names:
        by_fold.setdefault(name.casefold(), name)
    close = [by_fold[k] for k in difflib.get_close_matches(folded, list(by_fold), n=n, cutoff=0.5)]
    close += [name for key, name in by_fold.items() if folded and folded in key]
    return list(dict.fromkeys(close))[:n]


def same_name(wanted: str, names: Iterable[str]) -> str | None:
    """The one name equal to `wanted` but for case (`sales` -> `SALES`), if exactly one."""
    found = {name for name in names if name.casefold() == wanted.casefold()}
    return found.pop() if len(found) == 1 else None


def code(text: str) -> str:
    """A name inside a code span: escaped, without backticks, not too long."""
    return f"`{b.escape(b.clip(str(text).replace('`', chr(39)), 80))}`"


def did_you_mean(wanted: str, names: Iterable[str]) -> str:
    """ " Did you mean `SALES` or `SALES_EU`?" or ""."""
    close = closest(wanted, names)
    if not close:
        return ""
    quoted = [code(c) for c in close]
    words = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" Did you mean {words}?"
