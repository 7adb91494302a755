"""Two approvers for Astakos commissions (`[approvers."astakos.commission"] required = 2`):
the first Accept is recorded on the card and nothing reaches Astakos; the second accepts it
once; "Resolve all" does not accept them all on one person's word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ApprovalRule, Settings
from emulators.astakos import AstakosEmulator
from emulators.slack import SlackEmulator
from tests.e2e.helpers import link, seen_by, texts
from tests.e2e.test_astakos_approvals import (
    ACTION,
    SERVICE,
    button_value,
    card,
    has_buttons,
    now,
    shared,
)
from tests.support.bot import make_settings


@pytest.fixture
def platforms(astakos: AstakosEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"astakos": [{"name": "prod", "url": f"{astakos.url}/identity/v2.0"}]}


@pytest.fixture
def settings(tmp_path: Path, slack: SlackEmulator, platforms: dict) -> Settings:
    rules = {"astakos.commission": ApprovalRule(required=2)}
    return make_settings(tmp_path, slack, platforms=platforms, approval_rules=rules)


async def test_the_second_accept_accepts_once_and_resolve_all_waits_for_two(
    driver, slack, astakos, bot, settings
):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    await link(driver, slack, "carol", "astakos", {"token": SERVICE})
    post = await shared(driver, slack)
    assert "*0 of 2* approvers: none yet" in texts(card(post, 56))

    await driver.click("alice", post, text="Resolve all (4)")
    await driver.wait_for(
        lambda: "require 2 approvers for each commission" in seen_by(slack, "alice")
    )
    assert astakos.requests_to("POST", "/account/v1.0/commissions/action") == []

    await driver.click("alice", now(slack, post), value=button_value(post, 56, "Accept"))
    await driver.wait_for(
        lambda: "*1 of 2* approvers: <@U0ALICE>" in texts(card(now(slack, post), 56))
    )
    assert has_buttons(now(slack, post), 56)
    assert astakos.requests_to("POST", ACTION.format(serial=56)) == []
    assert astakos.commission(56) is not None

    await driver.click("carol", now(slack, post), value=button_value(post, 56, "Accept"))
    await driver.wait_for(lambda: "Accepted* by <@U0CAROL>" in texts(card(now(slack, post), 56)))
    assert not has_buttons(now(slack, post), 56)
    assert len(astakos.requests_to("POST", ACTION.format(serial=56))) == 1
    assert astakos.commission(56) is None
