"""One person holding both Astakos tokens on one instance, end to end: a user token and a
service token linked side by side (`/ops link astakos prod service`), each command and
button sent to Astakos with the token that can answer it, `/ops links` and Home showing both,
unlinking one keeping the other, and, with one kind only, a refusal naming the link command
that adds the other."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.astakos import DEMO, AstakosEmulator
from tests.e2e.helpers import link, reply_to, texts

SERVICE = DEMO["service"]["token"]
ALICE_TOKEN = DEMO["alice"]["token"]


@pytest.fixture
def platforms(astakos: AstakosEmulator) -> dict[str, list[dict[str, Any]]]:
    return {"astakos": [{"name": "prod", "url": f"{astakos.url}/identity/v2.0"}]}


def tokens_sent(astakos: AstakosEmulator, method: str, path: str) -> set[str]:
    """The X-Auth-Token of every request the bot made to `path` (read, never printed)."""
    return {
        value
        for r in astakos.requests_to(method, path)
        for name, value in r.headers.items()
        if name.lower() == "x-auth-token"
    }


async def test_both_tokens_linked_each_command_uses_the_one_it_needs(driver, slack, astakos, bot):
    assert "(user token)" in await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    refused = await reply_to(
        driver, slack, "alice", "/astakos", "commissions", expect="needs an Astakos"
    )
    # With a user token only, the refusal names the command that adds a service token.
    assert "`/ops link astakos prod service`: both are kept" in refused.text

    # Asking for a service token and pasting a user token: said under the field, nothing kept.
    wrong = await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN}, "prod service")
    assert "That is a user token, not a service token" in wrong
    linked = await link(driver, slack, "alice", "astakos", {"token": SERVICE}, "prod service")
    assert "Linked Synnefo Astakos (prod) as *cyclades* (service token)" in linked

    astakos.requests.clear()
    quotas = await reply_to(driver, slack, "alice", "/astakos", "quotas", expect="Your quotas")
    assert "chem.example.org" in texts(quotas.blocks)
    assert tokens_sent(astakos, "GET", "/account/v1.0/quotas") == {ALICE_TOKEN}
    service = await reply_to(
        driver, slack, "alice", "/astakos", "quotas all", expect="Quotas of cyclades on prod"
    )
    assert "*Members*" in texts(service.blocks)
    assert tokens_sent(astakos, "GET", "/account/v1.0/service_quotas") == {SERVICE}
    listed = await reply_to(
        driver, slack, "alice", "/astakos", "commissions", expect="Pending commissions"
    )
    assert "Commission 56" in texts(listed.blocks)
    assert tokens_sent(astakos, "GET", "/account/v1.0/commissions") == {SERVICE}

    # Accept on a commission acts with the service token, though the user token is first.
    accept = next(
        e["value"]
        for blk in listed.blocks
        if str(blk.get("block_id", "")).startswith("appr|astakos:prod:commission:56|")
        for e in blk.get("elements", [])
        if e.get("type") == "button" and e["text"]["text"] == "Accept"
    )
    await driver.click("alice", listed, value=accept)
    await driver.wait_for(lambda: astakos.commission(56) is None)
    assert tokens_sent(astakos, "POST", "/commissions/56/action") == {SERVICE}

    links = await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")
    body = texts(links.blocks)
    assert "as *alice@example.org* · user token" in body and "as *cyclades* · service token" in body

    await driver.home_opened("alice")
    home = await driver.wait_for(
        lambda: (h := slack.home("U0ALICE")) and "Linked as *cyclades*" in texts(h.blocks) and h
    )
    shown = texts(home.blocks)
    assert "Linked as *alice@example.org* · user token" in shown
    assert "Linked as *cyclades* · service token" in shown
    assert "Delete your stored Synnefo Astakos (prod) service token credential?" in str(home.blocks)

    # Unlink the service token: the user token stays, and its commands still work.
    gone = await reply_to(
        driver, slack, "alice", "/ops", "unlink astakos prod service", expect="Unlinked"
    )
    assert "Unlinked Synnefo Astakos (prod) service token." in gone.text
    assert "Your user token there stays linked" in gone.text
    links = await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")
    assert "cyclades" not in texts(links.blocks) and "alice@example.org" in texts(links.blocks)
    await reply_to(driver, slack, "alice", "/astakos", "quotas", expect="Your quotas")
    again = await reply_to(
        driver, slack, "alice", "/astakos", "commissions", expect="needs an Astakos"
    )
    assert "`/ops link astakos prod service`" in again.text
    none = await reply_to(
        driver, slack, "alice", "/ops", "unlink astakos prod service", expect="nothing to unlink"
    )
    assert "no Synnefo Astakos (prod) service token linked" in none.text


async def test_a_service_token_alone_is_told_how_to_add_a_user_token(driver, slack, astakos, bot):
    await link(driver, slack, "bob", "astakos", {"token": SERVICE})
    reply = await reply_to(driver, slack, "bob", "/astakos", "quotas", expect="needs an Astakos")
    assert "(cyclades) is a service token" in reply.text
    assert "Link a user token beside it with `/ops link astakos prod`: both are kept" in reply.text
    # `/ops unlink astakos prod` without a role removes the only link there is.
    gone = await reply_to(driver, slack, "bob", "/ops", "unlink astakos prod", expect="Unlinked")
    assert "stays linked" not in gone.text
    bad = await reply_to(
        driver, slack, "bob", "/ops", "link astakos prod admin", expect="no second kind"
    )
    assert "`/ops link astakos &lt;instance&gt; service` (service token)" in bad.text


async def test_alerts_and_digests_take_the_token_each_part_needs(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    await link(driver, slack, "alice", "astakos", {"token": SERVICE}, "prod service")
    astakos.requests.clear()
    # Commissions need the service token, join requests the user token: both alerts run.
    await reply_to(
        driver, slack, "alice", "/ops", "alert add astakos.commissions", expect="Alert added"
    )
    await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="new item(s)")
    assert tokens_sent(astakos, "GET", "/account/v1.0/commissions") == {SERVICE}
    await reply_to(
        driver, slack, "alice", "/ops", "alert add astakos.memberships", expect="Alert added"
    )
    await reply_to(driver, slack, "alice", "/ops", "alert now 2", expect="2 new item(s)")
    # One digest section for the instance holds both parts: the user's and the service's.
    await reply_to(
        driver, slack, "alice", "/ops", "digest add astakos daily 09:00", expect="Digest added"
    )
    await reply_to(driver, slack, "alice", "/ops", "digest now 3", expect="Posted #3")
    digest = [m for m in slack.messages("D0ALICE") if "Commission 56" in texts(m.blocks)][-1]
    body = texts(digest.blocks)
    assert body.count("Synnefo Astakos (prod)") == 1, body
    assert "carol@example.org" in body, body  # a join request to alice's project


async def test_home_offers_the_other_token_and_unlinks_one_role(driver, slack, astakos, bot):
    await link(driver, slack, "alice", "astakos", {"token": ALICE_TOKEN})
    await driver.home_opened("alice")
    home = await driver.wait_for(
        lambda: (h := slack.home("U0ALICE")) and "Link a service token" in texts(h.blocks) and h
    )
    opened = len(slack.views_opened("alice"))
    await driver.click("alice", home, text="Link a service token")
    modal = await driver.wait_for(
        lambda: slack.views_opened("alice")[opened:] and slack.views_opened("alice")[-1]
    )
    assert "Paste a *service token*" in texts(modal.blocks)
    await driver.submit("alice", modal, {"field_token": SERVICE})
    both = await driver.wait_for(
        lambda: (h := slack.home("U0ALICE")) and "Linked as *cyclades*" in texts(h.blocks) and h
    )
    assert "Linked as *alice@example.org*" in texts(both.blocks)
    assert "Link a service token" not in texts(both.blocks)
    # Unlink the user token from Home: the service token stays, and commissions still list.
    user_unlink = next(
        e
        for blk in both.blocks
        if blk.get("type") == "actions"
        for e in blk["elements"]
        if e["text"]["text"] == "Unlink" and '"role":""' in e["value"].replace(" ", "")
    )
    await driver.click(
        "alice", both, action_id=user_unlink["action_id"], value=user_unlink["value"]
    )
    after = await driver.wait_for(
        lambda: (
            (h := slack.home("U0ALICE"))
            and "Linked as *alice@example.org*" not in texts(h.blocks)
            and h
        )
    )
    assert "Linked as *cyclades* · service token" in texts(after.blocks)
    await reply_to(driver, slack, "alice", "/astakos", "commissions", expect="Pending commissions")
