"""Commands and clicks are acked before their work runs; "Working on …" shows only when the
answer is slow. Through signed requests to the real bot; the platform is held with the DSS
emulator's hang fault (released by clearing it), so nothing here depends on timing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.server import BotServer
from emulators.dss import DEMO, DSSEmulator
from emulators.slack import SlackEmulator
from tests.e2e.helpers import link, reply_to, texts
from tests.support.bot import make_settings

ALICE_KEY = DEMO["alice"]["api_key"]
WORKING = "Working on `/dss futures`"
FUTURES = "/public/api/futures"


def posts_to(slack: SlackEmulator, url: str | None) -> list[dict]:
    return [p.body for p in slack.responses() if p.url == url]


@pytest.fixture
def grace() -> float:
    return 0.5


@pytest.fixture
def settings(tmp_path: Path, slack: SlackEmulator, dss: DSSEmulator, grace: float) -> Settings:
    # A long platform timeout: a held platform call must not time out while a test looks.
    return make_settings(
        tmp_path,
        slack,
        platforms={"dss": [{"name": "prod", "url": dss.url}]},
        working_grace=grace,
        platform_timeout=60.0,
    )


@pytest.fixture
def bot(settings: Settings) -> Iterator[BotServer]:
    with BotServer(settings) as server:
        yield server


@pytest.mark.parametrize("grace", [60.0])
async def test_a_quick_command_answers_with_one_post(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    sent = await driver.command("alice", "/dss", "futures")
    assert sent.status == 200
    await driver.wait_for(
        lambda: any("Compute metrics" in str(p) for p in posts_to(slack, sent.response_url))
    )
    # The answer came within the grace: it is the only post, and no note follows it (the
    # note is called off before the answer is sent).
    [answer] = posts_to(slack, sent.response_url)
    assert WORKING not in str(answer)
    assert not any(WORKING in (m.text or "") for m in slack.ephemerals("alice"))


async def test_a_slow_platform_shows_working_then_the_answer_in_its_place(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    dss.faults.set(hang=True, path_prefix=FUTURES)
    sent = await driver.command("alice", "/dss", "futures")
    # Acked while the platform call is still held.
    assert sent.status == 200
    note = await driver.wait_for(
        lambda: next((m for m in slack.ephemerals("alice") if WORKING in (m.text or "")), None)
    )
    assert not any("Compute metrics" in str(p) for p in posts_to(slack, sent.response_url))
    dss.faults.clear()
    answer = await driver.wait_for(
        lambda: next(
            (
                m
                for m in slack.ephemerals("alice")
                if m.ts == note.ts and "Compute metrics" in texts(m.blocks)
            ),
            None,
        )
    )
    assert WORKING not in (answer.text or "")
    assert len(posts_to(slack, sent.response_url)) == 2  # the note, then the answer over it


async def test_a_button_click_is_acked_before_its_platform_call(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    listing = await reply_to(driver, slack, "alice", "/dss", "futures", expect="Compute metrics")
    dss.faults.set(hang=True, path_prefix=FUTURES)
    clicked = await driver.click("alice", listing, text="Abort")
    assert clicked is not None and clicked.status == 200  # while the abort call is held
    assert not any("aborted" in str(p) for p in posts_to(slack, clicked.response_url))
    dss.faults.clear()
    await driver.wait_for(
        lambda: any("aborted" in str(p) for p in posts_to(slack, clicked.response_url))
    )
