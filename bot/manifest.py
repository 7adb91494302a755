"""The Slack app manifest, generated from the settings so command names never drift.

Each platform's slash command, its description and its usage hint come from the platform's
descriptor and its registered subcommands (the hint names every subcommand), so a new platform
or subcommand shows up here with no edit.

`switchboard manifest --url https://bot.example.com` prints the HTTP-mode manifest;
`--socket-mode` one for Socket Mode. The repository's manifest.yml is the HTTP one for the
default command names (a test keeps them equal and validates both against Slack's schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from bot.config import Settings
from bot.unfurl import unfurl_domains

if TYPE_CHECKING:
    from bot.commands import CommandFamily

OPS_SUMMARY = "Switchboard hub: link accounts, status, digests, audit"
MAX_HINT = 1000  # Slack's limit for a usage hint
MAX_DESCRIPTION = 140  # ... and for the app's short description
BOT_SCOPES = [
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "usergroups:read",
    "channels:read",
    "groups:read",
    # Digest crash recovery looks for an already-posted run in the history.
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    # Link previews of platform pages (bot.unfurl): link_shared, chat.unfurl.
    "links:read",
    "links:write",
]
MAX_UNFURL_DOMAINS = 5  # Slack's limit for an app's unfurl domains
LONG_DESCRIPTION = (
    "Switchboard lets data-platform teams drive {platforms} from Slack. Each person links "
    "their own platform credentials once; they are verified, then kept encrypted. Slash "
    "commands show futures, jobs, job instances, quotas, commissions and breaches; buttons "
    "abort, stop, accept and reject behind a confirm dialog, with the clicker's own "
    "credentials; scheduled digests and alerts keep channels informed."
)


def in_words(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def usage_hint(family: CommandFamily) -> str:
    """Every registered subcommand's name: `whoami | futures | future | ...`."""
    hint = " | ".join(family.subcommands)
    return hint if len(hint) <= MAX_HINT else hint[: MAX_HINT - 2].rsplit(" | ", 1)[0] + " …"


def build_manifest(
    settings: Settings,
    *,
    url: str | None,
    socket_mode: bool,
    families: Mapping[str, CommandFamily] | None = None,
) -> dict[str, Any]:
    """`families`: every slash command's family by key ("ops" and the platforms'); by
    default the app's (bot.app.command_families)."""
    if not socket_mode and not url:
        raise ValueError("an HTTP-mode manifest needs --url (the bot's public base URL)")
    if families is None:
        from bot.app import command_families  # the app's composition: it knows the families

        families = command_families(settings)
    endpoint = f"{url.rstrip('/')}/slack/events" if url else None
    summaries = {d.key: d.summary or d.title for d in settings.descriptors}
    summaries["ops"] = OPS_SUMMARY
    commands = []
    for key, family in families.items():
        command: dict[str, Any] = {
            "command": settings.commands.of(key),
            "description": summaries.get(key, family.title),
            "usage_hint": usage_hint(family),
            "should_escape": False,
        }
        if endpoint and not socket_mode:
            command["url"] = endpoint
        commands.append(command)
    # member_left_channel: a digest's owner leaving its channel pauses it (bot.membership).
    # link_shared: previews of platform links (handlers/unfurl.py).
    event_subscriptions: dict[str, Any] = {
        "bot_events": ["app_home_opened", "member_left_channel", "link_shared"]
    }
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket_mode:
        event_subscriptions["request_url"] = endpoint
        interactivity["request_url"] = endpoint
    features: dict[str, Any] = {
        "app_home": {
            "home_tab_enabled": True,
            "messages_tab_enabled": True,
            "messages_tab_read_only_enabled": True,
        },
        "bot_user": {"display_name": "switchboard", "always_online": True},
        "slash_commands": commands,
    }
    domains = unfurl_domains(settings)[:MAX_UNFURL_DOMAINS]
    if domains:
        features["unfurl_domains"] = domains
    titles = [d.title for d in settings.descriptors]
    description = f"Chat-ops for {in_words(titles)}"
    if len(description) > MAX_DESCRIPTION:
        description = "Chat-ops for your data platforms"
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "Switchboard",
            "description": description,
            "background_color": "#1d3557",
            "long_description": LONG_DESCRIPTION.format(platforms=in_words(titles)),
        },
        "features": features,
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(
    settings: Settings,
    *,
    url: str | None,
    socket_mode: bool,
    families: Mapping[str, CommandFamily] | None = None,
) -> str:
    return yaml.safe_dump(
        build_manifest(settings, url=url, socket_mode=socket_mode, families=families),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
