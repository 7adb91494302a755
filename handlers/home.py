"""The App Home tab: linked accounts with Link / Re-link / Unlink buttons, and the caller's
digests and alerts with Pause / Resume / Run now / Remove (handlers.subscriptions)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import ops as blocks
from bot.blocks import subscriptions as sub_blocks
from bot.commands import guarded
from bot.services import Services
from handlers.link import open_link_modal, platform_for


async def publish_home(services: Services, client: AsyncWebClient, user_id: str) -> None:
    from handlers.subscriptions import listing_rows

    accounts = await services.accounts.for_user(user_id)
    platforms = [(p.key, p.title, list(p.instances)) for p in services.platforms.values()]
    extra = sub_blocks.home_section(await listing_rows(services, user_id))
    await client.views_publish(user_id=user_id, view=blocks.home_view(
        platforms=platforms, accounts=accounts, extra=extra))


async def on_home_opened(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    if event.get("tab", "home") != "home":
        return
    await publish_home(context["services"], client, event["user"])


async def on_home_link(ack: Any, body: dict[str, Any], client: AsyncWebClient,
                       respond: Any, context: Any) -> None:
    await ack()
    services: Services = context["services"]

    async def work() -> None:
        ref = blocks.parse_ref(body["actions"][0]["value"])
        platform = platform_for(services, ref.platform)
        await open_link_modal(services=services, client=client, trigger_id=body["trigger_id"],
                              platform=platform, instance=ref.instance, from_home=True)

    await guarded(_dm(client, body["user"]["id"]), work())


async def on_home_unlink(ack: Any, body: dict[str, Any], client: AsyncWebClient,
                         context: Any) -> None:
    await ack()
    services: Services = context["services"]
    user_id = body["user"]["id"]

    async def work() -> None:
        from handlers.ops import unlink_account

        ref = blocks.parse_ref(body["actions"][0]["value"])
        if ref.platform in services.platforms:
            await unlink_account(services, user_id, ref.platform, ref.instance)
        await publish_home(services, client, user_id)

    await guarded(_dm(client, user_id), work())


def _dm(client: AsyncWebClient, user_id: str) -> Any:
    """A `respond` stand-in for the Home tab (no response_url there): a DM to the user."""

    async def send(text: str, **_: Any) -> None:
        await client.chat_postMessage(channel=user_id, text=text)

    return send


def register(app: AsyncApp) -> None:
    from handlers import subscriptions

    subscriptions.register(app)
    app.event("app_home_opened")(on_home_opened)
    app.action(blocks.HOME_LINK)(on_home_link)
    app.action(blocks.HOME_UNLINK)(on_home_unlink)
