"""The hub (/ops), App Home, request verification, secrets at rest, health and metrics."""

from __future__ import annotations

import httpx

from emulators.dss import DEMO
from tests.e2e.helpers import link, reply_to, texts
from tests.engines import on_both_engines, rows

ALICE_KEY = DEMO["alice"]["api_key"]


@on_both_engines
async def test_bad_or_stale_signature_is_rejected_and_runs_no_handler(driver, slack, bot):
    before = slack.last_seq
    forged = await driver.command("alice", "/ops", "links", bad_signature=True)
    stale = await driver.command("alice", "/ops", "links", timestamp_offset=-301)
    assert forged.status == 401 and stale.status == 401
    # Nothing reached the person and no Web API call was made.
    assert slack.events_since(before) == []
    assert [c for c in slack.calls() if c.method != "auth.test"] == []
    ok = await driver.command("alice", "/ops", "links")
    assert ok.status == 200


async def test_no_secret_in_the_raw_database_files(driver, slack, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    await reply_to(driver, slack, "alice", "/dss", "whoami", expect="Login")
    raw = b"".join(
        p.read_bytes() for p in settings.db_path.parent.glob(settings.db_path.name + "*")
    )
    assert b"alice" in raw  # the account name is there: we are reading the right files
    assert ALICE_KEY.encode() not in raw
    assert ALICE_KEY not in "".join(c.method + str(c.args) for c in slack.calls())


@on_both_engines
async def test_links_unlink_and_the_audit_trail(driver, slack, bot, settings):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")
    assert "*Dataiku DSS* (prod)  as *alice* · API key" in texts(reply.blocks)
    await reply_to(driver, slack, "alice", "/ops", "unlink dss", expect="Unlinked Dataiku DSS")
    await reply_to(driver, slack, "alice", "/ops", "links", expect="no linked accounts")
    audit = await reply_to(driver, slack, "alice", "/ops", "audit 5", expect="changes")
    body = texts(audit.blocks)
    assert "*unlink* dss prod alice" in body and "*link* dss prod alice" in body
    assert rows(settings, "select action from audit order by id") == [("link",), ("unlink",)]


async def test_audit_is_for_operators_only(driver, slack, bot):
    reply = await reply_to(driver, slack, "bob", "/ops", "audit", expect="operators")
    assert "Only operators" in reply.text


async def test_status_reports_each_instance(driver, slack, dss, bot):
    reply = await reply_to(driver, slack, "alice", "/ops", "status", expect="Platform status")
    assert "Dataiku DSS* (prod)" in texts(reply.blocks)
    assert "version 15.2.0" in texts(reply.blocks)
    assert "0 scheduled digest/alert jobs" in texts(reply.blocks)
    dss.faults.set(hang=True)
    try:
        down = await reply_to(driver, slack, "alice", "/ops", "status", expect="unreachable")
    finally:
        dss.faults.clear()
    assert "0 of 1 platform instances reachable" == down.text


async def test_help_lists_every_configured_family(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/ops", "help", expect="Switchboard")
    body = texts(reply.blocks)
    for command in ("/ops link <platform> [instance]", "/dss futures [all]"):
        assert command in body
    for unconfigured in ("/mstr", "/squonk", "/astakos", "/limits"):
        assert unconfigured not in body
    one = await reply_to(driver, slack, "alice", "/ops", "help dss", expect="Dataiku DSS")
    assert "/dss notebooks <project>" in texts(one.blocks)


async def test_link_an_unknown_platform_says_which_exist(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/ops", "link jira", expect="not a platform")
    assert "`dss`" in reply.text


@on_both_engines
async def test_app_home_links_and_unlinks(driver, slack, bot, settings):
    await driver.home_opened("alice")
    home = await driver.wait_for(lambda: slack.home("U0ALICE"))
    assert "Not linked." in texts(home.blocks)
    opened = len(slack.views_opened("alice"))
    await driver.click("alice", home, text="Link")
    modal = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    await driver.submit("alice", modal, {"field_api_key": ALICE_KEY})
    relinked = await driver.wait_for(
        lambda: "Linked as *alice*" in texts(slack.home("U0ALICE").blocks) and slack.home("U0ALICE")
    )
    await driver.click("alice", relinked, text="Unlink")
    await driver.wait_for(lambda: "Not linked." in texts(slack.home("U0ALICE").blocks))
    actions = [r[0] for r in rows(settings, "select action from audit order by id")]
    assert actions == ["link", "unlink"]


@on_both_engines
async def test_a_retried_event_is_handled_once(driver, slack, bot):
    first = await driver.home_opened("alice", event_id="Ev0HOME1")
    await driver.wait_for(lambda: slack.calls("views.publish"))
    again = await driver.redeliver(first, retry_num=1, retry_reason="http_timeout")
    assert again.status == 200
    await driver.home_opened("bob", event_id="Ev0HOME2")
    await driver.wait_for(lambda: len(slack.calls("views.publish")) == 2)
    published_for = [c.args["user_id"] for c in slack.calls("views.publish")]
    assert published_for == ["U0ALICE", "U0BOB"]


async def test_healthz_and_metrics(driver, bot):
    await driver.command("alice", "/ops", "links")
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{bot.url}/healthz")
        metrics = await http.get(f"{bot.url}/metrics")
    assert health.json() == {"ok": True}
    assert 'switchboard_slack_requests_total{status="200"}' in metrics.text
