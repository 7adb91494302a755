"""`link_shared` → `chat.unfurl`: previews of links to configured platform instances
(bot.unfurl). The event is acknowledged at once (Bolt) and the work runs in the background:
each link read with the poster's own credentials. Someone with no account on that instance
gets a one-line preview with a Link button once per conversation; later links there stay
plain. Links typed in a message composer (`source: "composer"`) are previewed there too,
before the message is posted, answered by `unfurl_id` and `source`. Links to hosts that are not
configured are ignored (Slack sends only the domains the manifest lists, but a workspace may
list more). Redelivered events are dropped by the app's event-id middleware, like every other
event."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import errors, unfurl
from bot.services import Services
from bot.store import seen

log = logging.getLogger(__name__)
MAX_LINKS = 10  # Slack sends at most a handful per message; more is not a preview


async def unfurls_for(
    services: Services,
    user: str,
    channel: str,
    links: list[dict[str, Any]],
    *,
    composer: bool = False,
) -> dict[str, dict[str, Any]]:
    """The previews of `links` posted by `user` in `channel`. In a message composer (not
    posted yet; Slack names the channel "COMPOSER") the Link line is not shown: it is meant
    once per conversation, and which one is known only when the message is posted (Slack
    then sends the links again)."""
    out: dict[str, dict[str, Any]] = {}
    for link in links[:MAX_LINKS]:
        url = str(link.get("url") or "")
        target = unfurl.parse(services.settings, url)
        if target is None or target.platform not in services.platforms or url in out:
            continue
        try:
            credential = await services.accounts.credential(user, target.platform, target.instance)
        except errors.NotLinked:
            if composer:
                continue
            key = f"unfurl-link:{channel}:{user}:{target.platform}:{target.instance}"
            if await services.store.run(seen.first_time, key, services.now().isoformat()):
                out[url] = {"blocks": unfurl.not_linked(target)}
            continue
        out[url] = {"blocks": await unfurl.card(services, credential, target)}
    return out


async def answer(services: Services, client: AsyncWebClient, event: dict[str, Any]) -> None:
    user, channel = str(event.get("user") or ""), str(event.get("channel") or "")
    composer = event.get("source") == "composer"
    links = list(event.get("links") or [])
    found = await unfurls_for(services, user, channel, links, composer=composer)
    if not found:
        return
    args: dict[str, Any] = {"unfurls": found}
    # Slack's composer previews have no real channel or ts: only unfurl_id + source name them.
    if event.get("unfurl_id") and event.get("source"):
        args.update(unfurl_id=event["unfurl_id"], source=event["source"])
    else:
        args.update(channel=channel, ts=str(event.get("message_ts") or ""))
    try:
        await client.chat_unfurl(**args)
    except Exception as error:
        log.warning("chat.unfurl in %s failed: %s", channel, type(error).__name__)


async def on_link_shared(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    services: Services = context["services"]
    services.background.spawn(answer(services, client, event))


def register(app: AsyncApp) -> None:
    app.event("link_shared")(on_link_shared)
