"""The console (`switchboard console` / `demo`), driven line by line as a person types: what
it prints, and that no mistake at the prompt ends the session."""

from __future__ import annotations

import io

import httpx
import pytest

from bot.blocks import ops as ops_blocks
from bot.console import Console
from bot.platforms.base import LinkField
from bot.textview import Renderer, fields_of
from emulators.dss import DEMO
from tests.support.bot import BOT_TOKEN

ALICE_KEY = DEMO["alice"]["api_key"]


@pytest.fixture
def console(slack, driver):
    out = io.StringIO()
    return Console(slack, driver, out=out, interactive=False), out


async def typed(console_and_out, *lines: str) -> str:
    """Type each line; return what the console printed for them."""
    con, out = console_and_out
    start = len(out.getvalue())
    for line in lines:
        assert await con.handle(line) is True, line
    return out.getvalue()[start:]


async def test_the_link_form_takes_fields_as_shown_and_mistakes_keep_the_prompt(console):
    shown = await typed(console, "/ops link dss")
    assert "<api_key> API key" in shown  # the name the form shows…
    assert "(a form is open: `submit api_key=…`)" in shown
    refused = await typed(console, "submit api_key=x")  # …is the name submit takes
    assert "refused this credential" in refused
    assert "! this form has no field 'apikey'; its fields: api_key" in await typed(
        console, "submit apikey=1"
    )
    assert "! write fields as name=value" in await typed(console, "submit garbage")
    assert "! unclosed quote" in await typed(console, 'submit api_key="x')
    # Its block id and its label are accepted too; the session is still alive.
    linked = await typed(console, f"submit field_api_key={ALICE_KEY}")
    assert "Linked Dataiku DSS (prod) as *alice*" in linked
    assert "Linked" in await typed(console, "/ops link dss", f"submit 'API key'={ALICE_KEY}")


async def test_a_slash_command_closes_the_open_form_and_no_stale_hint(console):
    await typed(console, "/ops link dss")
    after = await typed(console, "/ops links")
    assert "(the open form was closed)" in after
    assert "a form is open" not in after
    assert "a form is open" not in await typed(console, "/ops help")
    assert "! no form is open" in await typed(console, "submit api_key=1")


async def test_slash_commands_are_case_insensitive(console):
    assert "Switchboard" in await typed(console, "/OPS help")


async def test_mentions_render_as_names(console):
    await typed(console, "/ops link dss", f"submit api_key={ALICE_KEY}")
    audit = await typed(console, "/ops audit 1")
    assert "@alice *link* dss prod alice" in audit
    assert "U0ALICE" not in audit


async def test_switching_people_keeps_what_reached_the_other(console, slack):
    con, _ = console
    assert "now acting as bob" in await typed(console, "as bob")
    # A digest reaches alice's DMs while the console acts as bob.
    async with httpx.AsyncClient() as http:
        posted = await http.post(
            f"{slack.url}/api/chat.postMessage",
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
            json={"channel": "U0ALICE", "text": "Your morning digest"},
        )
    assert posted.json()["ok"]
    assert "morning digest" not in await typed(console, "/ops links")
    back = await typed(console, "as alice")
    assert "now acting as alice" in back and "» [DM]" in back and "Your morning digest" in back
    assert "! no demo user 'dave'" in await typed(console, "as dave")
    assert con.user == "alice"


def test_a_select_shows_its_choices_by_label_and_takes_a_label_or_value():
    modal = ops_blocks.link_modal(
        title="Strategy One",
        platform="mstr",
        instances=["library"],
        fields=[
            LinkField(
                "mode",
                "Login mode",
                choices=(("1", "standard"), ("16", "LDAP"), ("4096", "API token")),
            )
        ],
        metadata=ops_blocks.LinkMetadata(platform="mstr"),
    )
    text = Renderer().blocks(None, modal["blocks"])
    assert "<mode> Login mode: standard, LDAP, API token" in text
    assert "4096" not in text
    (mode,) = fields_of(modal)
    assert mode.value_for("api token") == "4096" and mode.value_for("16") == "16"
    with pytest.raises(ValueError, match="mode is one of: standard, LDAP, API token"):
        mode.value_for("kerberos")
