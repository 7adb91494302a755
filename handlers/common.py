"""Small helpers every platform family's handlers share."""

from __future__ import annotations

from bot.commands import Invocation


def take_instance(inv: Invocation) -> str | None:
    """Remove an `@instance` argument (anywhere) and return the name, or None."""
    for index, word in enumerate(inv.args):
        if word.startswith("@") and len(word) > 1:
            del inv.args[index]
            return word[1:]
    return None
