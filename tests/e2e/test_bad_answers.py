"""A platform answer of the wrong shape in a button click, a digest and the link modal: the
same one clear message naming the instance as in commands (tests/faults/test_hostile_answers.py
has each shape on every platform). (issue 11, "Hostile or broken platforms")"""

from __future__ import annotations

from emulators.dss import DEMO
from tests.e2e.helpers import dms, link, reply_to, seen_by

ALICE_KEY = DEMO["alice"]["api_key"]
SAID = "Dataiku DSS (prod) answered something Switchboard does not understand ("
NEXT = "try again later or tell your operator."


async def test_a_button_whose_call_is_redirected_elsewhere_tells_the_clicker(
    driver, slack, dss, bot
):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    reply = await reply_to(driver, slack, "alice", "/dss", "futures", expect="Running tasks")
    dss.faults.set(answer="redirect-away")
    await driver.click("alice", reply, text="Abort")
    await driver.wait_for(lambda: SAID in seen_by(slack, "alice"))
    told = seen_by(slack, "alice")
    assert (
        f"{SAID}it redirected DELETE /futures/" in told
        and f"to another server, which Switchboard does not follow); {NEXT}" in told
    )
    assert not any(f.aborted_at for f in dss.futures.values())


async def test_a_digest_section_with_a_bad_answer_says_so_and_the_digest_goes_out(
    driver, slack, dss, bot
):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Digest added"
    )
    dss.faults.set(answer="list")
    await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")
    body = dms(slack, "alice")
    assert f"{SAID}no Future where one was expected); {NEXT}" in body, body
    assert "surprise" not in body


async def test_the_link_modal_names_the_instance_not_the_credential(driver, slack, dss, bot):
    dss.faults.set(answer="html")
    outcome = await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    assert f"{SAID}text/html instead of JSON for GET /public/api/auth/info); {NEXT}" in outcome, (
        outcome
    )
    assert "refused this credential" not in outcome
    dss.faults.clear()
    assert "Linked" in await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
