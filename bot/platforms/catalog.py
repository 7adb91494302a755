"""The platforms this bot knows, in the order people see them (help, Home, digests, the
manifest). Adding a platform is one package under bot/platforms/ with its `DESCRIPTOR`, and
one line here; everything that names platforms is derived from this list (`Settings.descriptors`
defaults to it; a test may give another).
"""

from __future__ import annotations

from bot.platforms import astakos, dss, limits, mstr, squonk
from bot.platforms.descriptor import PlatformDescriptor

DESCRIPTORS: tuple[PlatformDescriptor, ...] = (
    dss.DESCRIPTOR,
    mstr.DESCRIPTOR,
    squonk.DESCRIPTOR,
    astakos.DESCRIPTOR,
    limits.DESCRIPTOR,
)


def title(key: str) -> str:
    """A known platform's name as people read it, where no settings are at hand (error
    texts); elsewhere `services.platforms.title`, which also knows a test's own platforms."""
    return next((d.title for d in DESCRIPTORS if d.key == key), key)
