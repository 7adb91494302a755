"""Link previews of Atoti Limits pages (bot.unfurl), on a configured instance's host:
.../limits/<id> or #/limits/<id> (a limit page), read with the poster's login.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.blocks import limits as cards
from bot.platforms.descriptor import Unfurl
from bot.platforms.limits.platform import LimitsPlatform
from bot.unfurl import Block, Target

if TYPE_CHECKING:
    from bot.platforms.base import Credential
    from bot.services import Services

SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("limit", re.compile(r"/limits?/(?P<limit>[A-Za-z0-9_.:-]+)")),
)


async def card(services: Services, credential: Credential, target: Target) -> list[Block]:
    client = services.platforms.get(LimitsPlatform).client(credential.instance)
    view = await client.limit(credential, limit_id=target.ids["limit"])
    return cards.limit_view(credential.instance, view)


UNFURL = Unfurl(shapes=SHAPES, card=card)
