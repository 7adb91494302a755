"""`limits.status` across a bot restart, end to end: what the previous poll saw is kept in
the database, so the first poll after a bot restart still tells that the server answers
again, that it restarted and that an Atoti server dropped off while the bot was down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.server import BotServer
from emulators.limits import DEMO, LimitsEmulator
from emulators.slack_driver import SlackDriver
from tests.e2e.helpers import link, reply_to, texts
from tests.support.bot import SIGNING_SECRET, make_settings


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:  # a fresh seed: this test drops a server
        yield emulator


def alerts_to_alice(slack) -> str:
    return "\n".join(texts(m.blocks) or m.text for m in slack.messages("D0ALICE"))


async def test_a_restart_between_two_polls_still_reports_what_changed(tmp_path, slack, limits):
    settings = make_settings(
        tmp_path, slack, platforms={"limits": [{"name": "risk", "url": limits.url}]}
    )
    values = {k: DEMO["alice"][k] for k in ("username", "password")}
    assert "risk-eu" in limits.servers
    with BotServer(settings) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            assert "Linked" in await link(driver, slack, "alice", "limits", values)
            await reply_to(
                driver, slack, "alice", "/ops", "alert add limits.status", expect="Alert added"
            )
            first = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked")
            assert "0 new item(s)" in first.text  # the baseline
            limits.faults.set(status=503)
            down = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked")
            assert "1 new item(s)" in down.text
            assert "Atoti Limits (risk) is unreachable" in alerts_to_alice(slack)

    # While the bot is down, Limits answers again.
    limits.faults.clear()
    with BotServer(settings) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            back = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked")
            assert "1 new item(s)" in back.text, back.text
            assert "Atoti Limits (risk) answers again" in alerts_to_alice(slack)

    # Down again, Limits restarts without one of its Atoti servers.
    del limits.servers["risk-eu"]
    limits.restart()
    with BotServer(settings) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            after = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked")
            assert "2 new item(s)" in after.text, after.text
            told = alerts_to_alice(slack)
            assert "Atoti server *risk-eu* dropped off the connected list" in told
            assert "restarted at <!date^" in told
