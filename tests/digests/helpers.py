"""Steps the digest tests share: open Services as the bot does, link as the modal links."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.digests.base import DigestContext, Section
from bot.platforms.base import Credential
from bot.services import Services, open_services
from tests.e2e.helpers import texts

# What a section may use of a 50-block digest carrying all five platforms (leaving a title and
# a divider per section, and a header and a footer, to the composer: bot/digests/compose.py).
SECTION_BUDGET = 7


def open_for(
    tmp_path: Path, platforms: dict[str, list[dict[str, Any]]], **platform_kwargs: Any
) -> Services:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        platforms=platforms,
        slack_api_url="http://127.0.0.1:9/api/",
        platform_timeout=2.0,
    )
    return open_services(settings, **platform_kwargs)


async def link(
    services: Services, user_id: str, platform: str, instance: str, values: dict[str, str]
) -> Credential:
    """The platform's verify, then the link row: what the link modal does."""
    verified = await services.platforms[platform].verify(instance, values)
    await services.accounts.link(user_id, platform, instance, verified)
    return await services.accounts.credential(user_id, platform, instance)


def context(
    services: Services,
    credential: Credential,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
) -> DigestContext:
    return DigestContext(
        services=services, credential=credential, now=now or datetime.now(UTC), since=since
    )


def readable(section: Section) -> str:
    return texts(section.blocks)


def card_ids(blocks: list[dict[str, Any]]) -> list[str]:
    """The approval ids whose tagged cards are in `blocks`, in order."""
    out: list[str] = []
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block_id.startswith("appr|"):
            approval = block_id.split("|")[1]
            if approval not in out:
                out.append(approval)
    return out
