""" "Not found" on every platform names the closest names, case-insensitively, in one plain
sentence; an instance that is not configured is answered with the configured ones."""

from __future__ import annotations

from typing import Any

import pytest

from bot.demo import DEMO_LINKS
from tests.e2e.helpers import link, reply_to, texts


@pytest.fixture
def platforms(demo_platforms: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return demo_platforms  # the shared demo world (tests/conftest.py), reset per test


async def link_demo(driver, slack, user: str) -> None:
    for who, platform, values in DEMO_LINKS:
        if who == user:
            assert "Linked" in await link(driver, slack, who, platform, values)


@pytest.mark.parametrize(
    "user, command, text, expect",
    [
        (
            "alice",
            "/dss",
            "scenarios SALSE",
            "Dataiku DSS (design) has no project `SALSE` that you can see. Did you mean `SALES`?",
        ),
        (
            "alice",
            "/dss",
            "run SALES nightly_buidl",
            "has no scenario `nightly_buidl`. Did you mean",
        ),
        (
            "alice",
            "/dss",
            # Ce4nV8wK never ends (Fm7pQ2rL ends 13.5 minutes into the session's emulator,
            # and an ended task may have left the list by the time this runs).
            "future Ce4nV8wX",
            "has no task `Ce4nV8wX` that you can see. Did you mean `Ce4nV8wK`?",
        ),
        (
            "alice",
            "/limits",
            "limit L-999",
            "Atoti Limits (risk) has no limit `L-999`. Did you mean",
        ),
        (
            "alice",
            "/squonk",
            "instances chem-screenign",
            "There is no project `chem-screenign` that "
            "you can see on Squonk2 (im). Did you mean `chem-screening`?",
        ),
        (
            "bob",
            "/astakos",
            "project ml.exmaple.org",
            "No project named `ml.exmaple.org` that you "
            "can see on Synnefo Astakos (okeanos). Did you mean `ml.example.org`",
        ),
    ],
)
async def test_not_found_offers_the_closest_names(driver, slack, bot, user, command, text, expect):
    await link_demo(driver, slack, user)
    reply = await reply_to(driver, slack, user, command, text, expect=expect.split(".")[0][:30])
    assert expect in reply.text
    assert "not found. " not in reply.text.lower()  # never "not found. X not found"


async def test_names_differing_only_in_case_are_found(driver, slack, bot):
    await link_demo(driver, slack, "alice")
    reply = await reply_to(
        driver, slack, "alice", "/dss", "scenarios sales", expect="Scenarios of SALES"
    )
    assert "Scenarios of SALES" in texts(reply.blocks)
    limit = await reply_to(driver, slack, "alice", "/limits", "limit l-17", expect="Limit L-17")
    assert "Limit L-17" in texts(limit.blocks)


async def test_an_unknown_instance_names_the_configured_ones(driver, slack, bot):
    await link_demo(driver, slack, "alice")
    reply = await reply_to(driver, slack, "alice", "/dss", "whoami @nosuch", expect="instance")
    assert reply.text == "Dataiku DSS has no instance `nosuch` here; configured: `design`."
    assert "/ops link" not in reply.text
