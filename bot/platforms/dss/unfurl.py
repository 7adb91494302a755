"""Link previews of Dataiku DSS pages (bot.unfurl), on a configured instance's host:
/projects/<KEY>[/...] (project), /projects/<KEY>/scenarios/<id>[/...] (scenario) and
/projects/<KEY>/jobs/<id>[/...] (job); the card is read with the poster's API key. A scenario's
card has Run and a running job's Abort: the same actions as `/dss run` and `/dss job`, taken
with the clicker's own key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot import errors
from bot.blocks import common as b
from bot.blocks import dss as cards
from bot.blocks.dss import OUTCOME_ICON
from bot.blocks.time import from_ms, slack_date
from bot.platforms.descriptor import Unfurl
from bot.platforms.dss.platform import DSSPlatform
from bot.unfurl import Block, Target, open_button

if TYPE_CHECKING:
    from bot.platforms.base import Credential
    from bot.services import Services

SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "scenario",
        re.compile(r"/projects/(?P<project>[A-Za-z0-9_]+)/scenarios/(?P<scenario>[^/?#]+)"),
    ),
    ("job", re.compile(r"/projects/(?P<project>[A-Za-z0-9_]+)/jobs/(?P<job>[^/?#]+)")),
    ("project", re.compile(r"/projects/(?P<project>[A-Za-z0-9_]+)(?:/|$)")),
)


async def card(services: Services, credential: Credential, target: Target) -> list[Block]:
    client = services.platforms.get(DSSPlatform).client(credential.instance)
    key, project = credential.secret, target.ids["project"]
    projects = await client.list_projects(api_key=key)
    found = next((p for p in projects if p.key == project), None)
    if found is None:
        raise errors.NotFound(
            f"project {project} is not one you can see",
            platform="dss",
            instance=credential.instance,
        )
    head = f"*{b.escape(found.name or found.key)}* (`{b.escape(found.key)}`)"
    owner = f" · owner {b.escape(found.owner)}" if found.owner else ""
    if target.kind == "scenario":
        sid = target.ids["scenario"]
        scenarios = await client.list_scenarios(api_key=key, project_key=project)
        scenario = next((s for s in scenarios if s.id == sid), None)
        if scenario is None:
            raise errors.NotFound(
                f"scenario {sid} is not in {project}", platform="dss", instance=credential.instance
            )
        runs = await client.last_runs(api_key=key, project_key=project, scenario_id=sid, limit=1)
        state = "running" if scenario.running else ("active" if scenario.active else "inactive")
        if runs:
            run = runs[0]
            last = (
                f"{OUTCOME_ICON.get(run.outcome, '')} {(run.outcome or 'running').lower()}"
                f" · {slack_date(from_ms(run.end or run.start))}"
            )
        else:
            last = "never run"
        text = (
            f"Scenario *{b.escape(scenario.name or sid)}* (`{b.escape(sid)}`) · {state}\n"
            f"Project {head}{owner}\nLast run: {last}"
        )
        buttons = [cards.run_button(credential.instance, project, scenario)]
    elif target.kind == "job":
        jid = target.ids["job"]
        try:
            job = await client.job_status(api_key=key, project_key=project, job_id=jid)
        except errors.NotFound:
            raise errors.NotFound(
                f"job {jid} is not in {project}", platform="dss", instance=credential.instance
            ) from None
        text = f"Job `{b.escape(jid)}` · {cards.job_state(job)}\nProject {head}{owner}"
        buttons = cards.job_buttons(credential.instance, job)
    else:
        scenarios = await client.list_scenarios(api_key=key, project_key=project)
        busy = sum(1 for s in scenarios if s.running)
        text = f"Project {head}{owner}\n{len(scenarios)} scenario(s), {busy} running"
        buttons = []
    return [
        b.section(f":large_blue_square: Dataiku DSS ({b.escape(credential.instance)})\n" + text),
        b.actions(*buttons, open_button(target)),
    ]


UNFURL = Unfurl(shapes=SHAPES, card=card)
