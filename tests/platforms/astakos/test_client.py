"""AstakosClient against the emulator over loopback HTTP: every method, the token-kind rule,
error mapping and faults."""

from __future__ import annotations

from typing import Any

import pytest

from bot import errors
from bot.blocks.astakos import closeness
from bot.platforms.astakos.client import AstakosClient
from emulators.astakos import ALICE, ASTRO, BIO, BOB, CAROL, CHEM, DEMO, OTHER_TOKENS, Holding

GiB = 1024**3


async def test_authenticate_a_user_token(client, alice):
    info = await client.authenticate(token=alice)
    assert (info.kind, info.uuid, info.name, info.username) == (
        "user",
        ALICE,
        "Alice Example",
        "alice@example.org",
    )
    assert CHEM in info.projects
    assert {"astakos_account", "cyclades_compute"} <= {e.service for e in info.endpoints}


async def test_authenticate_a_service_token(client, service):
    info = await client.authenticate(token=service)
    assert (info.kind, info.name, info.uuid) == ("service", "cyclades", None)


async def test_authenticate_a_bad_token_is_unauthorized(client):
    with pytest.raises(errors.Unauthorized) as caught:
        await client.authenticate(token="not-a-token")
    assert caught.value.detail == "Invalid token"
    assert "not-a-token" not in str(caught.value)


async def test_requests_use_the_auth_url_host_not_the_catalog_host(astakos, client, alice):
    await client.quotas(token=alice)
    assert astakos.requests_to("GET", "/account/v1.0/quotas")
    assert all(r.headers.get("x-auth-token") is not None for r in astakos.requests)


async def test_user_quotas_and_how_close_to_the_limit(client, alice):
    quotas = await client.quotas(token=alice)
    chem_ram = next(q for q in quotas if q.project == CHEM and q.resource == "cyclades.ram")
    assert (chem_ram.limit, chem_ram.usage, chem_ram.pending) == (16 * GiB, 16 * GiB, 2 * GiB)
    assert closeness(chem_ram) == 1.0
    assert any(0.8 < closeness(q) < 1 for q in quotas)  # the digest's "over 80 %"


async def test_quotas_for_one_project_by_id_or_name(client, alice):
    by_id = await client.quotas(token=alice, project=BIO)
    by_name = await client.quotas(token=alice, project="bio.example.org")
    assert by_id == by_name and {q.project for q in by_id} == {BIO}
    with pytest.raises(errors.NotFound):
        await client.quotas(token=alice, project="nowhere.example.org")


async def test_service_quotas(client, service):
    member = await client.service_quotas(token=service, user=BOB)
    assert {q.holder for q in member} == {BOB}
    assert {q.resource.split(".")[0] for q in member} == {"cyclades"}
    projects = await client.service_project_quotas(token=service, project=CHEM)
    vm = next(q for q in projects if q.resource == "cyclades.vm")
    assert (vm.limit, vm.usage, vm.pending, vm.holder) == (10, 7, 1, None)


async def test_a_user_token_on_a_service_call_is_forbidden_with_a_clear_detail(client, alice):
    for call in (
        client.pending_commissions(token=alice),
        client.resolve_commissions(token=alice, accept=[56]),
        client.service_quotas(token=alice),
    ):
        with pytest.raises(errors.Forbidden) as caught:
            await call
        assert "needs a service token" in caught.value.detail


async def test_a_service_token_on_a_user_call_is_forbidden(client, service):
    with pytest.raises(errors.Forbidden) as caught:
        await client.quotas(token=service)
    assert "needs a user token" in caught.value.detail


async def test_a_bad_token_on_a_service_call_stays_unauthorized(client):
    with pytest.raises(errors.Unauthorized):
        await client.pending_commissions(token="garbage")


async def test_pending_commissions_and_their_provisions(client, service):
    assert await client.pending_commissions(token=service) == [56, 57, 58, 59]
    c = await client.commission(token=service, serial=56)
    assert c.name == "create vm alice-web-3" and c.issue_time.tzinfo is not None
    vm = [p for p in c.provisions if p.resource == "cyclades.vm"]
    assert {(p.holder, p.source, p.quantity) for p in vm} == {
        (f"user:{ALICE}", f"project:{CHEM}", 1),
        (f"project:{CHEM}", None, 1),
    }
    details = await client.pending_commission_details(token=service)
    assert [d.serial for d in details] == [56, 57, 58, 59]


async def test_accept_and_reject_move_the_quota(astakos, client, service):
    alice_chem = (f"user:{ALICE}", f"project:{CHEM}", "cyclades.vm")
    await client.accept_commission(token=service, serial=56)
    assert astakos.quota(*alice_chem) == {"limit": 5, "usage": 5, "pending": 0}
    bob_chem_cpu = (f"user:{BOB}", f"project:{CHEM}", "cyclades.cpu")
    await client.reject_commission(token=service, serial=57)
    assert astakos.quota(*bob_chem_cpu) == {"limit": 16, "usage": 4, "pending": 0}
    assert await client.pending_commissions(token=service) == [58, 59]


async def test_acting_on_a_resolved_commission_is_a_conflict(client, service):
    await client.accept_commission(token=service, serial=56)
    with pytest.raises(errors.Conflict) as caught:
        await client.reject_commission(token=service, serial=56)
    assert "no longer pending" in caught.value.detail
    with pytest.raises(errors.NotFound):
        await client.commission(token=service, serial=56)


async def test_resolve_commissions_reports_partial_failures(client, service):
    result = await client.resolve_commissions(
        token=service, accept=[56, 999], reject=[57, 56], reason="bulk"
    )
    assert (result.accepted, result.rejected) == ([], [57])
    assert {(f.serial, f.status, f.fault) for f in result.failed} == {
        (999, 404, "itemNotFound"),
        (56, 400, "badRequest"),
    }
    assert await client.pending_commissions(token=service) == [56, 58, 59]


async def test_the_forced_commission_leaves_bob_over_his_limit_when_accepted(
    astakos, client, service, bob
):
    await client.accept_commission(token=service, serial=59)
    system_vm = next(
        q for q in await client.quotas(token=bob, project=BOB) if q.resource == "cyclades.vm"
    )
    assert (system_vm.usage, system_vm.limit, system_vm.pending) == (3, 2, 0)
    assert closeness(system_vm) > 1


async def issue_commission(
    client: AstakosClient, *, token: str, provisions: list[dict[str, Any]], name: str = ""
) -> int:
    """What Cyclades or Pithos do (the bot never issues a commission), through the client's
    calls and error mapping: over a limit, `Rejected` with the limit, usage and request."""
    body = {"force": False, "auto_accept": False, "name": name, "provisions": provisions}
    answer = await client._account_call(
        "POST", "/commissions", token=token, needs="service", body=body
    )
    return int(answer["serial"])


async def test_issue_commission_and_over_limit_is_rejected_with_the_reason(
    astakos, client, service
):
    for key in (
        (f"user:{CAROL}", f"project:{CAROL}", "cyclades.vm"),
        (f"project:{CAROL}", None, "cyclades.vm"),
    ):
        astakos.holdings[key] = Holding(limit=2, usage_min=1, usage_max=1)
    provisions = [
        {
            "holder": f"user:{CAROL}",
            "source": f"project:{CAROL}",
            "resource": "cyclades.vm",
            "quantity": 1,
        },
        {"holder": f"project:{CAROL}", "source": None, "resource": "cyclades.vm", "quantity": 1},
    ]
    serial = await issue_commission(client, token=service, provisions=provisions, name="vm 9")
    assert serial in await client.pending_commissions(token=service)
    with pytest.raises(errors.Rejected) as caught:
        await issue_commission(client, token=service, provisions=provisions, name="vm 10")
    assert caught.value.status == 413
    assert caught.value.detail == (
        f"Limit for resource 'Virtual Machine' exceeded for "
        f"user:{CAROL}. Available: 0, Requested: 1"
    )


async def test_issue_on_an_unknown_holding_is_not_found(client, service):
    with pytest.raises(errors.NotFound):
        await issue_commission(
            client,
            token=service,
            provisions=[
                {
                    "holder": "user:nobody",
                    "source": "project:nowhere",
                    "resource": "cyclades.vm",
                    "quantity": 1,
                }
            ],
        )


async def test_projects_by_state_and_pending_applications(client, alice, bob):
    active = await client.projects(token=alice, state="active")
    assert {"chem.example.org", "bio.example.org"} <= {p.name for p in active}
    assert all(p.state == "active" for p in active)
    pending = await client.pending_applications(token=alice)
    assert {p.name for p in pending} == {"bio.example.org", "astro.example.org"}
    # bob sees his own projects and applications, not carol's.
    assert {p.name for p in await client.pending_applications(token=bob)} == {"bio.example.org"}
    with pytest.raises(errors.UserError):
        await client.projects(token=alice, state="pending")


async def test_project_and_its_last_application(client, alice):
    project = await client.project(token=alice, project_id=ASTRO)
    assert project.state == "uninitialized"
    assert project.pending_application is not None
    assert project.pending_application.resources["cyclades.vm"].member_capacity == 4
    with pytest.raises(errors.NotFound):
        await client.project(token=alice, project_id="no-such-project")


async def test_approve_and_deny_applications(client, alice):
    astro = (await client.project(token=alice, project_id=ASTRO)).pending_application
    await client.application_action(
        token=alice, project_id=ASTRO, app_id=astro.id, action="approve", reason="welcome"
    )
    assert (await client.project(token=alice, project_id=ASTRO)).state == "active"
    bio = (await client.project(token=alice, project_id=BIO)).pending_application
    await client.application_action(
        token=alice, project_id=BIO, app_id=bio.id, action="deny", reason="not now"
    )
    after = await client.project(token=alice, project_id=BIO)
    assert after.last_application.state == "denied"
    assert after.resources["cyclades.vm"].project_capacity == 6  # unchanged
    with pytest.raises(errors.Conflict):
        await client.application_action(
            token=alice, project_id=BIO, app_id=bio.id, action="approve"
        )


async def test_an_ordinary_user_may_not_approve(client, bob):
    project = await client.project(token=bob, project_id=BIO)
    with pytest.raises(errors.Forbidden):
        await client.application_action(
            token=bob, project_id=BIO, app_id=project.pending_application.id, action="approve"
        )


async def test_memberships_and_accepting_a_request(client, alice):
    members = await client.memberships(token=alice, project_id=CHEM)
    assert {m.user: m.state for m in members}[CAROL] == "requested"
    request = next(m for m in members if m.state == "requested")
    assert "requested" in request.timestamps
    await client.membership_action(
        token=alice, membership_id=request.id, action="accept", reason="welcome"
    )
    after = await client.membership(token=alice, membership_id=request.id)
    assert after.state == "accepted" and "accepted" in after.timestamps


async def test_rejecting_a_request_and_a_bad_action(client, bob):
    request = next(
        m for m in await client.memberships(token=bob, project_id=BIO) if m.state == "requested"
    )
    await client.membership_action(token=bob, membership_id=request.id, action="reject")
    with pytest.raises(errors.Conflict):
        await client.membership_action(token=bob, membership_id=request.id, action="accept")
    with pytest.raises(errors.UserError):
        await client.membership_action(token=bob, membership_id=request.id, action="explode")


async def test_uuid_and_username_catalogs(client, alice, service):
    assert await client.usernames(token=alice, uuids=[BOB, "unknown"]) == {BOB: "bob@example.org"}
    assert await client.uuids(token=alice, usernames=["carol@example.org"]) == {
        "carol@example.org": CAROL
    }
    assert await client.usernames(token=service, uuids=[ALICE], as_service=True) == {
        ALICE: "alice@example.org"
    }
    with pytest.raises(errors.Forbidden):
        await client.usernames(token=alice, uuids=[ALICE], as_service=True)


async def test_expired_token_is_unauthorized(client, astakos_clock, alice):
    astakos_clock.advance(31 * 24 * 3600)
    with pytest.raises(errors.Unauthorized) as caught:
        await client.quotas(token=alice)
    assert "expired" in caught.value.detail


async def test_server_error_is_unavailable(astakos, client, alice):
    astakos.faults.set(status=500)
    with pytest.raises(errors.Unavailable) as caught:
        await client.quotas(token=alice)
    assert caught.value.detail == "injected fault 500"


async def test_a_hanging_server_is_unavailable_after_the_timeout(astakos, alice):
    quick = AstakosClient(instance="grnet", auth_url=f"{astakos.url}/identity/v2.0", timeout=0.3)
    try:
        await quick.catalog()
        astakos.faults.set(hang=True)
        with pytest.raises(errors.Unavailable) as caught:
            await quick.quotas(token=alice)
        assert "no answer within 0.3 s" in caught.value.detail
    finally:
        astakos.faults.clear()
        await quick.aclose()


async def test_a_catalog_without_the_account_endpoint_is_unavailable(astakos, client, alice):
    astakos.components["astakos"].services = [
        s for s in astakos.components["astakos"].services if s["name"] != "astakos_account"
    ]
    with pytest.raises(errors.Unavailable):
        await client.quotas(token=alice)


async def test_tokens_never_appear_in_errors(client, astakos):
    secret = OTHER_TOKENS["erin"]
    with pytest.raises(errors.Unauthorized) as caught:
        await client.authenticate(token=secret)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    astakos.faults.set(status=503)
    with pytest.raises(errors.Unavailable) as caught:
        await client.quotas(token=DEMO["alice"]["token"])
    assert DEMO["alice"]["token"] not in str(caught.value)
