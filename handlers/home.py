"""The App Home tab's listeners: the tab opened (drawn by bot.home.publish_home), and its Link
and Unlink buttons. The digests' buttons on it are handlers.subscriptions'."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import ops as blocks
from bot.home import publish_home
from bot.interactions import Click, on_click
from bot.linking import unlink_account
from handlers.link import open_link_modal, platform_for


async def on_home_opened(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    if event.get("tab", "home") != "home":
        return
    await publish_home(context["services"], client, event["user"])


async def link_clicked(click: Click) -> None:
    ref = blocks.parse_ref(click.value)
    platform = platform_for(click.services, ref.platform)
    await open_link_modal(
        services=click.services,
        client=click.client,
        trigger_id=click.trigger_id,
        platform=platform,
        instance=ref.instance,
        from_home=True,
        role=ref.role if ref.role in platform.link_roles else "",
    )


async def unlink_clicked(click: Click) -> None:
    ref = blocks.parse_ref(click.value)
    if ref.platform in click.services.platforms:
        await unlink_account(click.services, click.user_id, ref.platform, ref.instance, ref.role)
    await publish_home(click.services, click.client, click.user_id)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_home_opened)
    app.action(blocks.HOME_LINK)(on_click(link_clicked))
    app.action(blocks.HOME_UNLINK)(on_click(unlink_clicked))
