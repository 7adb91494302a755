"""Block Kit for the one-time web link: the ephemeral reply to `/ops link` that carries it."""

from __future__ import annotations

from bot.blocks import common as b

LINK_READY = (
    "Open <{url}|this link> to link your {title} account{where}. "
    "It expires in {minutes} minutes and works once; it is only for you, "
    "so don't share it."
)
LINK_READY_TEXT = (
    "Open this link to link your {title} account{where}: {url} "
    "It expires in {minutes} minutes and works once."
)


def link_message(
    *, title: str, instance: str | None, url: str, minutes: int
) -> tuple[str, list[b.Block]]:
    """The (fallback text, blocks) of the reply. `url` is ours (base URL + a URL-safe token),
    so it needs no escaping; the instance name comes from the settings file and does."""
    where = f" ({b.escape(instance)})" if instance else ""
    text = LINK_READY_TEXT.format(title=title, where=where, url=url, minutes=minutes)
    blocks = [
        b.section(
            ":closed_lock_with_key: "
            + LINK_READY.format(url=url, title=title, where=where, minutes=minutes)
        ),
        b.context(
            "Your credential goes straight to Switchboard over that page, is checked "
            f"with {title}, then kept encrypted. It never appears in Slack."
        ),
    ]
    return text, blocks
