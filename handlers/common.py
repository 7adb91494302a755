"""Small helpers every platform family's handlers share."""

from __future__ import annotations

from bot import errors, suggest
from bot.commands import Invocation


def take_instance(inv: Invocation) -> str | None:
    """Remove an `@instance` argument (anywhere) and return the name, or None. A name that is
    not configured for this platform is answered with the configured ones."""
    for index, word in enumerate(inv.args):
        if word.startswith("@") and len(word) > 1:
            del inv.args[index]
            name = word[1:]
            platform = inv.services.platforms.get(inv.family)
            if platform is not None and name not in platform.instances:
                raise errors.UserError(
                    f"{platform.title} has no instance {suggest.code(name)} here; configured: "
                    + ", ".join(f"`{n}`" for n in platform.instances)
                    + "."
                    + suggest.did_you_mean(name, platform.instances)
                )
            return name
    return None
