"""The Strategy One digest section and alert source against the Strategy One emulator (the
bot's session cache and the emulator share one FakeClock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import errors
from bot.digests import mstr as digest
from bot.digests.base import DigestContext
from emulators.base import FakeClock
from emulators.mstr import DEMO, Project, StrategyOneEmulator
from tests.digests.helpers import SECTION_BUDGET, context, link, readable


@pytest.fixture
def services(mstr: StrategyOneEmulator, clock: FakeClock, services_factory):
    return services_factory({"mstr": [{"name": "prod", "url": mstr.url}]}, clock=clock)


async def as_(services, clock: FakeClock, who: str) -> DigestContext:
    credential = await link(
        services, f"U0{who.upper()}", "mstr", "prod", {k: str(v) for k, v in DEMO[who].items()}
    )
    return context(services, credential, now=datetime.fromtimestamp(clock(), UTC))


async def test_section_shows_versions_and_projects_not_loaded(services, clock):
    section = await digest.section(await as_(services, clock, "alice"))
    body = readable(section)
    assert section.title == "Strategy One (prod)"
    assert not section.empty
    assert "Reachable" in body and "I-Server 11.6.1000.0035" in body
    assert "web 11.6.1000.0042" in body
    assert "Projects not loaded everywhere (3)" in body
    assert "Sales Analytics* · iserver-02: unloaded" in body
    assert "HR Insights" in body and "Supply Chain" in body
    assert "MicroStrategy Tutorial" not in body  # loaded on both nodes


async def test_without_the_monitor_privilege_nothing_is_worth_telling(services, clock):
    section = await digest.section(await as_(services, clock, "bob"))
    assert section.empty
    assert "needs the project monitor privilege" in readable(section)
    assert "Reachable" in readable(section)


async def test_many_unloaded_projects_stay_within_the_block_budget(services, clock, mstr):
    for n in range(40):
        mstr.projects.append(
            Project(f"Archive {n:02d}", "old", {"iserver-01": "unloaded", "iserver-02": "unloaded"})
        )
    section = await digest.section(await as_(services, clock, "alice"))
    assert len(section.blocks) <= SECTION_BUDGET
    assert "Projects not loaded everywhere (43)" in readable(section)
    assert "38 more: `/mstr projects`" in readable(section)


async def test_an_unreachable_server_propagates(services, clock, mstr):
    ctx = await as_(services, clock, "alice")
    mstr.faults.set(status=503)
    with pytest.raises(errors.Unavailable):
        await digest.section(ctx)


async def test_unreachable_alert_is_keyed_by_the_hour(services, clock, mstr):
    ctx = await as_(services, clock, "alice")
    assert await digest.ALERTS["mstr.status"](ctx) == []
    mstr.faults.set(status=503)
    first = await digest.ALERTS["mstr.status"](ctx)
    again = await digest.ALERTS["mstr.status"](ctx)
    hour = ctx.now.strftime("%Y-%m-%dT%H")
    assert [i.key for i in first] == [i.key for i in again] == [f"mstr:prod:unreachable:{hour}"]
    assert "Strategy One (prod) is unreachable" in first[0].text
    next_hour = DigestContext(ctx.services, ctx.credential, ctx.now + timedelta(hours=1), ctx.now)
    assert [i.key for i in await digest.ALERTS["mstr.status"](next_hour)] != [first[0].key]
