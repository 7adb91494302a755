"""Every /dss command a person can type, and the buttons on its answers, end to end. The DSS
emulator runs on a clock the tests move, so runs and futures end without sleeping."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from emulators.base import FakeClock
from emulators.dss import DEMO, DSSEmulator
from tests.e2e.helpers import dms, link, reply_to, texts

ALICE_KEY = DEMO["alice"]["api_key"]
BOB_KEY = DEMO["bob"]["api_key"]


@pytest.fixture
def clock() -> FakeClock:
    import time

    return FakeClock(start=time.time())


@pytest.fixture
def dss(clock: FakeClock) -> Iterator[DSSEmulator]:
    with DSSEmulator(clock=clock) as emulator:
        yield emulator


def audit_actions(settings) -> list[tuple[str, str]]:
    return sqlite3.connect(settings.db_path).execute(
        "select action, target from audit order by id").fetchall()


async def test_future_watch_tells_the_person_when_it_ends(driver, slack, dss, clock, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(driver, slack, "alice", "/dss", "future Fm7pQ2rL watch",
                           expect="Compute metrics")
    assert "I'll send you a message when it ends." in texts(reply.blocks)
    assert "Loading partitions" in texts(reply.blocks)
    clock.advance(20 * 60)  # the future runs 15 minutes
    await driver.wait_for(lambda: "ended: done" in dms(slack, "alice"))
    assert "Compute metrics on SALES.orders" in dms(slack, "alice")


async def test_run_a_scenario_then_its_outcome_arrives_by_dm(driver, slack, dss, clock, bot,
                                                             settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(driver, slack, "alice", "/dss", "run CHURN RETRAIN_MODEL",
                           expect="Started scenario")
    assert "*CHURN.RETRAIN_MODEL*" in reply.text
    clock.advance(120)  # 2 s until the run shows, 45 s of run
    await driver.wait_for(lambda: "ended: *FAILED*" in dms(slack, "alice"))
    assert ("dss.run", "CHURN.RETRAIN_MODEL") in audit_actions(settings)


async def test_jobs_and_scenarios(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    jobs = await reply_to(driver, slack, "alice", "/dss", "jobs FINANCE", expect="Running jobs")
    assert "close_ledger" in texts(jobs.blocks) and "import_invoices" not in texts(jobs.blocks)
    scenarios = await reply_to(driver, slack, "alice", "/dss", "scenarios CHURN",
                               expect="Scenarios of CHURN")
    body = texts(scenarios.blocks)
    assert "*Retrain churn model* (`RETRAIN_MODEL`)" in body and "FAILED" in body
    missing = await reply_to(driver, slack, "alice", "/dss", "scenarios", expect="project key")
    assert "/dss scenarios SALES" in missing.text


async def test_notebooks_unload_with_confirm(driver, slack, dss, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(driver, slack, "alice", "/dss", "notebooks SALES",
                           expect="Live notebooks")
    assert "explore_orders" in texts(reply.blocks)
    assert await driver.click("alice", reply, text="Unload", confirm=False) is None
    assert not dss.requests_to("DELETE", "/sessions/")
    await driver.click("alice", reply, text="Unload")
    await driver.wait_for(lambda: "Unloaded *explore_orders*" in texts(
        slack.ephemerals("alice")[-1].blocks))
    assert len(dss.requests_to("DELETE", "/jupyter-notebooks/explore_orders/sessions/")) == 1
    assert ("dss.unload", "SALES/explore_orders") in audit_actions(settings)


async def test_keys_never_show_secrets_and_delete_with_confirm(driver, slack, dss, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(driver, slack, "alice", "/dss", "keys", expect="Global API keys")
    body = texts(reply.blocks)
    assert [k.id for k in dss.api_keys.values() if k.kind == "global" and k.id in body]
    assert not [k for k in dss.api_keys.values() if k.secret in body]
    mine = await reply_to(driver, slack, "alice", "/dss", "mykeys", expect="personal API keys")
    # Delete alice's other key (not the one she linked: that would lock her out).
    spare = next(k for k in dss.api_keys.values()
                 if k.kind == "personal" and k.user == "alice" and k.secret != ALICE_KEY)
    button = next(e for blk in mine.blocks for e in [blk.get("accessory") or {}]
                  if f'"id":"{spare.id}"' in e.get("value", ""))
    await driver.click("alice", mine, value=button["value"])
    await driver.wait_for(lambda: "Deleted key" in texts(slack.ephemerals("alice")[-1].blocks))
    deleted = dss.requests_to("DELETE", "/personal-api-keys/")
    assert [r.path.rsplit("/", 1)[-1] for r in deleted] == [spare.id]
    assert dss.key_by_id(spare.id) is None
    assert ("dss.key.delete", f"personal:{spare.id}") in audit_actions(settings)


async def test_admin_commands_for_an_admin_key(driver, slack, dss, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    usage = await reply_to(driver, slack, "alice", "/dss", "usage", expect="Usage of")
    assert "*Projects*" in texts(usage.blocks)
    rules = await reply_to(driver, slack, "alice", "/dss", "impersonation",
                           expect="Impersonation rules")
    assert "IDENTITY" in texts(rules.blocks)
    changed = await reply_to(driver, slack, "alice", "/dss", "vars set env=prod retries=3",
                             expect="instance variable")
    assert "Set `env`, `retries`." in texts(changed.blocks)
    listed = await reply_to(driver, slack, "alice", "/dss", "vars", expect="instance variable")
    assert "`env` = `prod`" in texts(listed.blocks)
    assert ("dss.vars.set", "env,retries") in audit_actions(settings)


@pytest.mark.parametrize("command", ["usage", "impersonation", "vars", "futures all"])
async def test_admin_commands_explain_themselves_to_a_non_admin(driver, slack, dss, bot, command):
    await link(driver, slack, "bob", "dss", {"api_key": BOB_KEY})
    reply = await reply_to(driver, slack, "bob", "/dss", command, expect="admin")
    assert "needs a DSS *admin* key" in reply.text and "(bob)" in reply.text
