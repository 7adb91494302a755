"""Link previews of Strategy One pages (bot.unfurl), on a configured instance's host:
.../app/<project id>/<dossier id> (a dossier; 32 hex digits each), read with the poster's login:
its name, owner and when it last changed (its definition, `GET /api/objects/{id}?type=55`), and
its project with the "Use project" button `/mstr projects` has (sets the clicker's default).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot import errors
from bot.blocks import common as b
from bot.blocks.mstr import USE_PROJECT, ProjectRef
from bot.blocks.time import slack_date
from bot.interactions import ref
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
    try:
        dossier = await client.dossier(
            credential=credential, project_id=project.id, dossier_id=target.ids["dossier"].upper()
        )
    except errors.NotFound:
        raise errors.NotFound(
            f"that dossier is not in {project.name}, or not one you can see",
            platform="mstr",
            instance=credential.instance,
        ) from None
    state = ", ".join(sorted({n.status for n in project.nodes}))  # empty: not an admin
    owner = f" · owner {b.escape(dossier.owner)}" if dossier.owner else ""
    changed = f"\nLast changed {slack_date(dossier.modified)}" if dossier.modified else ""
    about = f"\n{b.escape(b.clip(dossier.description, 200))}" if dossier.description else ""
    use = b.button(
        "Use project",
        USE_PROJECT,
        ref(ProjectRef(instance=credential.instance, id=project.id)),
    )
    return [
        b.section(
            f":bar_chart: Strategy One ({b.escape(credential.instance)})\n"
            f"Dossier *{b.escape(dossier.name)}*{owner}\n"
            f"Project *{b.escape(project.name)}*"
            + (f" · {b.escape(state)}" if state else "")
            + changed
            + about
        ),
        b.actions(use, open_button(target)),
    ]


UNFURL = Unfurl(shapes=SHAPES, card=card)
