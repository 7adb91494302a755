"""`/dss mykeys` and `/dss keys`: deleting the very key Switchboard holds for the person asks
twice, says so, and `/ops links` then shows the link as broken instead of verified.
(issue 11, "People and channels")"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.blocks.dss import HELD_KEY
from emulators.dss import DEMO, DSSEmulator
from emulators.slack_models import Message
from tests.e2e.helpers import link, reply_to, seen_by, texts

ALICE_KEY = DEMO["alice"]["api_key"]
ADMIN_KEY = DEMO["global_admin"]["api_key"]


def delete_value(message: Message, *, held: bool, label: str = "") -> str:
    """The Delete button's value on the row that is (or is not) Switchboard's key."""
    for block in message.blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == "dss_key_delete":
            text = block["text"]["text"]
            if (HELD_KEY in text) == held and f"*{label}" in text:
                return str(accessory["value"])
    raise AssertionError(f"no {'held' if held else 'other'} key row: {texts(message.blocks)}")


async def links_reply(driver, slack) -> str:
    reply = await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")
    return texts(reply.blocks)


async def test_deleting_the_held_personal_key_asks_twice_then_marks_the_link_broken(
    driver, slack, dss, bot
):
    dss.add_api_key(kind="personal", user="alice", label="laptop", created_by="alice")
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    held_id = dss.api_keys[ALICE_KEY].id
    listing = await reply_to(driver, slack, "alice", "/dss", "mykeys", expect="personal API")
    assert texts(listing.blocks).count(HELD_KEY) == 1

    # First Delete on the held key: nothing is deleted; a second, explicit question comes.
    await driver.click("alice", listing, value=delete_value(listing, held=True))
    question = await driver.wait_for(
        lambda: next(
            (m for m in slack.ephemerals("alice") if "Switchboard loses its link" in m.text), None
        )
    )
    assert "is the key Switchboard holds for you* on Dataiku DSS (prod)" in question.text
    assert "`/ops link dss prod`" in question.text
    assert not dss.requests_to("DELETE", "/personal-api-keys/")
    # "Keep it": still nothing deleted, and the link is untouched.
    await driver.click("alice", question, text="Keep it")
    await driver.wait_for(lambda: "your link is unchanged" in seen_by(slack, "alice"))
    assert not dss.requests_to("DELETE", "/personal-api-keys/")
    assert "last verified" in await links_reply(driver, slack)

    # Again, and this time yes to both questions (the button has its own confirm dialog).
    listing = await reply_to(driver, slack, "alice", "/dss", "mykeys", expect="personal API")
    before = len(slack.ephemerals("alice"))
    await driver.click("alice", listing, value=delete_value(listing, held=True))
    question = await driver.wait_for(
        lambda: next(
            (
                m
                for m in slack.ephemerals("alice")[before:]
                if "Switchboard loses its link" in m.text
            ),
            None,
        )
    )
    assert (
        await driver.click("alice", question, text="Delete it and lose the link", confirm=False)
        is None
    )
    await driver.click("alice", question, text="Delete it and lose the link")
    await driver.wait_for(lambda: "link is now *broken*" in seen_by(slack, "alice"))
    assert [
        r.path.rsplit("/", 1)[-1] for r in dss.requests_to("DELETE", "/personal-api-keys/")
    ] == [held_id]
    assert dss.key_by_id(held_id) is None
    told = seen_by(slack, "alice")
    assert (
        "It was the key Switchboard held for you, so your Dataiku DSS (prod) link is now "
        "*broken*: run `/ops link dss prod` with a new key."
    ) in told

    links = await links_reply(driver, slack)
    assert ":warning: *broken* since" in links and "was deleted" in links
    assert "last verified" not in links
    # Linking again mends it.
    await link(
        driver,
        slack,
        "alice",
        "dss",
        {"api_key": dss.add_api_key(kind="personal", user="alice", label="new").secret},
    )
    assert "last verified" in await links_reply(driver, slack)


async def test_deleting_another_key_asks_once_and_keeps_the_link(driver, slack, dss, bot):
    other = dss.add_api_key(kind="personal", user="alice", label="laptop", created_by="alice")
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    listing = await reply_to(driver, slack, "alice", "/dss", "mykeys", expect="personal API")
    await driver.click("alice", listing, value=delete_value(listing, held=False, label="laptop"))
    await driver.wait_for(lambda: "Deleted key `laptop`" in seen_by(slack, "alice"))
    assert dss.key_by_id(other.id) is None and dss.key_by_id(dss.api_keys[ALICE_KEY].id)
    assert "Switchboard loses its link" not in seen_by(slack, "alice")
    assert "last verified" in await links_reply(driver, slack)


async def test_an_admin_deleting_the_global_key_they_linked_is_asked_twice(driver, slack, dss, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ADMIN_KEY})
    listing = await reply_to(driver, slack, "alice", "/dss", "keys", expect="Global API")
    await driver.click("alice", listing, value=delete_value(listing, held=True))
    question = await driver.wait_for(
        lambda: next(
            (m for m in slack.ephemerals("alice") if "Switchboard loses its link" in m.text), None
        )
    )
    assert not dss.requests_to("DELETE", "/admin/global-api-keys/")
    await driver.click("alice", question, text="Delete it and lose the link")
    await driver.wait_for(lambda: "link is now *broken*" in seen_by(slack, "alice"))
    assert ":warning: *broken* since" in await links_reply(driver, slack)


@pytest.fixture
def hashed() -> Iterator[DSSEmulator]:
    with DSSEmulator(hashed_keys=True) as emulator:
        yield emulator


@pytest.fixture
def platforms(request: pytest.FixtureRequest):
    server = request.getfixturevalue("hashed" if "hashed" in request.node.name else "dss")
    return {"dss": [{"name": "prod", "url": server.url}]}


async def test_with_hashed_keys_the_broken_link_is_still_found_and_said(driver, slack, hashed, bot):
    # DSS lists hashed keys without their secret: no telling beforehand which one is held,
    # but once it is gone the stored key is refused, and the person is told at once.
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    listing = await reply_to(driver, slack, "alice", "/dss", "mykeys", expect="personal API")
    assert HELD_KEY not in texts(listing.blocks)
    held = hashed.api_keys[ALICE_KEY]
    value = delete_value(listing, held=False, label=held.label or held.id)
    assert json.loads(value)["id"] == held.id
    await driver.click("alice", listing, value=value)
    await driver.wait_for(lambda: "link is now *broken*" in seen_by(slack, "alice"))
    assert ":warning: *broken* since" in await links_reply(driver, slack)
