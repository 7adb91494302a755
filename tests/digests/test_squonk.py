"""The Squonk2 digest section and alert source against the Keycloak and DM emulators, which
share one FakeClock with the bot's token cache (time moves by hand)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot import errors, filters
from bot.digests import squonk as digest
from bot.digests.base import DigestContext
from emulators.base import FakeClock
from emulators.squonk import DEMO, SquonkEmulator
from tests.digests.helpers import SECTION_BUDGET, context, link, readable


def now(module_clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(module_clock(), UTC)


@pytest.fixture
def services(dm: SquonkEmulator, module_clock: FakeClock, services_factory):
    return services_factory({"squonk": [dm.instance_settings("main")]}, clock=module_clock)


async def alice(services, module_clock: FakeClock, since: datetime | None = None) -> DigestContext:
    credential = await link(
        services,
        "U0ALICE",
        "squonk",
        "main",
        {"username": DEMO["alice"]["username"], "password": DEMO["alice"]["password"]},
    )
    return context(services, credential, since=since, now=now(module_clock))


async def test_section_shows_running_and_recently_failed_instances(services, module_clock):
    section = await digest.section(await alice(services, module_clock))
    body = readable(section)
    assert section.title == "Squonk2 Data Manager (main)"
    assert not section.empty
    assert "Running instances (2)" in body
    assert "nightly-props" in body and "picker-run" in body
    assert "Failed in the last 24 h (1)" in body
    assert "dock-ligands-a" in body and "Receptor file receptor.pdb not found" in body
    assert "qc-batch-7" not in body  # completed: not news in a digest
    assert "chem-screening" in body  # project names, not ids


async def test_failures_count_from_the_previous_digest(services, module_clock):
    ctx = await alice(services, module_clock, since=now(module_clock) - timedelta(minutes=10))
    body = readable(await digest.section(ctx))
    assert "dock-ligands-a" not in body
    assert "Running instances (2)" in body


async def test_nothing_to_tell_is_empty(services, module_clock):
    module_clock.advance(2 * 24 * 3600)  # every seeded instance has ended long ago
    ctx = await alice(services, module_clock, since=now(module_clock) - timedelta(hours=1))
    section = await digest.section(ctx)
    assert section.empty
    assert "No instance running, and none failed since" in readable(section)


async def test_many_instances_stay_within_the_block_budget(services, module_clock):
    ctx = await alice(services, module_clock)
    client = services.platforms["squonk"].client("main")
    for n in range(30):
        await client.start(
            ctx.credential,
            collection="rdkit",
            job="rdkit-molprops",
            version="1.2.0",
            project="demo",
            name=f"bulk-{n}",
        )
    section = await digest.section(ctx)
    assert len(section.blocks) <= SECTION_BUDGET
    assert "Running instances (32)" in readable(section)
    assert "27 more: `/squonk instances`" in readable(section)


async def test_a_platform_failure_propagates(services, module_clock, dm):
    ctx = await alice(services, module_clock)
    dm.faults.set(status=503)
    with pytest.raises(errors.PlatformError):
        await digest.section(ctx)


async def test_instances_alert_keys_are_stable_and_states_follow_the_phase(
    services, module_clock, dm
):
    ctx = await alice(services, module_clock)
    first = await digest.ALERTS["squonk.instances"](ctx)
    assert all(i.key.startswith("squonk:main:instance:instance-") for i in first)
    assert all(i.subject == i.key and i.kind == "instance" for i in first)
    assert all(i.gone == "deleted" for i in first)
    states = {i.text.split("*")[1]: i.state for i in first}
    # Ended in the window, and what still runs: each its own thread, its phase in words.
    assert states == {
        "qc-batch-7": "finished",
        "events-check": "finished",
        "dock-ligands-a": "failed",
        "nightly-props": "running",
        "picker-run": "pending",
    }
    assert [i.failed for i in first] == [i.state == "failed" for i in first]
    assert any("Receptor file receptor.pdb not found" in i.text for i in first)
    module_clock.advance(700)  # nightly-props and picker-run complete
    later = DigestContext(ctx.services, ctx.credential, now(module_clock), ctx.now)
    second = await digest.ALERTS["squonk.instances"](later)
    # The same instances keep their keys; events-check (stopped 24 h ago) left the window.
    kept = {i.key for i in first if "events-check" not in i.text}
    assert kept == {i.key for i in second}
    was = {i.key: i.state for i in first}
    moved = {i.text.split("*")[1]: i for i in second if i.key in kept and i.state != was[i.key]}
    assert {name: i.state for name, i in moved.items()} == {
        "nightly-props": "finished",
        "picker-run": "finished",
    }
    ended = moved
    assert all("completed" in i.text for i in ended.values())


async def test_filters_narrow_the_section_by_owner_project_and_name(services, clock, dm):
    ctx = await alice(services, clock)
    mine = await digest.section(replace(ctx, filters=filters.parse(["owner=me"])))
    body = readable(mine)
    assert "nightly-props" in body and "dock-ligands-a" in body
    assert "picker-run" not in body  # bob's
    bobs = await digest.section(replace(ctx, filters=filters.parse(["owner=@bob"])))
    assert "picker-run" in readable(bobs) and "nightly-props" not in readable(bobs)
    dm.requests.clear()
    chem = await digest.section(replace(ctx, filters=filters.parse(["project=chem-screening"])))
    assert "dock-ligands-a" in readable(chem) and "nightly-props" not in readable(chem)
    # Squonk2 itself was asked for that project's instances only.
    [asked] = dm.requests_to("GET", "/instance")
    assert asked.query["project_id"].startswith("project-")
    named = await digest.section(replace(ctx, filters=filters.parse(["name~PICKER"])))
    assert "picker-run" in readable(named) and "nightly-props" not in readable(named)


async def test_an_alert_filter_keeps_only_what_matches(services, clock):
    ctx = await alice(services, clock)
    every = await digest.ended_instances(ctx)
    narrowed = await digest.ended_instances(replace(ctx, filters=filters.parse(["owner=@bob"])))
    assert any("dock-ligands-a" in item.text for item in every)
    assert narrowed and all(item in every for item in narrowed)
    assert {item.text.split("*")[1] for item in narrowed} == {"qc-batch-7", "picker-run"}


async def test_project_names_are_what_the_owner_can_see(services, clock):
    names = await digest.project_names(await alice(services, clock))
    assert "chem-screening" in names and "demo" in names
