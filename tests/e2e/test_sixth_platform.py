"""A sixth platform from this module alone: its descriptor, a client against a tiny emulator
(a real HTTP server on 127.0.0.1), one command, a digest section, an alert source, what waits
on a person and an approval kind. Given to the bot through `Settings.descriptors`, nothing else:
help, the manifest, the link form, App Home, digests, alerts and the approval flow (its
buttons, the claim, every copy) pick it up with no edit anywhere else."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.approval_kinds import (
    TOOK_EFFECT,
    WAITING,
    ApprovalKind,
    ApprovalRef,
    Current,
    Place,
    Verb,
)
from bot.approvals import FAILED, PENDING, Approval, tag_card
from bot.blocks import common as b
from bot.commands import CommandFamily, Invocation
from bot.config import Settings
from bot.digests.base import AlertItem, DigestContext, Section
from bot.interactions import ref
from bot.manifest import build_manifest
from bot.platforms.base import (
    Credential,
    InstanceConfig,
    InstanceStatus,
    LinkField,
    Platform,
    VerifiedAccount,
)
from bot.platforms.catalog import DESCRIPTORS
from bot.platforms.descriptor import PlatformDescriptor
from bot.platforms.http import PlatformHTTP
from bot.services import Services
from emulators.base import Emulator
from tests.bot.test_manifest import errors_of
from tests.e2e.helpers import dms, link, reply_to, texts
from tests.support.bot import make_settings

KEY = "toy"
TITLE = "Toy Tracker"
ALICE_TOKEN = "toy-alice-7f3a"


# -- the platform: an emulator, a client, the platform class ---------------------------------


class ToyEmulator(Emulator):
    """Tickets behind a bearer token; `/version` answers anyone."""

    name = "toy"

    def __init__(self) -> None:
        super().__init__()
        self.users = {ALICE_TOKEN: "alice"}
        self.tickets = [
            {"id": 7, "title": "Printer on fire", "owner": "alice"},
            {"id": 9, "title": "Coffee machine & kettle", "owner": "bob"},
        ]

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/version", self._version),
            Route("/whoami", self._whoami),
            Route("/tickets", self._tickets),
            Route("/tickets/{ticket:int}/close", self._close, methods=["POST"]),
        ]

    def _user(self, request: Request) -> str | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.users.get(token)

    async def _version(self, request: Request) -> Response:
        return JSONResponse({"version": "0.1"})

    async def _whoami(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return self.error_response(401, "unknown token")
        return JSONResponse({"user": user})

    async def _tickets(self, request: Request) -> Response:
        if self._user(request) is None:
            return self.error_response(401, "unknown token")
        return JSONResponse({"tickets": self.tickets})

    async def _close(self, request: Request) -> Response:
        if self._user(request) is None:
            return self.error_response(401, "unknown token")
        number = request.path_params["ticket"]
        if not any(t["id"] == number for t in self.tickets):
            return self.error_response(404, f"no open ticket {number}")
        self.tickets = [t for t in self.tickets if t["id"] != number]
        return JSONResponse({"closed": number})


class ToyClient:
    def __init__(self, http: PlatformHTTP) -> None:
        self.http = http

    async def version(self) -> str:
        return str((await self.http.json("GET", "/version"))["version"])

    async def whoami(self, token: str) -> str:
        answer = await self.http.json("GET", "/whoami", headers=_bearer(token))
        return str(answer["user"])

    async def tickets(self, token: str) -> list[dict[str, Any]]:
        answer = await self.http.json("GET", "/tickets", headers=_bearer(token))
        return list(answer["tickets"])

    async def close(self, token: str, ticket: int) -> None:
        await self.http.json("POST", f"/tickets/{ticket}/close", headers=_bearer(token))

    async def aclose(self) -> None:
        await self.http.aclose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class ToyPlatform(Platform[ToyClient]):
    key = KEY
    title = TITLE

    def open_client(self, config: InstanceConfig) -> ToyClient:
        return ToyClient(
            PlatformHTTP(
                platform=self.key,
                instance=config.name,
                base_url=config.url,
                timeout=config.timeout,
                transport=self.transport,
            )
        )

    def link_fields(self, instance: InstanceConfig) -> list[LinkField]:
        return [LinkField("token", "Toy token", secret=True, hint="Toy > Settings > Tokens")]

    async def verify(self, instance: str, values: dict[str, str]) -> VerifiedAccount:
        token = (values.get("token") or "").strip()
        user = await self.client(instance).whoami(token)
        return VerifiedAccount(account=user, secret=token, kind="token")

    async def status(self, instance: str) -> InstanceStatus:
        name = self.instance(instance).name
        return InstanceStatus(name, reachable=True, version=await self.client(name).version())


# -- its command, digest section, alert source and what waits on a person -------------------

family = CommandFamily(KEY, TITLE)


def _lines(tickets: list[dict[str, Any]]) -> str:
    return "\n".join(f"• #{t['id']} {b.escape(t['title'])} ({t['owner']})" for t in tickets)


@family.command("tickets", "the open tickets", args=[])
async def tickets_command(inv: Invocation) -> None:
    credential = await inv.services.accounts.credential(inv.user_id, KEY, None)
    client = inv.services.platforms.get(ToyPlatform).client(credential.instance)
    found = await client.tickets(credential.secret)
    await inv.reply(text="Open tickets", blocks=[b.section("*Open tickets*\n" + _lines(found))])


def register(app: AsyncApp, settings: Settings) -> None:
    """No buttons of its own: the slash command is registered from the descriptor."""


async def _tickets(ctx: DigestContext) -> list[dict[str, Any]]:
    client = ctx.services.platforms.get(ToyPlatform).client(ctx.credential.instance)
    return await client.tickets(ctx.credential.secret)


async def section(ctx: DigestContext) -> Section:
    found = await _tickets(ctx)
    return Section(
        platform=KEY,
        title=f"{TITLE} ({ctx.credential.instance})",
        blocks=[b.section("*Open tickets*\n" + _lines(found))],
        empty=not found,
    )


async def new_tickets(ctx: DigestContext) -> list[AlertItem]:
    """tickets opened since the last poll"""
    return [
        AlertItem(
            key=f"toy:{ctx.credential.instance}:ticket:{t['id']}",
            text=f"New ticket #{t['id']}: {t['title']}",
            blocks=[b.section(f"New ticket #{t['id']}: {b.escape(t['title'])}")],
            subject=f"toy:{ctx.credential.instance}:ticket:{t['id']}",
            kind="ticket",
        )
        for t in await _tickets(ctx)
    ]


async def waiting(ctx: DigestContext) -> list[tuple[str, list[dict[str, Any]]]]:
    """The viewer's own tickets, each an approval to close (one claim, every copy)."""
    mine = [t for t in await _tickets(ctx) if t["owner"] == ctx.credential.account]
    cards = []
    for t in mine:
        approval = await ctx.services.approvals.register(
            platform=KEY,
            instance=ctx.credential.instance,
            kind="ticket",
            target=str(t["id"]),
            summary=f"#{t['id']} {t['title']}",
        )
        cards.append((approval.id, render(approval, Place("home"))))
    return cards


# The approval kind: close a ticket, with the clicker's own token (bot.approval_flow).
CLOSE = Verb(action="close", button="Close", past="closed", action_id="toy_close")


def render(approval: Approval, place: Place) -> list[dict[str, Any]]:
    head = b.section(f"Ticket {b.escape(approval.summary)} waits on you")
    if approval.state in (PENDING, FAILED):
        value = ref(ApprovalRef(approval=approval.id, action=CLOSE.action))
        shown = [head, b.actions(b.button(CLOSE.button, CLOSE.action_id, value))]
    else:
        shown = [b.section(f"Ticket {b.escape(approval.summary)}: {b.escape(approval.result)}")]
    return tag_card(approval.id, shown)


async def close(
    services: Services, credential: Credential, approval: Approval, verb: Verb, reason: str
) -> str:
    client = services.platforms.get(ToyPlatform).client(credential.instance)
    await client.close(credential.secret, int(approval.target))
    return f"closed by {credential.account}"


async def still_open(services: Services, credential: Credential, approval: Approval) -> Current:
    client = services.platforms.get(ToyPlatform).client(credential.instance)
    ids = {str(t["id"]) for t in await client.tickets(credential.secret)}
    return Current(WAITING) if approval.target in ids else Current(TOOK_EFFECT, "closed")


TICKET = ApprovalKind(
    key="ticket",
    platform=KEY,
    label="ticket",
    verbs=(CLOSE,),
    permission="toy.close",
    perform=close,
    render=render,
    check=still_open,
    describe=lambda approval, verb: f"Close ticket {approval.summary}?",
)


TOY = PlatformDescriptor(
    key=KEY,
    title=TITLE,
    platform=ToyPlatform,
    summary="Toy Tracker: tickets",
    aliases=("toys",),
    commands=sys.modules[__name__],  # this module: `family` and `register`
    section=section,
    waiting=waiting,
    alerts={"toy.tickets": new_tickets},
    approval_kinds=(TICKET,),
)


# -- the bot, given one more descriptor ------------------------------------------------------


@pytest.fixture
def toy() -> Iterator[ToyEmulator]:  # fresh per test: a closed ticket stays closed
    with ToyEmulator() as emulator:
        yield emulator


@pytest.fixture
def platforms(dss, toy):
    return {"dss": [{"name": "prod", "url": dss.url}], KEY: [{"name": "lab", "url": toy.url}]}


@pytest.fixture
def settings(tmp_path, slack, platforms) -> Settings:
    return make_settings(tmp_path, slack, platforms=platforms, descriptors=(*DESCRIPTORS, TOY))


async def link_alice(driver, slack) -> None:
    assert "Linked" in await link(driver, slack, "alice", KEY, {"token": ALICE_TOKEN})


async def test_help_lists_it_and_its_command_answers(driver, slack, bot):
    overview = await reply_to(driver, slack, "alice", "/ops", "help", expect="/toy")
    assert "`/toy tickets`  the open tickets" in texts(overview.blocks)
    # Its alias works wherever a platform is named.
    own = await reply_to(driver, slack, "alice", "/ops", "help toys", expect="/toy tickets")
    assert TITLE in texts(own.blocks) + (own.text or "")
    await link_alice(driver, slack)
    answer = await reply_to(driver, slack, "alice", "/toy", "tickets", expect="Open tickets")
    assert "#7 Printer on fire (alice)" in texts(answer.blocks)
    assert "Coffee machine &amp; kettle" in texts(answer.blocks)  # escaped
    # `/ops toy …` routes to it too.
    await reply_to(driver, slack, "alice", "/ops", "toy tickets", expect="Printer on fire")


async def test_the_manifest_has_its_slash_command_with_a_hint_from_its_subcommands(settings):
    manifest = build_manifest(settings, url="https://bot.example.com", socket_mode=False)
    assert errors_of(manifest) == []
    [command] = [c for c in manifest["features"]["slash_commands"] if c["command"] == "/toy"]
    assert command["description"] == "Toy Tracker: tickets"
    assert command["usage_hint"] == "tickets"
    assert TITLE in manifest["display_information"]["long_description"]


async def test_home_shows_it_linked_and_what_waits_on_the_viewer(driver, slack, bot):
    await link_alice(driver, slack)
    published = len(slack.calls("views.publish"))
    await driver.home_opened("alice")
    home = await driver.wait_for(
        lambda: len(slack.calls("views.publish")) > published and slack.home("alice")
    )
    body = texts(home.blocks)
    assert f"*{TITLE}* (lab)\nLinked as *alice*" in body
    assert f"*{TITLE} (lab)*" in body and "Ticket #7 Printer on fire waits on you" in body
    assert "Ticket #9" not in body  # bob's


def _with_close(view: Any) -> Any:
    """The Home view once it shows a Close button (None before)."""
    return view if view is not None and "Close" in texts(view.blocks) else None


async def test_its_approval_kind_goes_through_the_one_approval_flow(driver, slack, bot, toy):
    await link_alice(driver, slack)
    await driver.home_opened("alice")
    home = await driver.wait_for(lambda: _with_close(slack.home("alice")))
    [button] = [
        e
        for blk in home.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e.get("action_id") == "toy_close"
    ]
    await driver.click("alice", home, action_id="toy_close", value=button["value"])
    # The platform acted with alice's token, once; the tab is drawn again without the card.
    await driver.wait_for(lambda: [t["id"] for t in toy.tickets] == [9])
    await driver.wait_for(lambda: "Ticket #7" not in texts(slack.home("alice").blocks))
    record = await bot.services.approvals.get("toy:lab:ticket:7")
    assert (record.state, record.actor, record.result) == ("done", "U0ALICE", "closed by alice")
    audit = await bot.services.audit.latest(5)
    assert any(r["action"] == "toy.close" and r["result"] == "ok" for r in audit)


async def test_its_digest_section_and_alert_source(driver, slack, bot):
    await link_alice(driver, slack)
    await reply_to(
        driver, slack, "alice", "/ops", "digest add toy daily 09:00", expect="Digest added"
    )
    await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")
    digest = await driver.wait_for(lambda: "Printer on fire" in dms(slack, "alice") or None)
    assert digest
    body = dms(slack, "alice")
    assert f"{TITLE} (lab)" in body and "#9 Coffee machine" in body

    listed = await reply_to(driver, slack, "alice", "/ops", "alert add", expect="toy.tickets")
    assert "`toy.tickets`: tickets opened since the last poll" in listed.text + texts(listed.blocks)
    await reply_to(driver, slack, "alice", "/ops", "alert add toy.tickets", expect="Alert added")
    await reply_to(driver, slack, "alice", "/ops", "alert now 2", expect="2 new item(s)")
    await driver.wait_for(lambda: "New ticket #9" in dms(slack, "alice") or None)
