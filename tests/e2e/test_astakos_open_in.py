""" "Open in Astakos" on approval cards, end to end: a commission opens the project its
resources are drawn from, a join request that project's pending members, each in the
instance's Astakos UI (`/ui` beside `/identity/v2.0`, or the `ui_url` setting); with no UI
known, no button. The cards keep every block tagged as their approval's."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.astakos import CHEM, DEMO, AstakosEmulator
from tests.e2e.helpers import link, reply_to

SERVICE = DEMO["service"]["token"]
ALICE_TOKEN = DEMO["alice"]["token"]


@pytest.fixture
def ui() -> str:
    return "derived"  # or "none", or an explicit ui_url


@pytest.fixture
def platforms(astakos: AstakosEmulator, ui: str) -> dict[str, list[dict[str, Any]]]:
    if ui == "none":  # a bare host: the client finds the API, but no UI can be derived
        return {"astakos": [{"name": "prod", "url": astakos.url}]}
    instance = {"name": "prod", "url": f"{astakos.url}/identity/v2.0"}
    if ui != "derived":
        instance["ui_url"] = ui
    return {"astakos": [instance]}


def card_blocks(blocks: list[dict], kind: str, target: str) -> list[dict]:
    prefix = f"appr|astakos:prod:{kind}:{target}|"
    return [x for x in blocks if str(x.get("block_id", "")).startswith(prefix)]


def open_in(blocks: list[dict]) -> list[tuple[str, str]]:
    return [
        (e["text"]["text"], e["url"])
        for blk in blocks
        for e in [blk.get("accessory") or {}, *(blk.get("elements") or [])]
        if e.get("url")
    ]


async def test_commission_and_join_request_cards_open_their_project(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN}, "prod")
    listed = await reply_to(
        driver, slack, "alice", "/astakos", "commissions", expect="Pending commissions"
    )
    card = card_blocks(listed.blocks, "commission", "56")
    assert len(card) >= 2  # the text with its link, then Accept / Reject
    ui = f"{astakos.url}/ui"
    assert open_in(card) == [("Open in Astakos", f"{ui}/projects/{CHEM}")]
    members = await reply_to(
        driver, slack, "alice", "/astakos", "members chem.example.org", expect="membership"
    )
    requests = [
        x
        for x in members.blocks
        if str(x.get("block_id", "")).startswith("appr|astakos:prod:membership:")
    ]
    links = open_in(requests)
    assert links and set(links) == {("Open in Astakos", f"{ui}/projects/{CHEM}/members/pending")}


@pytest.mark.parametrize("ui", ["https://cloud.example.org/astakos-ui/"])
async def test_the_ui_url_setting_wins(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    listed = await reply_to(
        driver, slack, "alice", "/astakos", "commissions", expect="Pending commissions"
    )
    assert open_in(card_blocks(listed.blocks, "commission", "56")) == [
        ("Open in Astakos", f"https://cloud.example.org/astakos-ui/projects/{CHEM}")
    ]


@pytest.mark.parametrize("ui", ["none"])
async def test_no_button_when_no_ui_is_known(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": SERVICE})
    listed = await reply_to(
        driver, slack, "alice", "/astakos", "commissions", expect="Pending commissions"
    )
    card = card_blocks(listed.blocks, "commission", "56")
    assert card and open_in(listed.blocks) == []
    assert any(x["type"] == "actions" for x in card)  # Accept / Reject still there
