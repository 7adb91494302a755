"""The bot under test: its Slack secrets and the settings it is started with (the Slack
emulator as its Web API, a data folder of the test's own, fast watch interval)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.config import Settings
from emulators.slack import SlackEmulator

SIGNING_SECRET = "e2e-signing-secret-9f8e7d"
BOT_TOKEN = "xoxb-e2e-bot-token-123456"


def make_settings(tmp_path: Path, slack: SlackEmulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": f"{slack.url}/api/",
        "data_dir": tmp_path,
        "operators": ["U0ALICE"],
        "watch_interval": 0.05,
        "platform_timeout": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def on_bot(bot: Any, coro: Any) -> Any:
    """Run a scheduler coroutine on the bot's own event loop (where its clients live), once
    its scheduler runs."""
    scheduler = bot.services.scheduler
    for _ in range(500):
        if scheduler.running:
            break
        await asyncio.sleep(0.01)
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, scheduler.loop))
