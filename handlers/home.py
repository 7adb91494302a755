"""The App Home tab: linked accounts with Link / Re-link / Unlink buttons, the approvals waiting on
the viewer (with their buttons; bot.digests.<platform>.waiting), and the caller's
digests and alerts with Pause / Resume / Run now / Remove (handlers.subscriptions)."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import errors, messages
from bot.blocks import common as b
from bot.blocks import ops as blocks
from bot.blocks import subscriptions as sub_blocks
from bot.digests import registry
from bot.digests.base import DigestContext
from bot.interactions import Click, on_click
from bot.services import Services
from handlers.link import open_link_modal, platform_for


async def publish_home(services: Services, client: AsyncWebClient, user_id: str) -> None:
    from handlers.subscriptions import listing_rows

    accounts = await services.accounts.for_user(user_id)
    platforms = [(p.key, p.title, list(p.instances)) for p in services.platforms.values()]
    waiting = await waiting_on(services, user_id, accounts)
    extra = waiting + sub_blocks.home_section(await listing_rows(services, user_id))
    await client.views_publish(
        user_id=user_id, view=blocks.home_view(platforms=platforms, accounts=accounts, extra=extra)
    )


# Room left for the approvals on the Home tab (Slack allows 100 blocks; links and digests
# take the rest).
HOME_APPROVAL_BLOCKS = 40


async def waiting_on(services: Services, user_id: str, accounts: list) -> list[dict[str, Any]]:
    """The approvals waiting on the viewer, with their buttons: each linked account's
    platform asked with the viewer's own credential, concurrently. The cards are the same
    approvals as in commands and digests (one claim, every copy updated)."""
    sources = registry.waiting()
    linked = [a for a in accounts if a.platform in sources and a.platform in services.platforms]
    if not linked:
        return []

    async def one(account) -> tuple[str, list[tuple[str, list]], str]:  # type: ignore[no-untyped-def]
        title = f"{services.platforms[account.platform].title} ({account.instance})"
        try:
            credential = await services.accounts.credential(
                user_id, account.platform, account.instance
            )
            ctx = DigestContext(
                services=services, credential=credential, now=services.now(), since=None
            )
            return title, await sources[account.platform](ctx), ""
        except errors.BotError as error:
            return title, [], messages.for_error(error)

    results = await asyncio.gather(*(one(a) for a in linked))
    items: list[list[dict[str, Any]]] = []
    notes: list[str] = []
    for title, cards, problem in results:
        if problem:
            notes.append(f":warning: {title}: {problem}")
        items += [[b.context(f"*{title}*"), *card] for _, card in cards]
    count = len(items)
    head = [
        b.divider(),
        b.header("Waiting on you"),
        b.section(
            f"{count} approval(s) waiting on you." if count else "Nothing is waiting on you."
        ),
    ]
    tail = [b.context(note) for note in notes[:3]]
    return b.fit_blocks(
        head,
        items,
        more="{left} more not shown: `/astakos commissions` and `/limits pending` list them all.",
        tail=tail,
        limit=HOME_APPROVAL_BLOCKS,
    )


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
    )


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
