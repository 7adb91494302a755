"""Link previews of Strategy One pages (bot.unfurl), on a configured instance's host:
.../app/<project id>/<dossier id> (a dossier; 32 hex digits each), read with the poster's login.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot import errors
from bot.blocks import common as b
from bot.platforms.descriptor import Unfurl
from bot.platforms.mstr.platform import StrategyOnePlatform
from bot.unfurl import Block, Target, open_button

if TYPE_CHECKING:
    from bot.platforms.base import Credential
    from bot.services import Services

SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dossier", re.compile(r"/app/(?P<project>[0-9A-Fa-f]{32})/(?P<dossier>[0-9A-Fa-f]{32})")),
)


async def card(services: Services, credential: Credential, target: Target) -> list[Block]:
    client = services.platforms.get(StrategyOnePlatform).client(credential.instance)
    projects = await client.projects(credential=credential)
    pid = target.ids["project"].upper()
    project = next((p for p in projects if str(p.id).upper() == pid), None)
    if project is None:
        raise errors.NotFound(
            "that dossier's project is not one you can see",
            platform="mstr",
            instance=credential.instance,
        )
    state = ", ".join(sorted({n.status for n in project.nodes}))  # empty: not an admin
    return [
        b.section(
            f":bar_chart: Strategy One ({b.escape(credential.instance)})\n"
            f"Dossier `{b.escape(target.ids['dossier'])}` in project "
            f"*{b.escape(project.name)}*" + (f" · {b.escape(state)}" if state else "")
        ),
        b.actions(open_button(target)),
    ]


UNFURL = Unfurl(shapes=SHAPES, card=card)
