"""/mstr end to end: link (token exchange or password kept), status, whoami, projects per node,
the default project sent as X-MSTR-ProjectID, and sessions that renew or re-open without
bothering the person. The bot and the emulator share one FakeClock, so session time moves by
hand (only Strategy One is configured here, so the `clock` reaches only its platform)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator

import pytest

from bot.server import BotServer
from emulators.base import FakeClock
from emulators.mstr import DEMO, Project, StrategyOneEmulator, object_id
from tests.e2e.helpers import link, reply_to, seen_by, texts

TIMEOUT = 1800  # the emulator's I-Server session timeout
SALES_ID = object_id("project:Sales Analytics")


def form(who: str) -> dict[str, str]:
    return {k: str(v) for k, v in DEMO[who].items()}


@pytest.fixture
def platforms(mstr: StrategyOneEmulator) -> dict:
    return {"mstr": [{"name": "prod", "url": mstr.url}]}


@pytest.fixture
def bot(settings, clock: FakeClock) -> Iterator[BotServer]:
    with BotServer(settings, clock=clock) as server:
        yield server


def logins(mstr: StrategyOneEmulator, user: str = "alice") -> list[int]:
    """The login modes of every successful login of `user`, in order."""
    return [mode for name, mode in mstr.logins if name == user]


def user_info_calls(mstr: StrategyOneEmulator):
    return mstr.requests_to("GET", "/api/sessions/userInfo")


# -- linking -------------------------------------------------------------------------------


async def test_standard_link_keeps_only_an_api_token(driver, slack, mstr, bot, settings):
    outcome = await link(driver, slack, "alice", "mstr", form("alice"))
    assert "Linked Strategy One (prod) as *alice* (API token instead of your password)" in outcome
    reply = await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")
    assert "Strategy One* (prod)  as *alice* · API token instead of your password" in texts(
        reply.blocks
    )
    # Later commands log in with the token (mode 4096), never with the password.
    before = len(logins(mstr))
    await reply_to(driver, slack, "alice", "/mstr", "whoami", expect="Alice Martin")
    assert logins(mstr)[before:] == [4096]
    raw = await asyncio.to_thread(settings.db_path.read_bytes)
    assert DEMO["alice"]["password"].encode() not in raw
    rows = (
        sqlite3.connect(settings.db_path)
        .execute("select action, platform, target, result from audit")
        .fetchall()
    )
    assert ("link", "mstr", "alice", "ok") in rows


async def test_without_token_exchange_the_password_is_kept(driver, slack, mstr, bot):
    mstr.allow_api_tokens = False
    outcome = await link(driver, slack, "alice", "mstr", form("alice"))
    assert "(password)" in outcome
    reply = await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")
    assert "as *alice* · password" in texts(reply.blocks)
    before = len(logins(mstr))
    who = await reply_to(driver, slack, "alice", "/mstr", "whoami", expect="Alice Martin")
    assert "Standard login; I keep your password, encrypted" in texts(who.blocks)
    assert logins(mstr)[before:] == [1]


async def test_ldap_link_works_too(driver, slack, mstr, bot):
    outcome = await link(driver, slack, "carol", "mstr", form("carol_ldap"))
    assert "Linked Strategy One (prod) as *carol* (API token instead of your password)" in outcome
    reply = await reply_to(driver, slack, "carol", "/mstr", "whoami", expect="Carol Nguyen")
    assert "LDAP login; I keep an API token instead of your password, which is not stored" in texts(
        reply.blocks
    )


async def test_wrong_password_is_a_field_error_in_the_modal(driver, slack, mstr, bot):
    values = {**form("alice"), "password": "not-alices-password"}
    outcome = await link(driver, slack, "alice", "mstr", values)
    assert "Strategy One refused this credential" in outcome
    assert "not-alices-password" not in outcome
    assert mstr.live_sessions("alice") == []


# -- commands ------------------------------------------------------------------------------


async def test_status_shows_versions_session_and_timeout(driver, slack, mstr, bot):
    await link(driver, slack, "alice", "mstr", form("alice"))
    reply = await reply_to(driver, slack, "alice", "/mstr", "status", expect="I-Server version")
    body = texts(reply.blocks)
    assert mstr.server.iserver_version in body and mstr.server.web_version in body
    assert "alive" in body
    assert "30m 00s idle" in body  # the I-Server timeout, 1800 s


async def test_projects_show_status_per_node(driver, slack, mstr, bot):
    await link(driver, slack, "alice", "mstr", form("alice"))  # an admin: project monitor
    reply = await reply_to(driver, slack, "alice", "/mstr", "projects", expect="Projects on prod")
    body = texts(reply.blocks)
    sales = next(blk for blk in reply.blocks if "Sales Analytics" in texts([blk]))
    assert "iserver-01: loaded" in texts([sales]) and "iserver-02: unloaded" in texts([sales])
    assert "HR Insights" in body  # unloaded everywhere: still listed, with no Use button
    hr = next(blk for blk in reply.blocks if "HR Insights" in texts([blk]))
    assert "accessory" not in hr


async def test_projects_without_the_monitor_privilege(driver, slack, mstr, bot):
    await link(driver, slack, "bob", "mstr", form("bob"))
    reply = await reply_to(driver, slack, "bob", "/mstr", "projects", expect="Projects on prod")
    body = texts(reply.blocks)
    assert "project monitor privilege" in body
    assert "Sales Analytics" in body and "Finance Reporting" not in body  # admins only


async def test_use_then_whoami_sends_the_project_header(driver, slack, mstr, bot, settings):
    await link(driver, slack, "alice", "mstr", form("alice"))
    reply = await reply_to(driver, slack, "alice", "/mstr", "use sales", expect="default project")
    assert "*Sales Analytics*" in reply.text  # found by its alias, case-insensitively
    mstr.requests.clear()
    reply = await reply_to(driver, slack, "alice", "/mstr", "whoami", expect="Alice Martin")
    assert "Sales Analytics" in texts(reply.blocks)
    assert [r.headers.get("x-mstr-projectid") for r in user_info_calls(mstr)] == [SALES_ID]
    # `use` alone says which; `use none` clears it, and whoami sends no project any more.
    reply = await reply_to(driver, slack, "alice", "/mstr", "use", expect="default project")
    assert "is *Sales Analytics*" in reply.text
    await reply_to(driver, slack, "alice", "/mstr", "use none", expect="Cleared")
    mstr.requests.clear()
    await reply_to(driver, slack, "alice", "/mstr", "whoami", expect="Alice Martin")
    assert [r.headers.get("x-mstr-projectid") for r in user_info_calls(mstr)] == [None]
    rows = (
        sqlite3.connect(settings.db_path)
        .execute("select action, target from audit where platform = 'mstr'")
        .fetchall()
    )
    assert ("mstr.use", "Sales Analytics") in rows
    assert ("mstr.use.clear", "Sales Analytics") in rows


async def test_use_with_a_multi_word_name_without_quotes(driver, slack, mstr, bot):
    await link(driver, slack, "alice", "mstr", form("alice"))
    reply = await reply_to(
        driver, slack, "alice", "/mstr", "use microstrategy tutorial", expect="default project"
    )
    assert "*MicroStrategy Tutorial*" in reply.text


async def test_unknown_project_lists_close_names(driver, slack, mstr, bot):
    await link(driver, slack, "alice", "mstr", form("alice"))
    reply = await reply_to(driver, slack, "alice", "/mstr", "use Finanse", expect="No project")
    assert "Close names: *Finance Reporting*" in reply.text
    # Not loaded on any node: it cannot be a default either.
    reply = await reply_to(
        driver, slack, "alice", "/mstr", 'use "HR Insights"', expect="No project"
    )
    assert "`HR Insights`" in reply.text


async def test_use_as_default_button_moves_the_star(driver, slack, mstr, bot):
    await link(driver, slack, "alice", "mstr", form("alice"))
    reply = await reply_to(
        driver, slack, "alice", "/mstr", "projects finance", expect="Projects on prod"
    )
    await driver.click("alice", reply, text="Use as default")
    await driver.wait_for(lambda: "is now *Finance Reporting*" in seen_by(slack, "alice"))
    # The list the person looks at is re-rendered with the star on the new default.
    listed = slack.ephemerals("alice")[-1]
    assert "Finance Reporting* :star: _your default_" in texts(listed.blocks)
    mstr.requests.clear()
    await reply_to(driver, slack, "alice", "/mstr", "whoami", expect="Finance Reporting")
    assert [r.headers.get("x-mstr-projectid") for r in user_info_calls(mstr)] == [
        object_id("project:Finance Reporting")
    ]


async def test_a_long_project_list_stays_within_50_blocks(driver, slack, mstr, bot):
    nodes = mstr.server.nodes
    mstr.projects += [
        Project(f"Team {i:02d}", "", {nodes[0]: "loaded", nodes[1]: "loaded"}) for i in range(70)
    ]
    await link(driver, slack, "alice", "mstr", form("alice"))
    reply = await reply_to(driver, slack, "alice", "/mstr", "projects", expect="Projects on prod")
    assert len(reply.blocks) <= 50
    assert "more projects not shown" in texts(reply.blocks)
    assert "/mstr projects <part of a name>" in texts(reply.blocks)
    reply = await reply_to(driver, slack, "alice", "/mstr", "projects team 6", expect="matching")
    assert texts(reply.blocks).count("Team 6") == 10


async def test_unlinked_user_is_told_how_to_link(driver, slack, mstr, bot):
    reply = await reply_to(driver, slack, "bob", "/mstr", "status", expect="/ops link mstr")
    assert "no linked Strategy One account" in reply.text


# -- sessions ------------------------------------------------------------------------------


async def test_a_401_mid_session_is_one_relogin_and_the_command_succeeds(driver, slack, mstr, bot):
    await link(driver, slack, "alice", "mstr", form("alice"))
    await reply_to(driver, slack, "alice", "/mstr", "whoami", expect="Alice Martin")
    before = len(logins(mstr))
    assert mstr.drop_sessions("alice") == 1  # the server forgot it (restart, admin kill)
    mstr.requests.clear()
    reply = await reply_to(driver, slack, "alice", "/mstr", "whoami", expect="Alice Martin")
    assert "refused" not in reply.text
    assert len(logins(mstr)) == before + 1
    assert len(user_info_calls(mstr)) == 2  # refused once, then answered


async def test_sessions_renew_on_elapsed_time_and_reopen_after_expiry(
    driver, slack, mstr, clock, bot
):
    await link(driver, slack, "alice", "mstr", form("alice"))
    await reply_to(driver, slack, "alice", "/mstr", "status", expect="alive")
    opened = len(logins(mstr))
    # Past three quarters of the timeout: renewed (PUT /api/sessions), no new login.
    clock.advance(TIMEOUT * 0.8)
    mstr.requests.clear()
    await reply_to(driver, slack, "alice", "/mstr", "whoami", expect="Alice Martin")
    assert len(mstr.requests_to("PUT", "/api/sessions")) == 1
    assert len(logins(mstr)) == opened
    # Idle past the timeout: the server has dropped it; a new login, and still no error.
    clock.advance(TIMEOUT + 60)
    reply = await reply_to(driver, slack, "alice", "/mstr", "status", expect="alive")
    assert "previous session had ended" in texts(reply.blocks)
    assert len(logins(mstr)) == opened + 1
