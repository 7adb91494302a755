"""Link previews: a link to a configured platform instance, unfurled as a card.

Slack sends `link_shared` for the domains the manifest lists (`unfurl_domains`, derived here
from the configured instance URLs); handlers/unfurl.py answers with `chat.unfurl`. A link is
read with the credentials of the person who posted it, so the card shows only what they may
see, with the buttons they would get from the platform's own command.

Link shapes (on the host of a configured instance; anything else is ignored):
    DSS          /projects/<KEY>[/...]                 project
                 /projects/<KEY>/scenarios/<id>[/...]  scenario
                 /projects/<KEY>/jobs/<id>[/...]       job
    Strategy One .../app/<project id>/<dossier id>     dossier (32 hex digits each)
    Squonk2      ...instance-<uuid>...                 instance
                 ...project-<uuid>...                  project
    Atoti Limits .../limits/<id> or #/limits/<id>      limit page
An instance may name the host its web UI is served from with `ui_url` when it differs from
the API's `url` (Squonk2's Data Manager UI, for one).
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot import errors, messages
from bot.blocks import common as b
from bot.blocks import limits as limits_cards
from bot.blocks import squonk as squonk_cards
from bot.blocks.dss import OUTCOME_ICON
from bot.blocks.ops import HOME_LINK, PlatformRef
from bot.blocks.time import from_ms, slack_date
from bot.platforms.catalog import title as platform_title

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.platforms.base import Credential
    from bot.services import Services

Block = dict[str, Any]
log = logging.getLogger(__name__)

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SHAPES: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    "dss": [
        (
            "scenario",
            re.compile(
                r"/projects/(?P<project>[A-Za-z0-9_]+)/scenarios/"
                r"(?P<scenario>[^/?#]+)"
            ),
        ),
        ("job", re.compile(r"/projects/(?P<project>[A-Za-z0-9_]+)/jobs/(?P<job>[^/?#]+)")),
        ("project", re.compile(r"/projects/(?P<project>[A-Za-z0-9_]+)(?:/|$)")),
    ],
    "mstr": [
        ("dossier", re.compile(r"/app/(?P<project>[0-9A-Fa-f]{32})/(?P<dossier>[0-9A-Fa-f]{32})")),
    ],
    "squonk": [
        ("instance", re.compile(rf"(?P<instance>instance-{_UUID})")),
        ("project", re.compile(rf"(?P<project>project-{_UUID})")),
    ],
    "limits": [
        ("limit", re.compile(r"/limits?/(?P<limit>[A-Za-z0-9_.:-]+)")),
    ],
}


@dataclass(frozen=True)
class Target:
    url: str
    platform: str
    instance: str
    kind: str
    ids: dict[str, str]


def _hosts(config: dict[str, Any]) -> list[str]:
    """The instance's hosts (host[:port]), its API's first."""
    hosts = [
        urlsplit(str(config[key])).netloc.lower() for key in ("url", "ui_url") if config.get(key)
    ]
    return [h for i, h in enumerate(hosts) if h and h not in hosts[:i]]


def unfurl_domains(settings: Settings) -> list[str]:
    """The manifest's unfurl domains: the host name of every configured instance (Slack
    matches domains without port or scheme)."""
    found = []
    for key, instances in settings.platforms.items():
        if key not in SHAPES:
            continue
        for config in instances:
            for host in _hosts(config):
                name = host.rsplit("@", 1)[-1].split(":", 1)[0]
                if name and name not in found:
                    found.append(name)
    return found


def parse(settings: Settings, url: str) -> Target | None:
    """The platform page a link points to, or None (not a configured instance, or a page
    that is not one of the shapes)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = parts.netloc.lower()
    where = (
        parts.path
        + ("?" + parts.query if parts.query else "")
        + ("#" + parts.fragment if parts.fragment else "")
    )
    for key, instances in settings.platforms.items():
        for config in instances:
            if host not in _hosts(config):
                continue
            for kind, pattern in SHAPES.get(key, []):
                match = pattern.search(where)
                if match:
                    return Target(url, key, str(config.get("name", "")), kind, match.groupdict())
    return None


def not_linked(target: Target) -> list[Block]:
    """One line and a Link button, for someone with no account on that instance."""
    title = platform_title(target.platform)
    ref = PlatformRef(platform=target.platform, instance=target.instance).model_dump_json()
    return [
        b.section(
            f"Link your {title} ({b.escape(target.instance)}) account to see "
            "previews of its links here.",
            accessory=b.button("Link", HOME_LINK, ref, style="primary"),
        )
    ]


def _open(target: Target) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open"},
        "url": target.url[:3000],
        "action_id": "unfurl_open",
    }


async def card(services: Services, credential: Credential, target: Target) -> list[Block]:
    """The card for a linked poster: name, state, owner, last run, and their buttons. A
    platform error is one line (what the platform said, as everywhere else)."""
    build = {"dss": _dss, "mstr": _mstr, "squonk": _squonk, "limits": _limits}[target.platform]
    try:
        blocks = await build(services, credential, target)
    except errors.BotError as error:
        title = services.platforms.title(target.platform)
        return [
            b.context(
                f"{title} ({b.escape(target.instance)}): {b.clip(messages.for_error(error), 300)}"
            )
        ]
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("unfurl of a %s %s link failed (ref %s)", target.platform, target.kind, ref)
        return [b.context(f"Switchboard could not preview this link (ref `{ref}`).")]
    return blocks[: b.MAX_MESSAGE_BLOCKS]


# -- per platform ---------------------------------------------------------------------------


async def _dss(services: Services, credential: Credential, target: Target) -> list[Block]:
    from bot.platforms.dss.platform import DSSPlatform

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
    elif target.kind == "job":
        jid = target.ids["job"]
        running = await client.running_jobs(api_key=key, project_key=project)
        job = next((j for j in running if j.job_id == jid), None)
        state = (
            (
                f"{b.escape(job.state.lower())}"
                + (f" · started by {b.escape(job.initiator)}" if job.initiator else "")
            )
            if job
            else "not running (finished, or not one you can see)"
        )
        text = f"Job `{b.escape(jid)}` · {state}\nProject {head}{owner}"
    else:
        scenarios = await client.list_scenarios(api_key=key, project_key=project)
        running = sum(1 for s in scenarios if s.running)
        text = f"Project {head}{owner}\n{len(scenarios)} scenario(s), {running} running"
    return [
        b.section(f":large_blue_square: Dataiku DSS ({b.escape(credential.instance)})\n" + text),
        b.actions(_open(target)),
    ]


async def _mstr(services: Services, credential: Credential, target: Target) -> list[Block]:
    from bot.platforms.mstr.platform import StrategyOnePlatform

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
        b.actions(_open(target)),
    ]


async def _squonk(services: Services, credential: Credential, target: Target) -> list[Block]:
    from bot.platforms.squonk.platform import SquonkPlatform

    client = services.platforms.get(SquonkPlatform).client(credential.instance)
    if target.kind == "instance":
        instance = await client.instance(credential, instance_id=target.ids["instance"])
        project = await client.project(credential, project=instance.project_id)
        owner = f"Owner {b.escape(instance.owner)}" if instance.owner else ""
        return squonk_cards.instance_card(
            credential.instance, instance, None, project.name, note=owner
        )
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
        b.actions(_open(target)),
    ]


async def _limits(services: Services, credential: Credential, target: Target) -> list[Block]:
    from bot.platforms.limits.platform import LimitsPlatform

    client = services.platforms.get(LimitsPlatform).client(credential.instance)
    view = await client.limit(credential, limit_id=target.ids["limit"])
    return limits_cards.limit_view(credential.instance, view)
