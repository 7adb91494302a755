"""/squonk end to end: link through the modal with a Keycloak password, run, watch, stop, and
what happens when tokens expire or are refused, through signed Slack requests against the
real bot, with the Keycloak and Data Manager emulators sharing one FakeClock."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from bot.blocks import squonk as blocks
from bot.platforms.squonk.models import Instance
from bot.server import BotServer
from emulators.base import FakeClock
from emulators.keycloak import KeycloakEmulator
from emulators.slack import SlackEmulator
from emulators.slack_driver import SlackDriver
from emulators.squonk import DEMO, Project, SquonkEmulator
from tests.e2e.helpers import dms, link, reply_to, seen_by, texts

ALICE = DEMO["alice"]  # the password has &, +, = and non-ASCII letters
BOB = DEMO["bob"]
INSTANCE_ID = re.compile(r"instance-[0-9a-f-]{36}")
RELINK = "/ops link squonk main"


@pytest.fixture
def kc(keycloak_emulator: KeycloakEmulator) -> KeycloakEmulator:
    keycloak_emulator.reset()
    return keycloak_emulator


@pytest.fixture
def platforms(dm: SquonkEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"squonk": [dm.instance_settings("main")]}


@pytest.fixture
def bot(settings: Any, module_clock: FakeClock) -> Iterator[BotServer]:
    # The bot's token cache runs on the same clock as Keycloak and the DM.
    with BotServer(settings, clock=module_clock) as server:
        yield server


async def link_alice(driver: SlackDriver, slack: SlackEmulator) -> None:
    outcome = await link(
        driver,
        slack,
        "alice",
        "squonk",
        {"username": ALICE["username"], "password": ALICE["password"]},
    )
    assert "Linked Squonk2 Data Manager (main) as *alice*" in outcome
    assert ALICE["password"] not in outcome


async def run_job(driver: SlackDriver, slack: SlackEmulator, text: str) -> str:
    reply = await reply_to(driver, slack, "alice", "/squonk", f"run {text}", expect="Started")
    found = INSTANCE_ID.search(reply.text or "")
    assert found, reply.text
    return found.group(0)


def dm_texts(slack: SlackEmulator, user: str) -> list[str]:
    """Each direct message the bot sent the user, as its text."""
    return [m.text or "" for m in slack.messages("D" + slack.user(user).id[1:])]


def stored_secret(settings: Any) -> str:
    """The encrypted secret of alice's link (it changes when a rotated token is saved)."""
    return (
        sqlite3.connect(settings.db_path)
        .execute("select secret from links where user_id = 'U0ALICE' and platform = 'squonk'")
        .fetchone()[0]
    )


def audit_rows(settings: Any) -> list[tuple]:
    return (
        sqlite3.connect(settings.db_path)
        .execute("select user_id, action, platform, target, result from audit order by id")
        .fetchall()
    )


async def test_link_with_special_password_run_watch_and_exit_code_dm(
    driver, slack, dm, kc, module_clock, bot, settings
):
    await link_alice(driver, slack)
    reply = await reply_to(
        driver,
        slack,
        "alice",
        "/squonk",
        'run im-test/nop@1.0.0 in demo name="my nop" x=7',
        expect="Started",
    )
    instance_id = INSTANCE_ID.search(reply.text).group(0)
    assert "task `task-" in reply.text and "*my nop*" in reply.text
    # The specification was built from the arguments, the variable as a number.
    form = dict(parse_qsl(dm.requests_to("POST", "/instance")[0].body.decode()))
    assert json.loads(form["specification"]) == {
        "collection": "im-test",
        "job": "nop",
        "version": "1.0.0",
        "variables": {"x": 7},
    }
    assert form["as_name"] == "my nop"

    # `run` already watches it: asking again does not make a second watch.
    again = await reply_to(
        driver, slack, "alice", "/squonk", f"watch {instance_id}", expect="Watching"
    )
    assert "already watching" in again.text

    module_clock.advance(40)  # 5 s pending + 30 s running
    await driver.wait_for(lambda: "ended" in dms(slack, "alice"))
    text = dms(slack, "alice")
    assert "*my nop*" in text and "completed" in text and "exit code 0" in text
    assert len([t for t in dm_texts(slack, "alice") if "ended" in t]) == 1
    assert ("U0ALICE", "squonk.run", "squonk", "demo:im-test/nop@1.0.0", "ok") in audit_rows(
        settings
    )


async def test_a_failing_job_reports_its_exit_code_and_error(driver, slack, dm, module_clock, bot):
    await link_alice(driver, slack)
    await run_job(driver, slack, "im-test/fail@1.0.0 in demo")
    module_clock.advance(20)
    await driver.wait_for(lambda: "ended" in dms(slack, "alice"))
    text = dms(slack, "alice")
    assert "failed" in text and "exit code 1" in text and "Exited with status 1" in text


async def test_access_token_expiry_during_a_watch_is_refreshed(
    driver, slack, dm, kc, module_clock, bot, settings
):
    await link_alice(driver, slack)
    stored = stored_secret(settings)
    assert kc.issued("refresh_token") == 0
    instance_id = await run_job(driver, slack, "rdkit/rdkit-molprops@1.2.0 in demo")
    # Past the 300 s access-token lifetime, the job (600 s) still running: the watch's next
    # poll refreshes the token instead of failing.
    module_clock.advance(kc.access_lifetime + 10)
    await driver.wait_for(lambda: kc.issued("refresh_token") >= 1)
    polls = len(dm.requests_to("GET", f"/instance/{instance_id}"))
    await driver.wait_for(
        lambda: len(dm.requests_to("GET", f"/instance/{instance_id}")) > polls + 1
    )
    assert "ended" not in dms(slack, "alice")
    module_clock.advance(400)
    await driver.wait_for(lambda: "ended" in dms(slack, "alice"))
    assert "completed" in dms(slack, "alice")
    # Later commands use the rotated refresh token the bot stored; no password again.
    await reply_to(driver, slack, "alice", "/squonk", "projects", expect="project(s)")
    assert kc.issued("password") == 1  # the password was used once, at link time
    assert stored_secret(settings) != stored  # Keycloak rotated the refresh token: saved


async def test_refused_refresh_token_gives_one_relink_dm_and_a_relink_reply(
    driver, slack, dm, kc, module_clock, bot
):
    await link_alice(driver, slack)
    instance_id = await run_job(driver, slack, "rdkit/rdkit-molprops@1.2.0 in demo")
    await driver.wait_for(lambda: dm.requests_to("GET", f"/instance/{instance_id}"))
    assert kc.revoke_user("alice") == 1  # an administrator signs alice out
    module_clock.advance(kc.access_lifetime + 10)
    await driver.wait_for(lambda: "link it again" in dms(slack, "alice"))
    await driver.wait_for(lambda: bot.services.watches.active() == 0)

    reply = await reply_to(driver, slack, "alice", "/squonk", "instances", expect=RELINK)
    assert "refused your credential" in reply.text
    assert len([t for t in dm_texts(slack, "alice") if RELINK in t]) == 1
    assert "I stopped watching Squonk2 instance" in dms(slack, "alice")
    # The refused token is remembered: the command did not ask Keycloak again.
    refreshes = [
        r
        for r in kc.requests_to("POST", "/token")
        if b"refresh_token" in r.body and b"grant_type=refresh_token" in r.body
    ]
    assert len(refreshes) == 1


async def test_stop_with_confirm_sends_one_delete_and_updates_the_list(
    driver, slack, dm, bot, settings
):
    await link_alice(driver, slack)
    nightly = next(i for i in dm.instances.values() if i.name == "nightly-props")
    reply = await reply_to(
        driver, slack, "alice", "/squonk", "instances demo", expect="nightly-props"
    )
    body = texts(reply.blocks)
    assert "running" in body and "completed" in body and "run time" in body
    stop = [
        e
        for block in reply.blocks
        if block["type"] == "actions"
        for e in block["elements"]
        if e["text"]["text"] == "Stop"
    ]
    assert len(stop) == 1 and stop[0]["confirm"]["confirm"]["text"] == "Stop"

    assert await driver.click("alice", reply, text="Stop", confirm=False) is None
    assert dm.requests_to("DELETE", "/instance/") == []
    await driver.click("alice", reply, text="Stop")
    await driver.wait_for(lambda: "stopped *nightly-props*" in seen_by(slack, "alice"))
    deletes = dm.requests_to("DELETE", "/instance/")
    assert [r.path.rsplit("/", 1)[-1] for r in deletes] == [nightly.id]
    assert ("U0ALICE", "squonk.stop", "squonk", nightly.id, "ok") in audit_rows(settings)


async def test_instance_card_shows_events_and_its_watch_button_reports_the_end(
    driver, slack, dm, module_clock, bot
):
    await link_alice(driver, slack)
    card = await reply_to(
        driver, slack, "alice", "/squonk", "instance nightly-props", expect="Recent events"
    )
    body = texts(card.blocks)
    assert "Job started" in body and "Pulling image" in body and "running" in body
    await driver.click("alice", card, text="Watch")
    await driver.wait_for(lambda: "I'll send you a message" in seen_by(slack, "alice"))
    module_clock.advance(600)
    await driver.wait_for(lambda: "ended" in dms(slack, "alice"))
    assert "nightly-props" in dms(slack, "alice") and "exit code 0" in dms(slack, "alice")

    done = await reply_to(
        driver, slack, "alice", "/squonk", "instance events-check", expect="Recent events"
    )
    assert "Job finished" in texts(done.blocks) and "exit code 0" in texts(done.blocks)
    # A finished instance has no Stop or Watch: only its page in the UI.
    assert [
        e["text"]["text"]
        for blk in done.blocks
        if blk["type"] == "actions"
        for e in blk["elements"]
    ] == ["Open in Squonk2"]


async def test_unknown_project_and_job_are_named(driver, slack, dm, bot):
    await link_alice(driver, slack)
    reply = await reply_to(
        driver, slack, "alice", "/squonk", "run im-test/nop@1.0.0 in nosuch", expect="no project"
    )
    assert "`nosuch`" in reply.text and "/squonk projects" in reply.text
    reply = await reply_to(
        driver, slack, "alice", "/squonk", "instances nosuch", expect="no project"
    )
    assert "`nosuch`" in reply.text
    reply = await reply_to(
        driver, slack, "alice", "/squonk", "run im-test/nope@1.0.0 in demo", expect="no job"
    )
    assert "`im-test/nope@1.0.0`" in reply.text
    reply = await reply_to(
        driver, slack, "alice", "/squonk", "run im-test/nop@9.9 in demo", expect="no job"
    )
    assert "Versions of it: `1.0.0`" in reply.text
    reply = await reply_to(
        driver,
        slack,
        "alice",
        "/squonk",
        "run im-virtual-screening/shape-align@0.9.0 in demo",
        expect="disabled",
    )
    assert "openeye-licence" in reply.text
    assert dm.requests_to("POST", "/instance") == []


@pytest.mark.parametrize(
    "text", ["run", "run nop in demo", "run im-test/nop@1.0.0 demo", "run im-test/nop@1.0.0 in"]
)
async def test_bad_run_syntax_gets_the_usage(driver, slack, dm, bot, text):
    await link_alice(driver, slack)
    reply = await reply_to(driver, slack, "alice", "/squonk", text, expect="I can't read")
    assert reply.text.startswith(f"I can't read `/squonk {text}`: ")
    assert "`/squonk run <collection/job@version> in <project> [name=… k=v …]`" in reply.text


async def test_projects_tasks_and_jobs(driver, slack, dm, bot):
    await link_alice(driver, slack)
    dm.projects["project-00000000-0000-4000-8000-0000000000ee"] = Project(
        "project-00000000-0000-4000-8000-0000000000ee",
        "<!channel> & co",
        "alice",
        dm.clock(),
        False,
        ["alice"],
        [],
        [],
    )
    reply = await reply_to(driver, slack, "alice", "/squonk", "projects", expect="project(s)")
    body = texts(reply.blocks)
    assert "*demo*" in body and "*bob-sandbox*" in body and "you: observer" in body
    assert "&lt;!channel&gt; &amp; co" in body and "<!channel>" not in body

    reply = await reply_to(driver, slack, "alice", "/squonk", "jobs rdkit", expect="job(s)")
    body = texts(reply.blocks)
    assert "rdkit/rdkit-molprops@1.2.0" in body and "rdkit/max-min-picker@1.0.1" in body
    assert "im-test" not in body

    reply = await reply_to(driver, slack, "alice", "/squonk", "tasks running", expect="task(s)")
    body = texts(reply.blocks)
    assert "· running" in body and "· done" not in body


async def test_stop_on_the_card_runs_with_the_clickers_own_account(
    driver, slack, dm, kc, bot, settings
):
    await link_alice(driver, slack)
    await link(
        driver, slack, "bob", "squonk", {"username": BOB["username"], "password": BOB["password"]}
    )
    instance_id = await run_job(driver, slack, "im-test/event-test@1.0.0 in chem-screening")
    card = await reply_to(
        driver, slack, "alice", "/squonk", f"instance {instance_id}", expect="No task event yet"
    )

    # bob clicks the Stop of alice's card (forwarded, say): the DM sees bob, who may not.
    await driver.click("bob", card, text="Stop")
    await driver.wait_for(lambda: "not allowed" in seen_by(slack, "bob"))
    delete = dm.requests_to("DELETE", "/instance/")
    assert len(delete) == 1
    token = delete[0].headers["authorization"].split()[1]
    assert kc.decode(token)["preferred_username"] == "bob"
    assert dm.phase(instance_id) == "PENDING"
    assert ("U0BOB", "squonk.stop", "squonk", instance_id, "Forbidden") in audit_rows(settings)

    await driver.click("alice", card, text="Stop")
    await driver.wait_for(lambda: "stopped *" in seen_by(slack, "alice"))
    assert dm.phase(instance_id) == "FAILED"
    stopped = slack.ephemerals("alice")[-1]
    assert "failed" in texts(stopped.blocks)
    assert [
        e["text"]["text"]
        for blk in stopped.blocks
        if blk["type"] == "actions"
        for e in blk["elements"]
    ] == ["Open in Squonk2"]  # no Stop or Watch any more
    await driver.wait_for(lambda: "ended" in dms(slack, "alice"))
    assert "exit code 143" in dms(slack, "alice")


def test_a_long_instance_list_stays_within_slacks_50_blocks():
    items = [
        Instance(
            id=f"instance-{n}",
            name=f"run-{n}",
            project_id="p",
            phase="RUNNING",
            launched=f"2025-03-01T10:{n:02d}:00.000Z",
            run_time="0:01:00",
        )
        for n in range(40)
    ]
    out = blocks.instances("main", items, {"p": "demo"})
    assert len(out) <= 50
    assert "more instances not shown" in texts(out[-1:])


async def test_unlinked_user_is_told_how_to_link(driver, slack, dm, bot):
    reply = await reply_to(driver, slack, "carol", "/squonk", "projects", expect="/ops link")
    assert "no linked Squonk2 Data Manager account" in reply.text


async def test_ops_routes_to_squonk(driver, slack, dm, bot):
    await link_alice(driver, slack)
    reply = await reply_to(driver, slack, "alice", "/ops", "squonk jobs smina", expect="job(s)")
    assert "im-virtual-screening/smina-docking@2.1.0" in texts(reply.blocks)


async def test_a_federated_account_is_pointed_to_the_account_page(driver, slack, kc, dm, bot):
    # carol signs in through Google: her Keycloak account has no password yet.
    kc.add_user("carol", None, identity_provider="google")
    account = f"{kc.keycloak_url}/realms/{kc.realm}/account"
    opened = len(slack.views_opened("carol"))
    outcome = await link(
        driver, slack, "carol", "squonk", {"username": "carol", "password": "my-google-password"}
    )
    form = slack.views_opened("carol")[opened]
    password_hint = next(
        blk["hint"]["text"] for blk in form.blocks if blk.get("block_id") == "field_password"
    )
    assert f"Set a password first at {account}" in password_hint
    assert "Squonk2 Data Manager refused this credential" in outcome
    assert (
        f"your account may have no password yet: set one at {account}, then link again" in outcome
    )
    async with httpx.AsyncClient() as http:  # the link leads to the realm's account console
        page = await http.get(account)
    assert page.status_code == 200 and "Set up a password" in page.text
    kc.set_password("carol", "now-set-7")  # what she does there
    again = await link(
        driver, slack, "carol", "squonk", {"username": "carol", "password": "now-set-7"}
    )
    assert "Linked Squonk2 Data Manager (main) as *carol*" in again


async def test_open_in_squonk2_buttons_point_to_the_ui_beside_the_api(driver, slack, dm, bot):
    await link_alice(driver, slack)
    ui = dm.dm_api_url[: -len("api")] + "ui"  # …/data-manager-ui, derived from the API URL
    reply = await reply_to(driver, slack, "alice", "/squonk", "projects", expect="project(s)")
    urls = [
        blk["accessory"]["url"] for blk in reply.blocks if "url" in (blk.get("accessory") or {})
    ]
    assert f"{ui}/project/{dm.project_named('demo').id}" in urls
    listed = await reply_to(
        driver, slack, "alice", "/squonk", "instances demo", expect="instance(s)"
    )
    links = [e["url"] for blk in listed.blocks for e in blk.get("elements") or [] if e.get("url")]
    assert links and all(u.startswith(f"{ui}/results/instance/") for u in links)
    assert len(links) == texts(listed.blocks).count("run time")  # one per instance
