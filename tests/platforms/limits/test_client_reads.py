"""LimitsClient reads against the emulator over loopback HTTP: what `/limits status`,
`breaches`, `limit` and `pending` will show. These tests change nothing, so they share one
emulator."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from bot import errors
from bot.platforms.limits.client import describe_scope
from emulators.limits import BUSY_DATE, DEMO, LATEST_DATE

from .conftest import credential_for


@pytest.fixture
def emulator(shared_emulator):
    return shared_emulator


async def test_status_reports_start_time_as_of_date_and_connected_servers(client, bob, emulator):
    status = await client.status(bob)
    assert status.started_at.timestamp() == pytest.approx(emulator.start_time_ms / 1000)
    assert status.as_of_date == LATEST_DATE
    servers = {s.name: s for s in status.servers}
    assert set(servers) == {"atoti", "risk-eu"}
    assert servers["atoti"].connected and servers["atoti"].cubes == ("Cars_Cube",)
    assert servers["risk-eu"].cubes == ("PnL", "Risk")
    assert sum(s.pending_approvals for s in status.servers) == 5


async def test_breaches_default_to_the_latest_date_breaches_first_worst_first(client, bob):
    result = await client.breaches(bob)
    assert result.as_of == LATEST_DATE and result.as_of_dates[-1] == LATEST_DATE
    kinds = [i.kind for i in result.incidents]
    assert kinds == sorted(kinds, key=lambda k: k != "Breach") and set(kinds) == {
        "Breach",
        "Warning",
    }
    breaches = [i for i in result.incidents if i.kind == "Breach"]
    assert [b.utilization for b in breaches] == sorted(
        (b.utilization for b in breaches), reverse=True
    )
    first = result.incidents[0]
    assert first.measure and first.limit_value and first.measure_value > first.limit_value
    assert result.breach_count + result.warning_count == len(result.incidents)


async def test_breaches_of_the_busy_date_are_all_returned(client, bob):
    result = await client.breaches(bob, as_of=BUSY_DATE)
    assert result.as_of == BUSY_DATE and len(result.incidents) == 120
    assert {i.measure for i in result.incidents} <= {
        "Notional.SUM",
        "Exposure.SUM",
        "Price.SUM",
        "VaR.99",
        "PnL.SUM",
    }


async def test_a_date_without_incidents_gives_an_empty_list_and_the_known_dates(client, bob):
    result = await client.breaches(bob, as_of=date(2025, 6, 1))
    assert result.as_of == "2025-06-01" and result.incidents == ()
    assert BUSY_DATE in result.as_of_dates


async def test_limit_shows_structure_scope_and_latest_incident(client, bob):
    view = await client.limit(bob, limit_id="L-6")
    assert (view.status, view.limit_type, view.value, view.scope) == (
        "APPROVED",
        "OFFICIAL",
        2_500_000,
        "Desk = Bonds",
    )
    assert view.structure.name == "Desk VaR" and view.structure.measure == "VaR.99"
    assert view.structure.kpi_type == "Greater Than"
    assert view.latest is not None and view.latest.as_of == LATEST_DATE
    assert view.latest.limit_id == "L-6"


async def test_limit_lists_its_temporary_limits(client, bob):
    view = await client.limit(bob, limit_id="L-8")
    assert view.temporary == ("L-28",)
    temporary = await client.limit(bob, limit_id="L-28")
    assert temporary.limit_type == "TEMPORARY" and temporary.end == "2026-01-31"


async def test_a_limit_never_breached_has_no_latest_incident(client, bob):
    view = await client.limit(bob, limit_id="L-4")
    assert view.latest is None and view.status == "PENDING"
    assert [a.name for a in view.actions] == ["Approve", "Reject"]


async def test_the_latest_incident_is_asked_as_the_ui_asks(client, bob, emulator):
    view = await client.limit(bob, limit_id="L-6")
    assert view.latest is not None and view.incidents_known
    [asked] = [r for r in emulator.requests if r.path.endswith("/incidents/filter-with-variables")]
    sent = json.loads(asked.body)["incidentConditions"]
    # By as-of date and type (hooks/useGetFilteredLimitEvaluations.js), never by limit id.
    assert {c["fieldName"] for c in sent} == {"As Of Date", "Incident Type"}
    assert not [r for r in emulator.requests if r.path.endswith("/incidents/all/filter")]


async def test_a_failing_incident_search_leaves_the_limit_readable(client, bob, emulator):
    emulator.faults.set(status=500, path_prefix="/limits/rest/v2/incidents")
    view = await client.limit(bob, limit_id="L-6")
    assert view.status == "APPROVED" and view.latest is None and not view.incidents_known
    assert view.history  # the rest of the page is still there


async def test_a_limit_carries_its_workflow_history_oldest_first(client, bob):
    view = await client.limit(bob, limit_id="L-4")
    [requested] = view.history
    assert (requested.user, requested.activity, requested.status) == (
        "bob",
        "startEvent",
        "PENDING",
    )
    assert requested.variables == (("Comment", "new limit requested by bob"),)
    approved = await client.limit(bob, limit_id="L-6")
    assert [(h.user, h.action) for h in approved.history] == [
        ("user1", None),
        ("manager1", "Approve"),
    ]


async def test_the_version_is_public(client):
    assert await client.versions() == "6.2.2"


async def test_an_unknown_limit_is_not_found(client, bob):
    with pytest.raises(errors.NotFound, match="L-999"):
        await client.limit(bob, limit_id="L-999")


async def test_a_limit_id_cannot_escape_its_path_segment(client, bob, emulator):
    with pytest.raises(errors.NotFound):
        await client.limit(bob, limit_id="../structure/get/x")
    # sent as one escaped segment, so no `..` climbed out of limits/get/
    assert [r.path for r in emulator.requests] == [
        "/limits/rest/v2/limitDefinition/limits/get/../structure/get/x"
    ]
    with pytest.raises(errors.UserError):
        await client.limit(bob, limit_id="..")


async def test_pending_lists_each_waiting_limit_once_with_its_actions(client, alice, bob):
    pending = {p.limit_id: p for p in await client.pending(alice)}
    assert set(pending) == {"L-4", "L-10", "L-16", "L-17", "L-22"}
    assert pending["L-16"].status == "PENDING_DELETION"
    assert pending["L-4"].structure == "Car price cap" and pending["L-4"].server == "atoti"
    assert pending["L-4"].scope == "CarName = Corolla" and pending["L-4"].value == 35_000
    assert all(p.can_act for p in pending.values())
    # bob sees the same limits, but the server offers him no enabled action
    assert not any(p.can_act for p in await client.pending(bob))


async def test_an_approved_limit_has_nothing_to_approve(client, alice):
    with pytest.raises(errors.Conflict, match="APPROVED"):
        await client.approve(alice, limit_id="L-1")


async def test_a_wrong_password_is_unauthorized_and_the_password_never_shows(client):
    wrong = credential_for("alice", "s3cret-wrong-pw")
    with pytest.raises(errors.Unauthorized) as caught:
        await client.breaches(wrong)
    assert "s3cret" not in str(caught.value) and "s3cret" not in repr(wrong)


async def test_an_unreadable_stored_secret_is_unauthorized_without_echoing_it(client):
    broken = replace(credential_for("alice", "x"), secret="hunter2-not-json")
    with pytest.raises(errors.Unauthorized) as caught:
        await client.pending(broken)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_unavailable(client, bob, emulator, status):
    emulator.faults.set(status=status)
    with pytest.raises(errors.Unavailable):
        await client.breaches(bob)


def test_scopes_read_as_text():
    assert (
        describe_scope(
            {
                "Desk@Desk@Desk": {
                    "values": [{"Desk@Desk@Desk": "Bonds"}, {"Desk@Desk@Desk": "FX"}],
                    "scopeType": "NOT EQUALS",
                }
            }
        )
        == "Desk ≠ Bonds, FX"
    )
    assert describe_scope({"Desk": ["Bonds", "Balance Sheet Management"]}) == (
        "Desk = Bonds, Balance Sheet Management"
    )
    assert describe_scope({}) == "total"


def test_demo_users_are_an_approver_and_an_ordinary_user():
    assert "ROLE_MANAGERS" in DEMO["alice"]["roles"]
    assert "ROLE_MANAGERS" not in DEMO["bob"]["roles"]
