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
def dss(clock_from_now: FakeClock) -> Iterator[DSSEmulator]:
    with DSSEmulator(clock=clock_from_now) as emulator:
        yield emulator


def showing(slack, user: str, needle: str):
    """The newest ephemeral message whose blocks contain `needle`, or None."""
    return next((m for m in reversed(slack.ephemerals(user)) if needle in texts(m.blocks)), None)


def audit_actions(settings) -> list[tuple[str, str]]:
    return (
        sqlite3.connect(settings.db_path)
        .execute("select action, target from audit order by id")
        .fetchall()
    )


async def test_future_watch_tells_the_person_when_it_ends(driver, slack, dss, clock_from_now, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(
        driver, slack, "alice", "/dss", "future Fm7pQ2rL watch", expect="Compute metrics"
    )
    assert "I'll send you a message when it ends." in texts(reply.blocks)
    assert "Loading partitions" in texts(reply.blocks)
    clock_from_now.advance(20 * 60)  # the future runs 15 minutes
    await driver.wait_for(lambda: "ended: done" in dms(slack, "alice"))
    assert "Compute metrics on SALES.orders" in dms(slack, "alice")


async def test_run_a_scenario_then_its_outcome_arrives_by_dm(
    driver, slack, dss, clock_from_now, bot, settings
):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(
        driver, slack, "alice", "/dss", "run CHURN RETRAIN_MODEL", expect="Started scenario"
    )
    assert "*CHURN.RETRAIN_MODEL*" in reply.text
    clock_from_now.advance(120)  # 2 s until the run shows, 45 s of run
    await driver.wait_for(lambda: "ended: *failed*" in dms(slack, "alice"))
    assert ("dss.run", "CHURN.RETRAIN_MODEL") in audit_actions(settings)


async def test_jobs_and_scenarios(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    jobs = await reply_to(driver, slack, "alice", "/dss", "jobs FINANCE", expect="Running jobs")
    assert "close_ledger" in texts(jobs.blocks) and "import_invoices" not in texts(jobs.blocks)
    scenarios = await reply_to(
        driver, slack, "alice", "/dss", "scenarios CHURN", expect="Scenarios of CHURN"
    )
    body = texts(scenarios.blocks)
    assert "*Retrain churn model* (`RETRAIN_MODEL`)" in body and "failed ·" in body
    missing = await reply_to(driver, slack, "alice", "/dss", "scenarios", expect="project key")
    assert "/dss scenarios SALES" in missing.text


async def test_notebooks_unload_with_confirm(driver, slack, dss, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(
        driver, slack, "alice", "/dss", "notebooks SALES", expect="Live notebooks"
    )
    assert "explore_orders" in texts(reply.blocks)
    assert await driver.click("alice", reply, text="Unload", confirm=False) is None
    assert not dss.requests_to("DELETE", "/sessions/")
    await driver.click("alice", reply, text="Unload")
    # Any ephemeral: the "Linked" note may be posted after the command's reply.
    await driver.wait_for(lambda: showing(slack, "alice", "Unloaded *explore_orders*"))
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
    spare = next(
        k
        for k in dss.api_keys.values()
        if k.kind == "personal" and k.user == "alice" and k.secret != ALICE_KEY
    )
    button = next(
        e
        for blk in mine.blocks
        for e in [blk.get("accessory") or {}]
        if f'"id":"{spare.id}"' in e.get("value", "")
    )
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
    rules = await reply_to(
        driver, slack, "alice", "/dss", "impersonation", expect="Impersonation rules"
    )
    assert "IDENTITY" in texts(rules.blocks)
    changed = await reply_to(
        driver, slack, "alice", "/dss", "vars set env=prod retries=3", expect="instance variable"
    )
    assert "Set `env`, `retries`." in texts(changed.blocks)
    listed = await reply_to(driver, slack, "alice", "/dss", "vars", expect="instance variable")
    assert "`env` = `prod`" in texts(listed.blocks)
    assert ("dss.vars.set", "env,retries") in audit_actions(settings)


@pytest.mark.parametrize("command", ["usage", "impersonation", "vars", "futures all"])
async def test_admin_commands_explain_themselves_to_a_non_admin(driver, slack, dss, bot, command):
    await link(driver, slack, "bob", "dss", {"api_key": BOB_KEY})
    reply = await reply_to(driver, slack, "bob", "/dss", command, expect="admin")
    assert "needs a DSS *admin* key" in reply.text and "(bob)" in reply.text


async def test_a_stopped_future_says_why_it_failed_or_what_it_returned(driver, slack, dss, bot):
    await link(driver, slack, "bob", "dss", {"api_key": BOB_KEY})
    failed = await reply_to(
        driver, slack, "bob", "/dss", "future Fa1LdSyn", expect="DSS task Fa1LdSyn: failed"
    )
    assert "Failed: Connection 'snowflake_prod' refused: authentication failed" in texts(
        failed.blocks
    )
    # Read in full only once stopped: a peek, then the full read that carries the reason.
    reads = [r.query.get("peek") for r in dss.requests_to("GET", "/futures/Fa1LdSyn")]
    assert reads[:2] == ["True", "False"]
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    business = await reply_to(
        driver, slack, "alice", "/dss", "future Up2dF4il", expect="DSS task Up2dF4il: failed"
    )
    assert "Failed: Plugin snowflake-connector 3.0.1 needs DSS 14.0 or later" in texts(
        business.blocks
    )
    done = await reply_to(
        driver, slack, "alice", "/dss", "future Dn0nE111", expect="DSS task Dn0nE111: done"
    )
    assert "Result: installedVersion: 1.4.2" in texts(done.blocks)


async def test_the_watch_ended_message_names_the_failure(driver, slack, dss, clock_from_now, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    job = dss.add_future(
        owner="alice",
        display_name="Build SALES.forecast",
        duration=60,
        outcome="failed",
        error="Dataset SALES.orders is not built",
    )
    await reply_to(
        driver,
        slack,
        "alice",
        "/dss",
        f"future {job} watch",
        expect="I'll send you a message when it ends.",
    )
    clock_from_now.advance(120)
    await driver.wait_for(lambda: "ended: failed" in dms(slack, "alice"))
    assert "Failed: Dataset SALES.orders is not built" in dms(slack, "alice")


async def test_every_users_personal_keys_oldest_first_with_delete(
    driver, slack, dss, bot, settings
):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(
        driver, slack, "alice", "/dss", "keys personal", expect="Personal API keys, oldest first"
    )
    body = texts(reply.blocks)
    personal = sorted(
        (k for k in dss.api_keys.values() if k.kind == "personal"), key=lambda k: k.created_on
    )
    positions = [body.index(f"(`{k.id}`)") for k in personal]
    assert positions == sorted(positions)  # oldest first
    assert not [k for k in personal if k.secret in body]
    bobs = await reply_to(
        driver, slack, "alice", "/dss", "keys personal bob", expect="Personal API keys of bob"
    )
    shown = texts(bobs.blocks)
    assert {k.id for k in personal if k.id in shown} == {k.id for k in personal if k.user == "bob"}
    old = next(k for k in personal if k.label == "old laptop")
    button = next(
        e
        for blk in bobs.blocks
        for e in [blk.get("accessory") or {}]
        if f'"id":"{old.id}"' in e.get("value", "")
    )
    assert await driver.click("alice", bobs, value=button["value"], confirm=False) is None
    assert dss.key_by_id(old.id) is not None  # the dialog was dismissed: nothing happened
    await driver.click("alice", bobs, value=button["value"])
    after = texts(
        (await driver.wait_for(lambda: showing(slack, "alice", "Deleted key `old laptop`"))).blocks
    )
    assert "Personal API keys of bob" in after and old.id not in after
    assert dss.key_by_id(old.id) is None
    assert ("dss.key.delete", f"personal:{old.id}") in audit_actions(settings)


async def test_personal_keys_of_everyone_need_an_admin_key(driver, slack, dss, bot):
    await link(driver, slack, "bob", "dss", {"api_key": BOB_KEY})
    reply = await reply_to(driver, slack, "bob", "/dss", "keys personal", expect="admin")
    assert "`/dss keys personal` needs a DSS *admin* key" in reply.text


async def test_live_notebooks_across_projects_idlest_first_with_unload(
    driver, slack, dss, bot, settings
):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    every = await reply_to(
        driver, slack, "alice", "/dss", "notebooks all", expect="Live notebooks on prod"
    )
    body = texts(every.blocks)
    order = [
        "*FINANCE* · *ledger_checks*",
        "*CHURN* · *feature_analysis*",
        "*SALES* · *explore_orders*",
    ]
    assert [body.index(o) for o in order] == sorted(body.index(o) for o in order)
    assert body.count("*CHURN* · *feature_analysis*") == 2  # bob's busy one and alice's
    idle = await reply_to(
        driver, slack, "alice", "/dss", "notebooks all idle&gt;2h", expect="idle 2h 00m or more"
    )
    shown = texts(idle.blocks)
    assert shown.count("*CHURN* · *feature_analysis*") == 1 and "busy" not in shown
    await driver.click("alice", idle, text="Unload")
    after = texts(
        (await driver.wait_for(lambda: showing(slack, "alice", "Unloaded *ledger_checks*"))).blocks
    )
    assert "idle 2h 00m or more" in after and "ledger_checks" not in after.replace(
        "Unloaded *ledger_checks*", ""
    )
    assert ("dss.unload", "FINANCE/ledger_checks") in audit_actions(settings)
    wrong = await reply_to(
        driver, slack, "alice", "/dss", "notebooks all idle", expect="say how long idle"
    )
    assert wrong.text.startswith("I can't read `/dss notebooks all idle`: say how long idle")
    assert "like `idle&gt;2h` (m, h or d)" in wrong.text  # Slack shows &gt; as >
    assert "`/dss notebooks all idle>2h`" in wrong.text  # the examples, from the help


async def test_a_non_admin_sees_the_live_notebooks_of_the_projects_they_read(
    driver, slack, dss, bot
):
    await link(driver, slack, "bob", "dss", {"api_key": BOB_KEY})
    reply = await reply_to(
        driver, slack, "bob", "/dss", "notebooks all", expect="Live notebooks on prod"
    )
    body = texts(reply.blocks)
    assert "*CHURN* · *feature_analysis*" in body and "ledger_checks" not in body
    assert dss.requests_to("GET", "/admin/notebooks")  # asked the admin listing first


async def test_vars_unset_removes_a_variable(driver, slack, dss, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(
        driver, slack, "alice", "/dss", "vars unset smtp_host", expect="Removed `smtp_host`."
    )
    assert "`smtp_host`" not in texts(reply.blocks).replace("Removed `smtp_host`.", "")
    assert "smtp_host" not in dss.variables and dss.variables["env"] == "prod"
    assert ("dss.vars.unset", "smtp_host") in audit_actions(settings)
    missing = await reply_to(
        driver, slack, "alice", "/dss", "vars unset nope", expect="No instance variable"
    )
    assert "`nope`" in missing.text and "/dss vars" in missing.text
    bare = await reply_to(driver, slack, "alice", "/dss", "vars unset", expect="is missing")
    assert bare.text.startswith("I can't read `/dss vars unset`: `&lt;name …&gt;` is missing.")
    assert "`/dss vars [set k=v … | unset <name …>]`" in bare.text
    assert "`/dss vars unset env`" in bare.text


def link_buttons(blocks: list[dict]) -> list[tuple[str, str]]:
    """(text, url) of every link button in some blocks."""
    found = []
    for block in blocks:
        for element in [block.get("accessory") or {}, *(block.get("elements") or [])]:
            if element.get("type") == "button" and element.get("url"):
                found.append((element["text"]["text"], element["url"]))
    return found


async def test_open_in_dss_buttons_lead_to_the_design_node(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    jobs = await reply_to(driver, slack, "alice", "/dss", "jobs FINANCE", expect="Running jobs")
    [(text, url)] = link_buttons(jobs.blocks)
    job = next(
        j["def"]["id"]
        for j in dss.projects["FINANCE"].jobs
        if j["def"]["id"].startswith("close_ledger")
    )
    assert text == "Open in DSS" and url == f"{dss.url}/projects/FINANCE/jobs/{job}/"
    response = await driver.click("alice", jobs, text="Open in DSS")
    assert response.status == 200  # acknowledged: Slack shows no warning
    scenarios = await reply_to(
        driver, slack, "alice", "/dss", "scenarios CHURN", expect="Scenarios of CHURN"
    )
    assert f"{dss.url}/projects/CHURN/scenarios/RETRAIN_MODEL/runs/list/" in [
        u for _, u in link_buttons(scenarios.blocks)
    ]
    notebooks = await reply_to(
        driver, slack, "alice", "/dss", "notebooks SALES", expect="Live notebooks"
    )
    assert link_buttons(notebooks.blocks) == [
        ("Open in DSS", f"{dss.url}/projects/SALES/notebooks/jupyter/explore_orders/")
    ]
    futures = await reply_to(
        driver, slack, "alice", "/dss", "futures", expect="Running tasks on prod"
    )
    # Only the scenario run has a page of its own.
    assert link_buttons(futures.blocks) == [
        ("Open in DSS", f"{dss.url}/projects/SALES/scenarios/NIGHTLY_BUILD/runs/list/")
    ]
