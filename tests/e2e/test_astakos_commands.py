"""/astakos commands end to end: link (kind and owner in /ops links), whoami, quotas sorted by
closeness to the limit, commission detail, projects with Approve / Deny, members with
Accept / Reject, whois, and the wrong kind of token."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest

from emulators.astakos import ALICE, ASTRO, BIO, CHEM, DEMO, AstakosEmulator
from emulators.slack import SlackEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, reply_to, seen_by, texts

SERVICE = DEMO["service"]["token"]
ALICE_TOKEN = DEMO["alice"]["token"]
BOB_TOKEN = DEMO["bob"]["token"]


@pytest.fixture
def platforms(astakos: AstakosEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"astakos": [{"name": "prod", "url": f"{astakos.url}/identity/v2.0"}]}


def now(slack: SlackEmulator, message: Message) -> Message:
    return slack.workspace.find(message.channel, message.ts) or message


def card(message: Message, kind: str, target: str) -> list[dict]:
    prefix = f"appr|astakos:prod:{kind}:{target}|"
    return [x for x in message.blocks if str(x.get("block_id", "")).startswith(prefix)]


def button(message: Message, kind: str, target: str, text: str) -> str:
    for block in card(message, kind, target):
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["text"]["text"] == text:
                return element["value"]
    raise LookupError(f"no {text} on {kind} {target}: {texts(message.blocks)}")


def audit_rows(settings) -> list[tuple]:
    return (
        sqlite3.connect(settings.db_path)
        .execute("select user_id, action, platform, target, result from audit order by id")
        .fetchall()
    )


async def test_link_shows_the_token_kind_and_owner_in_ops_links(
    driver, slack, astakos, bot, settings
):
    outcome = await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    assert "Linked Synnefo Astakos (prod) as *alice@example.org* (user token)" in outcome
    assert ALICE_TOKEN not in outcome
    reply = await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")
    assert "as *alice@example.org* · user token" in texts(reply.blocks)
    refused = await link(driver, slack, "bob", "astakos", {"token": "not-a-token"})
    assert "refused this credential" in refused
    assert ("U0ALICE", "link", "astakos", "alice@example.org", "ok") in audit_rows(settings)


async def test_whoami_for_a_user_and_a_service_token(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    await link(driver, slack, "bob", "astakos", {"token": SERVICE})
    mine = await reply_to(driver, slack, "alice", "/astakos", "whoami", expect="UUID")
    body = texts(mine.blocks)
    assert "Alice Example" in body and ALICE in body and "alice@example.org" in body
    assert "astakos_account v1.0" in body
    service = await reply_to(driver, slack, "bob", "/astakos", "whoami", expect="Component")
    assert "cyclades" in texts(service.blocks) and "service token" in texts(service.blocks)


async def test_quotas_closest_to_the_limit_first_with_bars(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    reply = await reply_to(driver, slack, "alice", "/astakos", "quotas", expect="Your quotas")
    body = texts(reply.blocks)
    order = [
        "*RAM* · chem.example.org",  # 16 of 16 GiB (2 GiB pending)
        "*Virtual Machine* · chem.example.org",  # 5 of 5
        "*Storage space* · bio.example.org",  # 190 of 200 GiB
        "*RAM* · personal (system)",  # 3.5 of 4 GiB
        "*CPU* · chem.example.org",  # 12 of 16
        "*Floating IP address* · personal (system)",  # 0 of 1
    ]
    positions = [body.index(item) for item in order]
    assert positions == sorted(positions), body
    # Bars round down: only a quota at its limit shows a full bar.
    full, most, nearly = "▓" * 10, "▓" * 7 + "░" * 3, "▓" * 9 + "░"
    assert f":red_circle: `{full} 100%` *Virtual Machine* · chem.example.org" in body
    assert f":large_green_circle: `{most} 75%` *CPU* · chem.example.org" in body
    assert "5 of 5 used (pending 1)" in body
    assert f":large_orange_circle: `{nearly} 95%` *Storage space* · bio.example.org" in body
    assert "190 GiB of 200 GiB used (pending 10 GiB)" in body
    assert "old.example.org" not in body  # terminated: Astakos hides its quotas
    one = await reply_to(
        driver,
        slack,
        "alice",
        "/astakos",
        "quotas bio.example.org",
        expect="project bio.example.org",
    )
    assert "chem.example.org" not in texts(one.blocks)


async def test_service_token_commands_answer_a_user_token_clearly(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    reply = await reply_to(
        driver, slack, "alice", "/astakos", "commission 56", expect="needs an Astakos"
    )
    assert "*service token*" in reply.text and "is a user token" in reply.text
    await link(driver, slack, "bob", "astakos", {"token": SERVICE})
    quotas = await reply_to(driver, slack, "bob", "/astakos", "quotas", expect="needs an")
    assert "*user token*" in quotas.text and "(cyclades) is a service token" in quotas.text


async def test_commission_detail_lists_every_provision(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    reply = await reply_to(
        driver, slack, "alice", "/astakos", "commission 58", expect="Commission 58"
    )
    body = texts(reply.blocks)
    assert "destroy vm alice-scratch" in body
    assert "alice@example.org from personal project of alice@example.org: −1 Virtual" in body
    assert "personal project of alice@example.org: −2 CPU" in body
    assert "Accept" in body and "Reject" in body
    gone = await reply_to(driver, slack, "alice", "/astakos", "commission 99", expect="not pending")
    assert "commission 99" in gone.text
    bad = await reply_to(
        driver, slack, "alice", "/astakos", "commission latest", expect="serial number"
    )
    assert bad.text.startswith(
        "I can't read `/astakos commission latest`: give the commission's serial number"
    )
    assert "For example: `/astakos commission 42`" in bad.text


async def test_projects_approve_a_pending_application(driver, slack, astakos, bot, settings):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})  # a project admin
    reply = await reply_to(
        driver, slack, "alice", "/astakos", "projects", expect="Projects on prod"
    )
    body = texts(reply.blocks)
    assert body.index("astro.example.org") < body.index("chem.example.org")  # waiting first
    assert "application #" in body and "new observing season" in body
    app_id = astakos.projects[ASTRO].last_application
    await driver.click(
        "alice", reply, value=button(reply, "application", f"{ASTRO}:{app_id}", "Approve")
    )
    await driver.wait_for(lambda: "Approved* by <@U0ALICE>" in texts(now(slack, reply).blocks))
    assert astakos.projects[ASTRO].state == "active"
    assert astakos.applications[app_id].state == "approved"
    assert ("U0ALICE", "astakos.approve", "astakos", f"{ASTRO}:{app_id}", "ok") in audit_rows(
        settings
    )


async def test_project_deny_with_a_reason_and_a_non_admin_changes_nothing(
    driver, slack, astakos, bot, settings
):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    await link(driver, slack, "bob", "astakos", {"token": BOB_TOKEN})
    app_id = astakos.projects[BIO].last_application
    target = f"{BIO}:{app_id}"
    # Bob owns bio but is no project admin: Astakos refuses him, and the card stays open.
    his = await reply_to(
        driver, slack, "bob", "/astakos", "project bio.example.org", expect="Resources"
    )
    await driver.click("bob", his, value=button(his, "application", target, "Approve"))
    await driver.wait_for(lambda: "Only project admins may approve" in seen_by(slack, "bob"))
    assert astakos.applications[app_id].state == "pending"
    assert card(now(slack, his), "application", target)[-1]["type"] == "actions"

    reply = await reply_to(driver, slack, "alice", "/astakos", f"project {BIO}", expect="Resources")
    assert "more VMs for the spring sequencing run" in texts(reply.blocks)
    opened = len(slack.views_opened("alice"))
    await driver.click("alice", reply, value=button(reply, "application", target, "Deny"))
    modal = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    await driver.submit("alice", modal, {"reason": "budget is spent"})
    await driver.wait_for(lambda: "Denied* by <@U0ALICE>" in texts(now(slack, reply).blocks))
    assert astakos.applications[app_id].state == "denied"
    sent = astakos.requests_to("POST", f"/projects/{BIO}/action")[-1].json()
    assert sent == {"deny": {"reason": "budget is spent", "app_id": app_id}}
    rows = audit_rows(settings)
    assert ("U0BOB", "astakos.approve", "astakos", target, "refused") in rows
    assert ("U0ALICE", "astakos.deny", "astakos", target, "ok") in rows


async def test_members_accept_and_reject_requests(driver, slack, astakos, bot, settings):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})  # owns chem
    reply = await reply_to(
        driver,
        slack,
        "alice",
        "/astakos",
        "members chem.example.org",
        expect="Members of chem.example.org",
    )
    body = texts(reply.blocks)
    assert "*carol@example.org* asks to join *chem.example.org*" in body
    assert "bob@example.org · accepted" in body and "dave@example.org · rejected" in body
    carol = next(
        m for m in astakos.memberships.values() if m.project == CHEM and m.state == "requested"
    )
    await driver.click("alice", reply, value=button(reply, "membership", str(carol.id), "Accept"))
    await driver.wait_for(lambda: "Accepted* by <@U0ALICE>" in texts(now(slack, reply).blocks))
    assert astakos.memberships[carol.id].state == "accepted"

    dave = next(
        m for m in astakos.memberships.values() if m.project == BIO and m.state == "requested"
    )
    bio = await reply_to(
        driver,
        slack,
        "alice",
        "/astakos",
        "members bio.example.org",
        expect="Members of bio.example.org",
    )
    opened = len(slack.views_opened("alice"))
    await driver.click("alice", bio, value=button(bio, "membership", str(dave.id), "Reject"))
    modal = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    await driver.submit("alice", modal, {"reason": "not in the group"})
    await driver.wait_for(lambda: "Rejected* by <@U0ALICE>" in texts(now(slack, bio).blocks))
    assert astakos.memberships[dave.id].state == "rejected"
    rows = audit_rows(settings)
    assert ("U0ALICE", "astakos.accept", "astakos", str(carol.id), "ok") in rows
    assert ("U0ALICE", "astakos.reject", "astakos", str(dave.id), "ok") in rows


async def test_whois_both_ways(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    reply = await reply_to(
        driver,
        slack,
        "alice",
        "/astakos",
        f"whois bob@example.org {ALICE} nobody@example.org",
        expect="Who is it?",
    )
    body = texts(reply.blocks)
    assert "`bob@example.org` → `dead0000-1111-4222-8333-444455556666`" in body
    assert f"`{ALICE}` → `alice@example.org`" in body
    assert "`nobody@example.org`: no such user" in body
    usage = await reply_to(driver, slack, "alice", "/astakos", "whois", expect="is missing")
    assert usage.text.startswith("I can't read `/astakos whois`: `&lt;uuid|username …&gt;`")
    assert "`/astakos whois <uuid|username …>`" in usage.text


async def test_unlinked_and_unknown_subcommand(driver, slack, astakos, bot):
    reply = await reply_to(driver, slack, "carol", "/astakos", "quotas", expect="/ops link astakos")
    assert "no linked Synnefo Astakos account" in reply.text
    usage = await reply_to(driver, slack, "alice", "/astakos", "comissions", expect="I don't know")
    assert "Did you mean `/astakos commissions`?" in texts(usage.blocks)


async def test_service_quotas_of_members_and_projects_nearest_the_limit_first(
    driver, slack, astakos, bot
):
    await link(driver, slack, "carol", "astakos", {"token": SERVICE})
    reply = await reply_to(
        driver, slack, "carol", "/astakos", "quotas all", expect="Quotas of cyclades on prod"
    )
    body = texts(reply.blocks)
    assert "*Projects*" in body and "*Members*" in body
    members = body[body.index("*Members*") :]
    percents = [int(p) for p in re.findall(r" (\d+)%`", members)]
    assert percents == sorted(percents, reverse=True) and percents[0] >= 100
    assert "bob@example.org in " in members  # usernames, not uuids
    bob = await reply_to(
        driver,
        slack,
        "carol",
        "/astakos",
        "quotas all user=bob@example.org",
        expect="user=bob@example.org",
    )
    shown = texts(bob.blocks)
    assert "bob@example.org in " in shown and "alice@example.org in " not in shown
    assert "*Projects*" not in shown  # narrowed to one member
    nobody = await reply_to(
        driver, slack, "carol", "/astakos", "quotas all user=nobody", expect="No Astakos user"
    )
    assert "`nobody`" in nobody.text
    wrong = await reply_to(
        driver, slack, "carol", "/astakos", "quotas all colour=red", expect="not a setting here"
    )
    assert "`colour` is not a setting here; use `user=…` or `project=…`" in wrong.text


async def test_quotas_all_needs_a_service_token(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    reply = await reply_to(driver, slack, "alice", "/astakos", "quotas all", expect="service token")
    assert "`/astakos quotas all` needs an Astakos *service token*" in reply.text


async def test_membership_requests_alert_with_accept_cards(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})  # owns chem and bio
    await reply_to(
        driver, slack, "alice", "/ops", "alert add astakos.memberships", expect="Alert added"
    )
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="2 new item(s)")
    carol = next(
        m for m in astakos.memberships.values() if m.project == CHEM and m.state == "requested"
    )
    dm = next(m for m in slack.messages("D0ALICE") if card(m, "membership", str(carol.id)))
    assert "carol@example.org" in texts(dm.blocks)
    await driver.click("alice", dm, value=button(dm, "membership", str(carol.id), "Accept"))
    await driver.wait_for(lambda: "Accepted* by <@U0ALICE>" in texts(now(slack, dm).blocks))
    assert astakos.memberships[carol.id].state == "accepted"
    # No longer pending on Astakos, settled here: no reply in its thread (the card says who
    # accepted); its state line says so.
    again = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")
    assert "0 new item(s)" in again.text
    assert [m for m in slack.messages("D0ALICE") if m.thread_ts] == []
    assert "State: *settled here*" in texts(now(slack, dm).blocks)
    assert "Accepted* by <@U0ALICE>" in texts(now(slack, dm).blocks)


async def test_open_in_astakos_on_projects(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    ui = f"{astakos.url}/ui"  # beside /identity/v2.0
    listed = await reply_to(
        driver, slack, "alice", "/astakos", "projects", expect="Projects on prod"
    )
    urls = [
        blk["accessory"]["url"] for blk in listed.blocks if "url" in (blk.get("accessory") or {})
    ]
    assert f"{ui}/projects/{CHEM}" in urls
    one = await reply_to(
        driver,
        slack,
        "alice",
        "/astakos",
        "project chem.example.org",
        expect="chem.example.org (prod)",
    )
    assert [e["url"] for blk in one.blocks for e in blk.get("elements") or [] if e.get("url")] == [
        f"{ui}/projects/{CHEM}"
    ]
