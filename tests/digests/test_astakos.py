"""The Astakos digest section and alert sources against the Astakos emulator: commissions
(service token) and quotas and applications (user token), with the approval cards of
`/astakos` registered as the very same approvals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import errors
from bot.approvals import approval_id, card_prefix
from bot.digests import astakos as digest
from bot.digests.base import DigestContext
from bot.platforms.astakos.views import commissions as _commissions_view
from emulators.astakos import ALICE, BIO, BOB, CHEM, DEMO, AstakosEmulator
from tests.digests.helpers import SECTION_BUDGET, card_ids, context, link, open_for, readable

CYCLADES = [56, 57, 58, 59]  # the seeded commissions issued by cyclades (60 is pithos')


def platforms(astakos: AstakosEmulator) -> dict:
    return {"astakos": [{"name": "prod", "url": f"{astakos.url}/identity/v2.0"}]}


@pytest.fixture
def services(astakos: AstakosEmulator, services_factory):
    return services_factory(platforms(astakos))


async def as_(services, who: str) -> DigestContext:
    credential = await link(
        services, f"U0{who.upper()}", "astakos", "prod", {"token": DEMO[who]["token"]}
    )
    return context(services, credential)


def cpu(user: str, project: str, quantity: int) -> list[dict]:
    return [
        {
            "holder": f"user:{user}",
            "source": f"project:{project}",
            "resource": "cyclades.cpu",
            "quantity": quantity,
        },
        {
            "holder": f"project:{project}",
            "source": None,
            "resource": "cyclades.cpu",
            "quantity": quantity,
        },
    ]


# -- service token: commissions ----------------------------------------------------------------


async def test_service_token_section_has_commission_cards(services):
    section = await digest.section(await as_(services, "service"))
    body = readable(section)
    assert section.title == "Synnefo Astakos (prod)"
    assert not section.empty
    assert "4* pending commission(s) issued by *cyclades*" in body
    assert "Commission 56" in body and "create vm alice-web-3" in body
    assert "alice@example.org" in body  # holders by name, not uuid
    assert "2 more: `/astakos commissions`" in body
    assert "Accept" in body and "Reject" in body
    # The cards shown are tagged, and their approvals are the ones listed.
    assert section.approvals == card_ids(section.blocks)
    assert section.approvals == [
        approval_id("astakos", "prod", "commission", str(s)) for s in CYCLADES[:2]
    ]
    for block in section.blocks:
        if block["type"] == "actions":
            assert str(block["block_id"]).startswith("appr|astakos:prod:commission:")
    assert len(section.blocks) <= SECTION_BUDGET


async def test_a_digest_card_is_the_same_approval_as_the_commands(
    services, astakos, tmp_path: Path
):
    ctx = await as_(services, "service")
    await digest.section(ctx)
    # What /astakos commissions registers, in a store of its own.
    other = open_for(tmp_path / "command", platforms(astakos))
    try:
        await link(other, "U0SERVICE", "astakos", "prod", {"token": DEMO["service"]["token"]})
        _, _, ids = await _commissions_view(other, "U0SERVICE", "prod")
        for approval in ids:
            mine = await services.approvals.get(approval)
            theirs = await other.approvals.get(approval)
            assert (mine.kind, mine.target, mine.summary, mine.payload) == (
                theirs.kind,
                theirs.target,
                theirs.summary,
                theirs.payload,
            )
    finally:
        await other.aclose()


async def test_no_pending_commission_says_so_beside_the_quotas(services, astakos):
    ctx = await as_(services, "service")
    client = services.platforms["astakos"].client("prod")
    await client.resolve_commissions(token=DEMO["service"]["token"], accept=CYCLADES)
    section = await digest.section(ctx)
    # Still worth a digest: the seeded quotas on cyclades' resources are over 80 %.
    assert not section.empty and "Quotas over 80 %" in readable(section)
    assert section.approvals == []
    assert "No commission is pending for *cyclades*" in readable(section)


async def test_many_commissions_stay_within_the_block_budget(services, astakos):
    for _ in range(30):
        astakos.issue("cyclades", cpu(ALICE, CHEM, 1), name="scale out", force=True)
    section = await digest.section(await as_(services, "service"))
    assert len(section.blocks) <= SECTION_BUDGET
    assert "32 more: `/astakos commissions`" in readable(section)
    assert len(section.approvals) == 2


async def test_a_platform_failure_propagates(services, astakos):
    ctx = await as_(services, "service")
    astakos.faults.set(status=503)
    with pytest.raises(errors.PlatformError):
        await digest.section(ctx)


async def test_commission_alerts_are_keyed_by_approval(services):
    ctx = await as_(services, "service")
    first = await digest.ALERTS["astakos.commissions"](ctx)
    assert [i.key for i in first] == [f"astakos:prod:commission:{s}" for s in CYCLADES]
    for item in first:
        assert item.approvals == [item.key]
        assert all(str(x["block_id"]).startswith(card_prefix(item.key)) for x in item.blocks)
    client = services.platforms["astakos"].client("prod")
    await client.accept_commission(token=DEMO["service"]["token"], serial=57)
    second = await digest.ALERTS["astakos.commissions"](ctx)
    assert [i.key for i in second] == [f"astakos:prod:commission:{s}" for s in (56, 58, 59)]


async def test_commission_alerts_need_a_service_token(services, astakos):
    ctx = await as_(services, "alice")
    astakos.requests.clear()
    with pytest.raises(errors.Forbidden) as raised:
        await digest.ALERTS["astakos.commissions"](ctx)
    assert "needs a service token" in raised.value.detail
    assert not astakos.requests  # told without asking Astakos


# -- user token: quotas and applications -----------------------------------------------------


async def test_user_token_section_has_quotas_and_application_cards(services):
    section = await digest.section(await as_(services, "alice"))
    body = readable(section)
    assert not section.empty
    assert "Quotas over 80 %" in body
    assert "Virtual Machine" in body and "chem.example.org" in body
    assert "2* project application(s) waiting" in body
    assert "bio.example.org" in body and "astro.example.org" in body
    assert "Approve" in body and "Deny" in body
    assert section.approvals == card_ids(section.blocks)
    assert len(section.approvals) == 2
    assert all(a.startswith("astakos:prod:application:") for a in section.approvals)
    assert len(section.blocks) <= SECTION_BUDGET


async def test_application_alerts_are_stable(services):
    ctx = await as_(services, "alice")
    first = await digest.ALERTS["astakos.applications"](ctx)
    second = await digest.ALERTS["astakos.applications"](ctx)
    assert [i.key for i in first] == [i.key for i in second]
    assert len(first) == 2
    assert all(i.approvals == [i.key] for i in first)


async def test_bob_sees_his_forced_commission_push_him_over(services):
    # Bob's own quota: 1 VM used + 2 pending from a forced commission, limit 2.
    section = await digest.section(await as_(services, "bob"))
    body = readable(section)
    assert "Virtual Machine" in body and "personal (system)" in body
    assert BOB not in body


async def test_membership_requests_are_an_alert_and_a_section_part_for_owners(services, astakos):
    alice = await as_(services, "alice")  # owns chem and bio
    items = await digest.ALERTS["astakos.memberships"](alice)
    requested = sorted(m.id for m in astakos.memberships.values() if m.state == "requested")
    assert [i.key for i in items] == [
        approval_id("astakos", "prod", "membership", str(m)) for m in requested
    ]
    assert (
        "membership request on Astakos (prod): carol@example.org in chem.example.org"
        in items[0].text
    )
    assert items[0].approvals == [items[0].key]
    section = await digest.section(alice)
    assert "membership request(s) waiting for you as project owner" in readable(section)
    bob = await as_(services, "bob")  # owns bio (among others), not chem
    owned = {pid for pid, p in astakos.projects.items() if p.fields.get("owner") == BOB}
    bobs = [i.key for i in await digest.ALERTS["astakos.memberships"](bob)]
    assert bobs == [
        approval_id("astakos", "prod", "membership", str(m))
        for m in requested
        if astakos.memberships[m].project in owned
    ]
    assert BIO in owned and CHEM not in owned and bobs
    with pytest.raises(errors.Forbidden):
        await digest.ALERTS["astakos.memberships"](await as_(services, "service"))


async def test_service_token_section_shows_its_resources_over_80_percent(services):
    section = await digest.section(await as_(services, "service"))
    body = readable(section)
    assert "Quotas over 80 % on cyclades's resources" in body
    assert "bob@example.org in dead0000…6666" in body
