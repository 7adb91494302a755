"""Link previews of Squonk2 pages (bot.unfurl), on a configured instance's host (or its
`ui_url`'s): ...instance-<uuid>... (a job instance), ...project-<uuid>... (a project).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.blocks import common as b
from bot.blocks import squonk as cards
from bot.platforms.descriptor import Unfurl
from bot.platforms.squonk.platform import SquonkPlatform
from bot.unfurl import Block, Target, open_button

if TYPE_CHECKING:
    from bot.platforms.base import Credential
    from bot.services import Services

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("instance", re.compile(rf"(?P<instance>instance-{_UUID})")),
    ("project", re.compile(rf"(?P<project>project-{_UUID})")),
)


async def card(services: Services, credential: Credential, target: Target) -> list[Block]:
    client = services.platforms.get(SquonkPlatform).client(credential.instance)
    if target.kind == "instance":
        instance = await client.instance(credential, instance_id=target.ids["instance"])
        project = await client.project(credential, project=instance.project_id)
        owner = f"Owner {b.escape(instance.owner)}" if instance.owner else ""
        return cards.instance_card(credential.instance, instance, None, project.name, note=owner)
    project = await client.project(credential, project=target.ids["project"])
    items = await client.instances(credential, project=project.project_id)
    running = sum(1 for i in items if not i.done)
    ended = sorted((i for i in items if i.done), key=lambda i: i.stopped or "")
    last = (
        f"last run *{b.escape(ended[-1].name)}* {b.escape(ended[-1].phase.lower())}"
        if ended
        else "no run yet"
    )
    return [
        b.section(
            f":test_tube: Squonk2 ({b.escape(credential.instance)})\n"
            f"Project *{b.escape(project.name)}* · owner "
            f"{b.escape(project.creator or 'unknown')}\n"
            f"{len(items)} instance(s), {running} running; {last}"
        ),
        b.actions(open_button(target)),
    ]


UNFURL = Unfurl(shapes=SHAPES, card=card)
