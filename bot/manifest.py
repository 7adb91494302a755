"""The Slack app manifest, generated from the settings so command names never drift.

`switchboard manifest --url https://bot.example.com` prints the HTTP-mode manifest;
`--socket-mode` one for Socket Mode. The repository's manifest.yml is the HTTP one for the
default command names (a test keeps them equal and validates both against Slack's schema).
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.config import Settings
from bot.unfurl import unfurl_domains

DESCRIPTIONS = {
    "ops": (
        "Switchboard hub: link accounts, status, digests, audit",
        "help | link <platform> | links | status | digest list",
    ),
    "dss": (
        "Dataiku DSS: futures, jobs, scenarios, notebooks, keys",
        "whoami | futures [all] | jobs | scenarios <project> | notebooks <project>",
    ),
    "mstr": (
        "Strategy One: server status, session, projects",
        "status | whoami | projects | use <project>",
    ),
    "squonk": (
        "Squonk2 Data Manager: projects, job instances, runs",
        "projects | instances [project] | run <collection>/<job>@<version> in <project>",
    ),
    "astakos": (
        "Synnefo Astakos: quotas, commissions, projects",
        "whoami | quotas | commissions | projects | members <project>",
    ),
    "limits": (
        "Atoti Limits: breaches, limits, approvals",
        "status | breaches [as-of date] | limit <id> | pending",
    ),
}
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
    "Switchboard lets data-platform teams drive Dataiku DSS, Strategy One, Squonk2 Data "
    "Manager, Synnefo Astakos and Atoti Limits from Slack. Each person links their own "
    "platform credentials once; they are verified, then kept encrypted. Slash commands show "
    "futures, jobs, job instances, quotas, commissions and breaches; buttons abort, stop, "
    "accept and reject behind a confirm dialog, with the clicker's own credentials; scheduled "
    "digests and alerts keep channels informed."
)


def build_manifest(settings: Settings, *, url: str | None, socket_mode: bool) -> dict[str, Any]:
    if not socket_mode and not url:
        raise ValueError("an HTTP-mode manifest needs --url (the bot's public base URL)")
    endpoint = f"{url.rstrip('/')}/slack/events" if url else None
    commands = []
    for key, (description, hint) in DESCRIPTIONS.items():
        command: dict[str, Any] = {
            "command": getattr(settings.commands, key),
            "description": description,
            "usage_hint": hint,
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
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "Switchboard",
            "description": "Chat-ops for DSS, Strategy One, Squonk2, Astakos and Atoti Limits",
            "background_color": "#1d3557",
            "long_description": LONG_DESCRIPTION,
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


def manifest_yaml(settings: Settings, *, url: str | None, socket_mode: bool) -> str:
    return yaml.safe_dump(
        build_manifest(settings, url=url, socket_mode=socket_mode),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
