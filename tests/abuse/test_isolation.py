"""Isolation: a user can never act with another user's credentials, whether through commands,
buttons another user was shown, forged button values or a forged link modal."""

from __future__ import annotations

import base64
import json
import sqlite3

from bot.blocks import ops as ops_blocks
from emulators import astakos, dss, limits
from emulators import slack_payloads as payloads
from tests.abuse.conftest import link_all
from tests.abuse.test_requests import block_actions, payload_form, post
from tests.e2e.helpers import link, reply_to, seen_by

ALICE_DSS, BOB_DSS = dss.DEMO["alice"]["api_key"], dss.DEMO["bob"]["api_key"]


def basic_user(request) -> str:
    auth = request.headers.get("authorization", "")
    return base64.b64decode(auth.split()[1]).decode() if auth.lower().startswith("basic") else ""


def links_table(settings) -> list[tuple]:
    return (
        sqlite3.connect(settings.db_path)
        .execute(
            "select user_id, platform, instance, account from links order by user_id, platform"
        )
        .fetchall()
    )


async def test_bob_clicking_alices_buttons_acts_as_bob(driver, slack, bot, world):
    await link_all(driver, slack)
    dss_emu, lim, ast = (world.emulators[k] for k in ("dss", "limits", "astakos"))
    futures = await reply_to(driver, slack, "alice", "/dss", "futures all", expect="all users")
    pending = await reply_to(
        driver, slack, "alice", "/limits", "pending", expect="waiting for approval"
    )
    commissions = await reply_to(
        driver, slack, "alice", "/astakos", "commissions", expect="pending commission"
    )
    for emulator in world.emulators.values():
        emulator.requests.clear()

    await driver.click("bob", futures, text="Abort")
    delete = await driver.wait_for(lambda: dss_emu.requests_to("DELETE", "/futures/"))
    assert basic_user(delete[0]).startswith(BOB_DSS)

    await driver.click("bob", pending, action_id="limits_approve")
    await driver.wait_for(lambda: lim.requests)
    await reply_to(driver, slack, "carol", "/ops", "help", expect="Switchboard commands")
    users = {basic_user(r).split(":")[0] for r in lim.requests}
    assert users == {limits.DEMO["bob"]["username"]}, users

    # Bob holds a user token: the commission button needs a service token, so he is refused
    # (before or by the platform), and alice's service token is never used for his click.
    seen = len(seen_by(slack, "bob"))
    await driver.click("bob", commissions, action_id="astakos_act")
    await driver.wait_for(lambda: len(seen_by(slack, "bob")) > seen)
    await reply_to(driver, slack, "carol", "/ops", "help", expect="Switchboard commands")
    tokens = {r.headers.get("x-auth-token") for r in ast.requests}
    assert tokens <= {astakos.DEMO["bob"]["token"]}, tokens


async def test_a_user_without_a_link_is_told_to_link_even_on_someone_elses_button(
    driver, slack, bot, world
):
    await link_all(driver, slack, users=("alice",))
    squonk = world.emulators["squonk"]
    reply = await reply_to(driver, slack, "alice", "/squonk", "instances", expect="nstance")
    squonk.requests.clear()
    world.emulators["keycloak"].requests.clear()
    stops = [
        e
        for blk in reply.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == "squonk_instance_stop"
    ]
    if stops:
        await driver.click("bob", reply, action_id="squonk_instance_stop")
    else:  # a forged Stop value, as bob could send it
        await post(
            bot,
            payload_form(
                block_actions(
                    slack, "squonk_instance_stop", '{"instance":"im","id":"instance-1"}', user="bob"
                )
            ),
        )
    await driver.wait_for(lambda: "/ops link squonk" in seen_by(slack, "bob"))
    assert squonk.requests == [] and world.emulators["keycloak"].requests == []


async def test_commands_never_borrow_another_users_link(driver, slack, bot, world):
    await link_all(driver, slack, users=("alice",))
    for emulator in world.emulators.values():
        emulator.requests.clear()
    for command, key in (
        ("/dss", "dss"),
        ("/mstr", "mstr"),
        ("/squonk", "squonk"),
        ("/astakos", "astakos"),
        ("/limits", "limits"),
    ):
        whoami = "status" if key == "limits" else "whoami"
        if key == "squonk":
            whoami = "projects"
        reply = await reply_to(driver, slack, "bob", command, whoami, expect=f"/ops link {key}")
        assert "alice" not in reply.text
        # With an @instance naming alice's instance, too.
        instance = world.platforms[key][0]["name"]
        await reply_to(
            driver, slack, "bob", command, f"{whoami} @{instance}", expect=f"/ops link {key}"
        )
    assert all(e.requests == [] for e in world.emulators.values())


async def test_forged_button_values_naming_another_users_subscription_are_refused(
    driver, slack, bot, world, settings
):
    await link_all(driver, slack, users=("alice",))
    await reply_to(driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="#")
    rows = (
        sqlite3.connect(settings.db_path).execute("select id, owner from subscriptions").fetchall()
    )
    assert rows and rows[0][1] == "U0ALICE", rows
    sub_id = rows[0][0]
    for action in ("sub_pause", "sub_remove", "sub_run_now", "sub_resume"):
        await post(
            bot, payload_form(block_actions(slack, action, json.dumps({"id": sub_id}), user="bob"))
        )
    await reply_to(driver, slack, "carol", "/ops", "help", expect="Switchboard commands")
    after = (
        sqlite3.connect(settings.db_path)
        .execute("select id, owner, paused from subscriptions")
        .fetchall()
    )
    assert after == [(sub_id, "U0ALICE", 0)], after
    assert "Something went wrong" not in seen_by(slack, "bob")


async def test_a_forged_link_modal_stores_the_link_for_the_submitter_only(
    driver, slack, bot, world, settings
):
    # Bob opens the DSS link modal, then his client sends private_metadata naming another
    # platform/instance and (extra fields) alice.
    opened = len(slack.views_opened("bob"))
    await driver.command("bob", "/ops", "link dss")
    view = await driver.wait_for(
        lambda: slack.views_opened("bob")[opened:] and slack.views_opened("bob")[-1]
    )
    forged_meta = json.dumps(
        {
            "platform": "dss",
            "instance": "design",
            "user_id": "U0ALICE",
            "user": "U0ALICE",
            "from_home": False,
        }
    )
    slack.set_view_state(
        view.id,
        {
            "field_api_key": {
                ops_blocks.FIELD_ACTION: {"type": "plain_text_input", "value": BOB_DSS}
            }
        },
    )
    body = payloads.view_submission(
        user=slack.user("bob"), view=slack.view(view.id), trigger_id=slack.new_trigger_id("bob")
    )
    body["view"]["private_metadata"] = forged_meta
    answer = await post(bot, payload_form(body))
    assert answer.status_code == 200
    await driver.wait_for(lambda: links_table(settings))
    assert links_table(settings) == [("U0BOB", "dss", "design", "bob")]

    # private_metadata naming a platform or instance that is not configured links nothing.
    for meta in (
        {"platform": "nope"},
        {"platform": "dss", "instance": "elsewhere"},
        {"platform": "dss", "instance": "design", "response_url": "http://x"},
        "not json",
    ):
        body["view"]["private_metadata"] = meta if isinstance(meta, str) else json.dumps(meta)
        answer = await post(bot, payload_form(body))
        assert answer.status_code < 500
    await reply_to(driver, slack, "carol", "/ops", "help", expect="Switchboard commands")
    assert [r[0] for r in links_table(settings)] == ["U0BOB"]


async def test_alice_linking_does_not_change_bobs_link(driver, slack, bot, settings, world):
    await link(driver, slack, "bob", "dss", {"api_key": BOB_DSS})
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_DSS})
    assert links_table(settings) == [
        ("U0ALICE", "dss", "design", "alice"),
        ("U0BOB", "dss", "design", "bob"),
    ]
    reply = await reply_to(driver, slack, "bob", "/dss", "whoami", expect="Login")
    assert "bob" in reply.text + str(reply.blocks)
