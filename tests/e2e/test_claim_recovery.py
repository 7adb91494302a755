"""kill -9 in the middle of an approval click, then a restart: the approval is usable again
(nothing reached the platform) or settled with who and when (the action took effect), every
copy of the card says so, and the platform saw at most one action. The bot runs as a real
`python -m bot run` process, on SQLite and on PostgreSQL; the Limits emulator holds the
platform's side."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from emulators.limits import LimitsEmulator
from emulators.slack_driver import SlackDriver
from tests.e2e.process import BotProcess, wait_until
from tests.e2e.test_limits_approvals import (
    EXECUTE,
    approve,
    card_buttons,
    card_text,
    link_as,
    share_pending,
)
from tests.engines import ENGINES, rows
from tests.support.bot import SIGNING_SECRET

LIMIT_PATH = "/limits/rest/v2/limitDefinition/limits/get/L-4"
EXECUTE_PATH = "/activeviam/limits/rest/v2/workflow-service/execute-task-action"
APPROVAL = "limits:prod:limit:L-4:firstApproval"
# Short enough for a test: a claim older than 8 s is stale (platform calls time out at 5 s,
# long enough for the kill to land while the click waits on Limits).
FAST = {
    "platform_timeout": 5.0,
    "claim_stale_after": 8.0,
    "claim_check_interval": 0.5,
    "sync_interval": 0.5,
}


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:
        yield emulator


@pytest.fixture(params=ENGINES)
def world(request, tmp_path: Path, slack, limits) -> dict:
    """The bot's settings, on SQLite, then on PostgreSQL (a claim left by a replica)."""
    config = tmp_path / "switchboard.toml"
    config.write_text(f'[[limits]]\nname = "prod"\nurl = "{limits.url}"\n', encoding="utf-8")
    database = (
        {"database_url": request.getfixturevalue("postgres_url")}
        if request.param == "postgresql"
        else {}
    )
    return {
        "data": tmp_path / "data",
        "slack_url": slack.url,
        "config": config,
        "key": Fernet.generate_key().decode(),
        "log": tmp_path / "bot.log",
        **FAST,
        **database,
    }


def target(world) -> str | Path:
    return world.get("database_url") or world["data"] / "switchboard.db"


@pytest.fixture
async def first(world, slack) -> AsyncIterator[tuple[BotProcess, SlackDriver]]:
    with BotProcess(**world) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            yield bot, driver


def approval_state(world) -> tuple[str, str]:
    return rows(target(world), "select state, actor from approvals where id = ?", [APPROVAL])[0]


async def test_killed_after_claiming_before_the_platform_call_the_card_works_again(
    world, slack, limits, first
):
    bot, driver = first
    await link_as(driver, slack, "alice", "alice")
    shared = await share_pending(driver, slack)
    # The click reads the limit twice: its confirm dialog's figures, checked before the claim,
    # then the task to take, after it. That second read never answers: the process is killed
    # with the claim taken and the approve action not sent.
    limits.faults.set(hang=True, path_prefix=LIMIT_PATH, after=1)
    await driver.click("alice", shared, action_id="limits_approve", value=approve(shared, "L-4"))
    wait_until(
        lambda: len(limits.requests_to("GET", LIMIT_PATH)) == 2, 20, "the click reaching Limits"
    )
    assert approval_state(world) == ("acting", "U0ALICE")
    bot.kill()
    limits.faults.clear()

    with BotProcess(**world) as again:
        # Recovered: Limits still shows the task open, so the claim is freed.
        wait_until(lambda: approval_state(world)[0] == "pending", 30, "the claim freed")
        assert limits.requests_to("POST", EXECUTE) == []
        assert card_buttons(slack.workspace.find(shared.channel, shared.ts), "L-4") == [
            "Approve",
            "Reject",
        ]
        async with SlackDriver(slack, again.events_url, SIGNING_SECRET) as driver:
            await driver.click(
                "alice", shared, action_id="limits_approve", value=approve(shared, "L-4")
            )
            await driver.wait_for(
                lambda: (
                    "Approved* by <@U0ALICE>"
                    in card_text(slack.workspace.find(shared.channel, shared.ts), "L-4")
                ),
                timeout=20,
            )
    assert limits.limits["L-4"].status == "APPROVED"
    assert len(limits.requests_to("POST", EXECUTE)) == 1


async def test_killed_after_the_platform_call_the_card_is_settled_not_sent_again(
    world, slack, limits, first
):
    bot, driver = first
    await link_as(driver, slack, "alice", "alice")
    shared = await share_pending(driver, slack)
    # Limits takes the approval but answers slowly: the process dies before it hears back.
    limits.faults.set(latency=1.5, path_prefix=EXECUTE_PATH)
    await driver.click("alice", shared, action_id="limits_approve", value=approve(shared, "L-4"))
    wait_until(lambda: limits.requests_to("POST", EXECUTE), 20, "the approve reaching Limits")
    bot.kill()
    wait_until(lambda: limits.limits["L-4"].status == "APPROVED", 20, "Limits approving")
    limits.faults.clear()
    assert approval_state(world) == ("acting", "U0ALICE")

    with BotProcess(**world):
        wait_until(lambda: approval_state(world) == ("done", "U0ALICE"), 30, "the card settled")
        # Every copy says who approved and when; no button is left to press.
        current = wait_until(
            lambda: (
                (m := slack.workspace.find(shared.channel, shared.ts))
                and "Approved* by <@U0ALICE>" in card_text(m, "L-4")
                and m
            ),
            20,
            "the copy updated",
        )
        assert "<!date^" in card_text(current, "L-4")
        assert card_buttons(current, "L-4") == []
    assert len(limits.requests_to("POST", EXECUTE)) == 1
    audit = rows(
        target(world), "select action, result, detail from audit where action = 'limits.approve'"
    )
    assert [(a, r) for a, r, _ in audit] == [("limits.approve", "ok")]
    assert "recovered after a restart" in audit[0][2]
