"""Link previews: a link to a configured platform instance, unfurled as a card.

Slack sends `link_shared` for the domains the manifest lists (`unfurl_domains`, derived here
from the configured instance URLs); handlers/unfurl.py answers with `chat.unfurl`. A link is
read with the credentials of the person who posted it, so the card shows only what they may
see, with the buttons they would get from the platform's own command.

Each platform with previews names them in its descriptor (`unfurl`: its link shapes, on the
host of a configured instance, and its card; bot/platforms/<p>/unfurl.py); any other link is
ignored.
An instance may name the host its web UI is served from with `ui_url` when it differs from
the API's `url` (Squonk2's Data Manager UI, for one).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot import errors, messages
from bot.blocks import common as b
from bot.blocks.ops import HOME_LINK, PlatformRef
from bot.platforms.catalog import title as platform_title

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.platforms.base import Credential
    from bot.services import Services

Block = dict[str, Any]
log = logging.getLogger(__name__)


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
    previews = {d.key for d in settings.descriptors if d.unfurl is not None}
    found = []
    for key, instances in settings.platforms.items():
        if key not in previews:
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
    descriptors = {d.key: d for d in settings.descriptors}
    for key, instances in settings.platforms.items():
        descriptor = descriptors.get(key)
        unfurl = descriptor.unfurler() if descriptor else None
        if unfurl is None:
            continue
        for config in instances:
            if host not in _hosts(config):
                continue
            for kind, pattern in unfurl.shapes:
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


def open_button(target: Target) -> Block:
    """The card's Open button: the link itself."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open"},
        "url": target.url[:3000],
        "action_id": "unfurl_open",
    }


async def card(services: Services, credential: Credential, target: Target) -> list[Block]:
    """The card for a linked poster: name, state, owner, last run, and their buttons. A
    platform error is one line (what the platform said, as everywhere else)."""
    unfurl = services.platforms.descriptors[target.platform].unfurler()
    if unfurl is None:  # parse() gave a target: the platform has previews
        return []
    try:
        blocks = await unfurl.card(services, credential, target)
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
