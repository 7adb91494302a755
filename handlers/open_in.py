"""Clicks on "Open in <platform>" link buttons: Slack opens the URL itself and still tells the
app, which must acknowledge within 3 s or the person sees a warning. Nothing else to do."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks.open_in import ACTION_PREFIX


async def _ack(ack: Any) -> None:
    await ack()


def register(app: AsyncApp) -> None:
    app.action(re.compile(f"^{ACTION_PREFIX}_\\d+$"))(_ack)
