"""/limits status, breaches (paged past Slack's 50 blocks), limit, and linking, through signed
Slack requests against the Limits emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.limits import BUSY_DATE, DEMO, LATEST_DATE, LimitsEmulator
from tests.e2e.helpers import link, reply_to, texts

ALICE = {"username": "alice", "password": DEMO["alice"]["password"]}


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:  # no reset(): a fresh seed per test (~0.2 s)
        yield emulator


@pytest.fixture
def ui_url() -> str | None:
    return None  # a test sets one with parametrize


@pytest.fixture
def platforms(limits: LimitsEmulator, ui_url: str | None) -> dict[str, list[dict[str, Any]]]:
    instance = {"name": "prod", "url": limits.url}
    if ui_url:
        instance["ui_url"] = ui_url
    return {"limits": [instance]}


async def test_link_is_verified_and_a_wrong_password_is_a_field_error(driver, slack, bot):
    wrong = await link(
        driver, slack, "alice", "limits", {"username": "alice", "password": "not-the-password"}
    )
    assert "refused this credential" in wrong
    assert "not-the-password" not in wrong
    outcome = await link(driver, slack, "alice", "limits", ALICE)
    assert "Linked Atoti Limits (prod) as *alice*" in outcome


async def test_status_shows_the_server_and_connected_atoti_servers(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(driver, slack, "alice", "/limits", "status", expect="Up since")
    body = texts(reply.blocks)
    assert "*atoti* · connected" in body
    assert "*risk-eu* · connected" in body
    assert "Cars_Cube" in body
    assert f"as-of date *{LATEST_DATE}*" in body
    assert "2 connected Atoti server(s)" in body


async def test_breaches_on_a_busy_day_fit_and_say_how_to_see_the_rest(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(
        driver, slack, "alice", "/limits", f"breaches {BUSY_DATE}", expect="Breaches and warnings"
    )
    assert len(reply.blocks) <= 50
    body = texts(reply.blocks)
    assert f"100 more not shown: `/limits breaches {BUSY_DATE} page 2`" in body
    assert "page 1 of 6" in body
    assert body.count("limit `L-") == 20
    # Each incident names the limit, the measure, its value and the threshold.
    assert "Breach" in body and "against a limit of 50,000,000" in body
    assert "`Notional.SUM` = " in body

    last = await reply_to(
        driver, slack, "alice", "/limits", f"breaches {BUSY_DATE} page 6", expect="page 6 of 6"
    )
    assert "more not shown" not in texts(last.blocks)
    assert texts(last.blocks).count("limit `L-") == 20


async def test_breaches_default_to_the_latest_date(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(
        driver, slack, "alice", "/limits", "breaches", expect=f"as of {LATEST_DATE}"
    )
    body = texts(reply.blocks)
    assert body.count("limit `L-") == 14
    assert "more not shown" not in body
    assert f"other dates: 2026-01-28, {BUSY_DATE}" in body


@pytest.mark.parametrize(
    "args", ["breaches 2026-02-30", "breaches yesterday", "breaches 2026-01-29 page 0"]
)
async def test_bad_breaches_input_shows_the_accepted_form(driver, slack, limits, bot, args):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(
        driver, slack, "alice", "/limits", args, expect="/limits breaches [YYYY-MM-DD] [page N]"
    )
    assert "Something went wrong" not in reply.text


async def test_a_page_past_the_end_says_how_many_there_are(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(
        driver, slack, "alice", "/limits", f"breaches {BUSY_DATE} page 9", expect="6 page(s)"
    )
    assert "120 incident(s)" in reply.text


async def test_a_date_without_incidents(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(
        driver,
        slack,
        "alice",
        "/limits",
        "breaches 2025-12-31",
        expect="No breach or warning on 2025-12-31",
    )
    assert "other dates: 2026-01-28" in texts(reply.blocks)


async def test_limit_shows_its_structure_and_latest_evaluation(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(driver, slack, "alice", "/limits", "limit L-11", expect="Limit L-11")
    body = texts(reply.blocks)
    assert "Book = B-001" in body
    assert "*Structure* Book notional · risk-eu / Risk" in body
    assert "Latest evaluation* (2026-01-30)" in body

    pending = await reply_to(driver, slack, "alice", "/limits", "limit L-4", expect="Limit L-4")
    assert "`/limits pending` has the Approve / Reject buttons" in texts(pending.blocks)


async def test_unknown_limit_and_missing_id(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(driver, slack, "alice", "/limits", "limit L-999", expect="has no limit")
    assert reply.text.startswith("Atoti Limits (prod) has no limit `L-999`. Did you mean")
    await reply_to(driver, slack, "alice", "/limits", "limit", expect="`/limits limit L-17`")


async def test_unlinked_user_is_told_how_to_link(driver, slack, bot):
    reply = await reply_to(driver, slack, "carol", "/limits", "pending", expect="/ops link limits")
    assert "no linked Atoti Limits account" in reply.text


async def test_pending_for_someone_who_may_not_approve_has_no_buttons(driver, slack, limits, bot):
    await link(
        driver, slack, "bob", "limits", {"username": "bob", "password": DEMO["bob"]["password"]}
    )
    reply = await reply_to(
        driver, slack, "bob", "/limits", "pending", expect="waiting for approval"
    )
    body = texts(reply.blocks)
    assert "L-4" in body and "L-16" in body
    assert "offers you no action" in body
    assert not [b for b in reply.blocks if b.get("type") == "actions"]


async def test_share_where_the_bot_is_not_a_member(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(
        driver,
        slack,
        "alice",
        "/limits",
        "pending share",
        expect="I can't post in this channel",
        channel="C0DATA",
    )
    assert "/invite" in reply.text


async def test_limits_down_names_the_instance(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    limits.faults.set(status=503)
    try:
        reply = await reply_to(driver, slack, "alice", "/limits", "status", expect="unavailable")
    finally:
        limits.faults.clear()
    assert "Atoti Limits (prod) is unavailable" in reply.text


async def test_limit_shows_who_did_what_in_its_workflow(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    approved = await reply_to(
        driver, slack, "alice", "/limits", "limit L-11", expect="Workflow history"
    )
    body = texts(approved.blocks)
    history = body[body.index("*Workflow history*") :]
    assert history.index("*user1*") < history.index("*manager1* · firstApproval → Approve")
    assert "<!date^" in history  # times in each reader's own zone
    pending = await reply_to(
        driver, slack, "alice", "/limits", "limit L-4", expect="Workflow history"
    )
    assert "*bob*" in texts(pending.blocks)
    assert "Comment: _new limit requested by bob_" in texts(pending.blocks)


async def test_a_limit_is_shown_when_its_incidents_cannot_be_listed(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    limits.faults.set(status=500, path_prefix="/limits/rest/v2/incidents")
    reply = await reply_to(driver, slack, "alice", "/limits", "limit L-11", expect="Limit L-11")
    body = texts(reply.blocks)
    assert "Book = B-001" in body and "latest evaluation is unknown" in body


async def test_status_alert_tells_a_restart_and_a_dropped_atoti_server(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    await reply_to(driver, slack, "alice", "/ops", "alert add limits.status", expect="Alert added")
    first = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")
    assert "0 new item(s)" in first.text  # the first poll sets the baseline
    limits.restart()
    del limits.servers["risk-eu"]
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="2 new item(s)")
    told = texts([blk for m in slack.messages("D0ALICE") for blk in m.blocks])
    assert "Atoti Limits (prod) restarted at <!date^" in told
    assert "Atoti server *risk-eu* dropped off the connected list" in told


def link_urls(blocks: list[dict]) -> list[str]:
    return [
        e["url"]
        for blk in blocks
        for e in [blk.get("accessory") or {}, *(blk.get("elements") or [])]
        if e.get("url")
    ]


async def test_no_open_in_button_without_a_ui_url(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(driver, slack, "alice", "/limits", "limit L-11", expect="Limit L-11")
    assert link_urls(reply.blocks) == []  # the Limits screens live in an Atoti UI elsewhere
    waiting = await reply_to(
        driver, slack, "alice", "/limits", "pending", expect="waiting for approval"
    )
    assert "Approve" in texts(waiting.blocks) and link_urls(waiting.blocks) == []


@pytest.mark.parametrize("ui_url", ["https://atoti.example.com/"])
async def test_open_in_atoti_limits_buttons_follow_the_ui_routes(driver, slack, limits, bot):
    await link(driver, slack, "alice", "limits", ALICE)
    reply = await reply_to(driver, slack, "alice", "/limits", "limit L-11", expect="Limit L-11")
    structure = limits.limits["L-11"].structure_id
    assert link_urls(reply.blocks) == [
        f"https://atoti.example.com/limits/structure/{structure}?limitIds=L-11"
    ]
    found = await reply_to(
        driver, slack, "alice", "/limits", "breaches", expect="Breaches and warnings"
    )
    urls = link_urls(found.blocks)
    first = texts(found.blocks).split("`INC-", 1)[1].split("`", 1)[0]
    assert urls[0] == f"https://atoti.example.com/limits/status?incidentIds=INC-{first}"
    assert len(urls) == texts(found.blocks).count("`INC-")
    # Each pending card opens its limit in its structure's page, from the card's own first
    # block (tagged as the approval's, so a click still swaps the whole card in place).
    waiting = await reply_to(
        driver, slack, "alice", "/limits", "pending", expect="waiting for approval"
    )
    prefix = "appr|limits:prod:limit:L-4:"
    [first_block] = [
        blk for blk in waiting.blocks if str(blk.get("block_id", "")).startswith(prefix)
    ][:1]
    corolla = limits.limits["L-4"].structure_id
    assert first_block["accessory"]["text"]["text"] == "Open in Atoti Limits"
    assert first_block["accessory"]["url"] == (
        f"https://atoti.example.com/limits/structure/{corolla}?limitIds=L-4"
    )
