"""The App Home tab: linked accounts with Link / Re-link / Unlink buttons, and the caller's
digests and alerts with Pause / Resume / Run now / Remove (handlers.subscriptions)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import ops as blocks
from bot.blocks import subscriptions as sub_blocks
from bot.interactions import Click, on_click
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


async def link_clicked(click: Click) -> None:
    ref = blocks.parse_ref(click.value)
    platform = platform_for(click.services, ref.platform)
    await open_link_modal(services=click.services, client=click.client,
                          trigger_id=click.trigger_id, platform=platform,
                          instance=ref.instance, from_home=True)


async def unlink_clicked(click: Click) -> None:
    from handlers.ops import unlink_account

    ref = blocks.parse_ref(click.value)
    if ref.platform in click.services.platforms:
        await unlink_account(click.services, click.user_id, ref.platform, ref.instance)
    await publish_home(click.services, click.client, click.user_id)


def register(app: AsyncApp) -> None:
    from handlers import subscriptions

    subscriptions.register(app)
    app.event("app_home_opened")(on_home_opened)
    app.action(blocks.HOME_LINK)(on_click(link_clicked))
    app.action(blocks.HOME_UNLINK)(on_click(unlink_clicked))
