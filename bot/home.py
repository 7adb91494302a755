"""The App Home tab, drawn for one person: linked accounts with Link / Re-link / Unlink
buttons, the approvals waiting on the viewer (with their buttons; bot.digests.<platform>.
waiting), and the viewer's digests and alerts with Pause / Resume / Run now / Remove. Drawn
when the tab opens (handlers.home) and again after anything that changes it (a link, an
unlink, a click on a card or a digest's button). Charts of the viewer's platforms follow the
approvals (bot.home_charts)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import alert_mutes, errors, home_charts, messages
from bot.accounts import LinkedAccount
from bot.blocks import common as b
from bot.blocks import ops as blocks
from bot.blocks import subscriptions as sub_blocks
from bot.digests import registry
from bot.digests.base import DigestContext
from bot.subscriptions import listing_rows

if TYPE_CHECKING:
    from bot.services import Services

# Room left for the approvals on the Home tab (Slack allows 100 blocks; links and digests
# take the rest).
HOME_APPROVAL_BLOCKS = 40


async def publish_home(services: Services, client: AsyncWebClient, user_id: str) -> None:
    accounts = await services.accounts.for_user(user_id)
    platforms = [(p.key, p.title, list(p.instances)) for p in services.platforms.values()]
    waiting, charts = await asyncio.gather(
        waiting_on(services, user_id, accounts), home_charts.section(services, user_id, accounts)
    )
    rows = await listing_rows(services, user_id)
    silences = await alert_mutes.live(services, [row["id"] for row, _ in rows])
    extra = waiting + charts.blocks + sub_blocks.home_section(rows, silences)
    view = blocks.home_view(
        platforms=platforms,
        accounts=accounts,
        extra=extra,
        roles={p.key: p.link_roles for p in services.platforms.values() if p.link_roles},
    )
    number = home_charts.published(services, user_id)
    await client.views_publish(user_id=user_id, view=view)
    if charts.unfinished:  # read or drawn after Home is showing, then shown in it
        services.background.spawn(
            home_charts.redraw(services, client, user_id, view, charts, number)
        )


async def waiting_on(
    services: Services, user_id: str, accounts: list[LinkedAccount]
) -> list[dict[str, Any]]:
    """The Home tab's "Waiting on you": the approvals waiting on the viewer, with their
    buttons (`waiting_cards`); nothing when no linked platform has approvals."""
    found = await waiting_cards(services, user_id, accounts)
    if found is None:
        return []
    items, notes = found
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


async def waiting_cards(
    services: Services, user_id: str, accounts: list[LinkedAccount]
) -> tuple[list[list[dict[str, Any]]], list[str]] | None:
    """The approvals waiting on the viewer, with their buttons: each linked account's
    platform asked with the viewer's own credential, concurrently. The cards are the same
    approvals as in commands and digests (one claim, every copy updated). Returns the cards
    (each headed by its platform) and a note per platform that could not be asked; None when
    no linked platform has approvals."""
    sources = registry.waiting(services.settings.descriptors)
    linked = [a for a in accounts if a.platform in sources and a.platform in services.platforms]
    if not linked:
        return None

    async def one(
        account: LinkedAccount,
    ) -> tuple[str, list[tuple[str, list[dict[str, Any]]]], str]:
        title = f"{services.platforms[account.platform].title} ({account.instance})"
        try:
            credential = await services.accounts.credential(
                user_id, account.platform, account.instance, account.role
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
    return items, notes
