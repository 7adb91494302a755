"""Link → futures → abort → audit, and the DSS commands, through signed Slack requests."""

from __future__ import annotations

import base64
import sqlite3

from emulators.dss import DEMO
from tests.e2e.helpers import link, reply_to, seen_by, texts

ALICE_KEY = DEMO["alice"]["api_key"]
BOB_KEY = DEMO["bob"]["api_key"]


async def test_link_futures_abort_writes_an_audit_row(driver, slack, dss, bot, settings):
    outcome = await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    assert "Linked Dataiku DSS (prod) as *alice*" in outcome

    reply = await reply_to(driver, slack, "alice", "/dss", "futures", expect="Running tasks")
    assert "Abort" in texts(reply.blocks)
    # Abort the first future listed, confirming the dialog.
    abort = await driver.click("alice", reply, text="Abort")
    assert abort.status == 200
    aborted = await driver.wait_for(lambda: dss.requests_to("DELETE", "/futures/"))
    job_id = aborted[0].path.rsplit("/", 1)[-1]
    assert dss.future(job_id).aborted_at is not None
    # The list the person looks at is replaced, saying who aborted what.
    await driver.wait_for(lambda: f"aborted `{job_id}`" in seen_by(slack, "alice"))

    rows = (
        sqlite3.connect(settings.db_path)
        .execute("select user_id, action, platform, target, result from audit order by id")
        .fetchall()
    )
    assert ("U0ALICE", "link", "dss", "alice", "ok") in rows
    assert ("U0ALICE", "dss.abort", "dss", job_id, "ok") in rows


async def test_abort_runs_with_the_clickers_own_key(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    await link(driver, slack, "bob", "dss", {"api_key": BOB_KEY})
    reply = await reply_to(driver, slack, "alice", "/dss", "futures all", expect="all users")
    # Bob clicks a button built for alice (e.g. forwarded): DSS sees bob's key, not alice's.
    dss.requests.clear()
    await driver.click("bob", reply, text="Abort")
    delete = await driver.wait_for(lambda: dss.requests_to("DELETE", "/futures/"))
    auth = delete[0].headers["authorization"]
    assert base64.b64decode(auth.split()[1]).decode().startswith(BOB_KEY)


async def test_wrong_key_shows_a_field_error_in_the_modal_not_a_crash(driver, slack, bot):
    outcome = await link(driver, slack, "alice", "dss", {"api_key": "not-a-real-key"})
    assert "refused this credential" in outcome
    assert "not-a-real-key" not in outcome


async def test_unreachable_instance_is_a_field_error(driver, slack, dss, bot):
    dss.faults.set(hang=True)
    try:
        outcome = await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    finally:
        dss.faults.clear()
    assert "could not be reached" in outcome


async def test_unlinked_user_is_told_how_to_link(driver, slack, bot):
    reply = await reply_to(driver, slack, "carol", "/dss", "futures", expect="/ops link dss")
    assert "no linked Dataiku DSS account" in reply.text


async def test_admin_only_command_with_a_non_admin_key(driver, slack, bot):
    await link(driver, slack, "bob", "dss", {"api_key": BOB_KEY})
    reply = await reply_to(driver, slack, "bob", "/dss", "keys", expect="admin")
    assert "not one" in reply.text


async def test_unknown_subcommand_answers_with_usage(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/dss", "futurs", expect="I don't know")
    body = texts(reply.blocks)
    assert "Did you mean `/dss futures`?" in body
    assert "/dss whoami" in body


async def test_ops_routes_to_the_platform_family(driver, slack, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(driver, slack, "alice", "/ops", "dss whoami", expect="Login")
    assert "alice" in texts(reply.blocks)


async def test_dss_down_names_the_instance(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    dss.faults.set(status=503)
    try:
        reply = await reply_to(driver, slack, "alice", "/dss", "jobs", expect="unavailable")
    finally:
        dss.faults.clear()
    assert "Dataiku DSS (prod) is unavailable" in reply.text


async def test_a_bare_command_shows_its_usage(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/dss", "", expect="can do")
    assert "I don't know" not in reply.text
    assert "/dss futures [all]" in texts(reply.blocks)
