"""The emulator against the protocol: quota arithmetic (§3), commission endpoints (§2.11-2.15),
tokens (§1.6, §2.1-2.2), error bodies and routing (§1.4, §4.2)."""

from __future__ import annotations

import pytest

from emulators.astakos import ALICE, BOB, CAROL, CHEM, DEMO, OTHER_TOKENS, Holding

ACCOUNT = "/account/v1.0"
VM = "cyclades.vm"
USER_C = (f"user:{CAROL}", f"project:{CAROL}", VM)
PROJ_C = (f"project:{CAROL}", None, VM)


def vm(holder_uuid: str, project: str, quantity: int) -> list[dict]:
    return [
        {
            "holder": f"user:{holder_uuid}",
            "source": f"project:{project}",
            "resource": VM,
            "quantity": quantity,
        },
        {"holder": f"project:{project}", "source": None, "resource": VM, "quantity": quantity},
    ]


@pytest.fixture
def worked(astakos):
    """The spec's worked example: limit 2, usage 1 (carol's system project)."""
    for key in (USER_C, PROJ_C):
        astakos.holdings[key] = Holding(limit=2, usage_min=1, usage_max=1)
    return astakos


def issue(raw, service, provisions, **extra):
    return raw(
        "POST",
        f"{ACCOUNT}/commissions",
        service,
        {"force": False, "auto_accept": False, "name": "t", "provisions": provisions, **extra},
    )


def test_worked_example_issue_then_accept(worked, raw, service):
    r = issue(raw, service, vm(CAROL, CAROL, 1))
    assert r.status_code == 201
    serial = r.json()["serial"]
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 2, "pending": 1}
    assert worked.quota(*PROJ_C) == {"limit": 2, "usage": 2, "pending": 1}
    r = raw("POST", f"{ACCOUNT}/commissions/{serial}/action", service, {"accept": ""})
    assert (r.status_code, r.content) == (200, b"")
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 2, "pending": 0}
    assert worked.commission(serial) is None


def test_worked_example_reject_restores_usage(worked, raw, service):
    serial = issue(raw, service, vm(CAROL, CAROL, 1)).json()["serial"]
    raw("POST", f"{ACCOUNT}/commissions/{serial}/action", service, {"reject": ""})
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 1, "pending": 0}
    assert worked.quota(*PROJ_C) == {"limit": 2, "usage": 1, "pending": 0}


def test_over_limit_is_413_with_the_spec_body_and_changes_nothing(worked, raw, service):
    issue(raw, service, vm(CAROL, CAROL, 1))
    before = dict(worked.commissions)
    r = issue(raw, service, vm(CAROL, CAROL, 1))
    assert r.status_code == 413
    fault = r.json()["overLimit"]
    assert fault["code"] == 413
    assert fault["data"] == {
        "name": "NoCapacityError",
        "limit": 2,
        "usage": 2,
        "provision": {
            "holder": f"user:{CAROL}",
            "source": f"project:{CAROL}",
            "resource": VM,
            "quantity": 1,
        },
    }
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 2, "pending": 1}
    assert worked.commissions == before


def test_issue_is_all_or_nothing(worked, raw, service):
    # The user provision fits, the project one does not: neither may stay applied.
    worked.holdings[PROJ_C] = Holding(limit=1, usage_min=1, usage_max=1)
    r = issue(raw, service, vm(CAROL, CAROL, 1))
    assert r.status_code == 413
    assert r.json()["overLimit"]["data"]["provision"]["holder"] == f"project:{CAROL}"
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 1, "pending": 0}


def test_duplicate_keys_are_summed_before_the_check(worked, raw, service):
    one = vm(CAROL, CAROL, 1)[0]
    r = issue(raw, service, [one, one])
    assert r.status_code == 413
    assert r.json()["overLimit"]["data"]["provision"]["quantity"] == 2


def test_force_allows_going_over_the_limit(worked, raw, service):
    r = issue(raw, service, vm(CAROL, CAROL, 3), force=True)
    assert r.status_code == 201
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 4, "pending": 3}
    raw("POST", f"{ACCOUNT}/commissions/{r.json()['serial']}/action", service, {"accept": ""})
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 4, "pending": 0}


def test_release_moves_usage_min_and_cannot_go_below_zero(worked, raw, service):
    r = issue(raw, service, vm(CAROL, CAROL, -1))
    serial = r.json()["serial"]
    # usage (= usage_max) stays until accepted; pending = usage_max - usage_min.
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 1, "pending": 1}
    r = issue(raw, service, vm(CAROL, CAROL, -1), force=True)
    assert r.status_code == 413
    data = r.json()["overLimit"]["data"]
    assert (data["name"], data["limit"], data["usage"], data["provision"]["quantity"]) == (
        "NoQuantityError",
        0,
        0,
        -1,
    )
    raw("POST", f"{ACCOUNT}/commissions/{serial}/action", service, {"accept": ""})
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 0, "pending": 0}


def test_rejecting_a_release_gives_the_quantity_back(worked, raw, service):
    serial = issue(raw, service, vm(CAROL, CAROL, -1)).json()["serial"]
    raw("POST", f"{ACCOUNT}/commissions/{serial}/action", service, {"reject": ""})
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 1, "pending": 0}


def test_unknown_holding_is_404_no_holding(raw, service):
    r = issue(raw, service, vm(CAROL, "00000000-0000-4000-8000-000000000000", 1))
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["data"]["name"] == "NoHoldingError"


def test_auto_accept_returns_a_serial_that_is_not_pending(worked, raw, service):
    serial = issue(raw, service, vm(CAROL, CAROL, 1), auto_accept=True).json()["serial"]
    assert serial not in raw("GET", f"{ACCOUNT}/commissions", service).json()
    assert worked.quota(*USER_C) == {"limit": 2, "usage": 2, "pending": 0}


def test_malformed_issue_is_400_without_details(raw, service):
    r = issue(raw, service, [{"holder": "user:x", "resource": VM, "quantity": "1"}])
    assert r.status_code == 400
    assert set(r.json()["badRequest"]) == {"code", "message"}


def test_resolved_or_unknown_serials_are_404_with_an_empty_body(astakos, raw, service):
    assert (
        raw("POST", f"{ACCOUNT}/commissions/56/action", service, {"accept": ""}).status_code == 200
    )
    for method, path, body in [
        ("GET", "/commissions/56", None),
        ("POST", "/commissions/56/action", {"accept": ""}),
        ("GET", "/commissions/9999", None),
    ]:
        r = raw(method, ACCOUNT + path, service, body)
        assert (r.status_code, r.content) == (404, b"")


def test_commissions_are_visible_only_to_their_component(astakos, raw, service):
    pithos = OTHER_TOKENS["pithos"]
    cyclades_serials = raw("GET", f"{ACCOUNT}/commissions", service).json()
    pithos_serials = raw("GET", f"{ACCOUNT}/commissions", pithos).json()
    assert cyclades_serials and pithos_serials
    assert not set(cyclades_serials) & set(pithos_serials)
    assert raw("GET", f"{ACCOUNT}/commissions/{pithos_serials[0]}", service).status_code == 404


def test_commission_action_needs_exactly_one_of_accept_or_reject(raw, service):
    for body in ({}, {"accept": "", "reject": ""}):
        assert raw("POST", f"{ACCOUNT}/commissions/56/action", service, body).status_code == 400


def test_resolve_reports_partial_failures_like_the_server(astakos, raw, service):
    before = astakos.quota(f"user:{ALICE}", f"project:{CHEM}", VM)
    r = raw(
        "POST",
        f"{ACCOUNT}/commissions/action",
        service,
        {"accept": [56, 57], "reject": [57, 999, 58]},
    )
    assert r.status_code == 200
    assert r.json() == {
        "accepted": [56],
        "rejected": [58],
        "failed": [
            [999, {"itemNotFound": {"code": 404, "message": "serial 999 does not exist"}}],
            [
                57,
                {"badRequest": {"code": 400, "message": "cannot both accept and reject serial 57"}},
            ],
        ],
    }
    after = astakos.quota(f"user:{ALICE}", f"project:{CHEM}", VM)
    assert after == {**before, "pending": before["pending"] - 1}
    assert astakos.commission(57) is not None  # the conflicting one stays pending


def test_resolve_with_non_integer_serials_is_400(raw, service):
    r = raw("POST", f"{ACCOUNT}/commissions/action", service, {"accept": ["56"]})
    assert r.status_code == 400 and "badRequest" in r.json()


def test_a_user_token_on_a_service_endpoint_is_401_invalid_token(raw, alice):
    for method, path in [
        ("GET", "/commissions"),
        ("GET", "/service_quotas"),
        ("POST", "/service/user_catalogs"),
    ]:
        r = raw(method, ACCOUNT + path, alice, {} if method == "POST" else None)
        assert r.status_code == 401
        assert r.json()["unauthorized"]["message"] == "Invalid X-Auth-Token"


def test_a_service_token_on_a_user_endpoint_is_401(raw, service):
    assert raw("GET", f"{ACCOUNT}/quotas", service).status_code == 401


def test_missing_token_is_401(raw):
    r = raw("GET", f"{ACCOUNT}/quotas")
    assert r.status_code == 401 and "No authentication token" in r.text


def test_quotas_report_usage_including_pending_per_project(raw, alice):
    quotas = raw("GET", f"{ACCOUNT}/quotas", alice).json()
    chem_vm = quotas[CHEM][VM]
    # committed 4 + pending 1 (commission 56), member limit 5; project: 4 + 2 (bob) + 1 of 10.
    assert chem_vm == {
        "limit": 5,
        "usage": 5,
        "pending": 1,
        "project_limit": 10,
        "project_usage": 7,
        "project_pending": 1,
    }
    assert ALICE in quotas  # the system project
    assert "9d5a6b7c-0000-4000-8000-000000000046" not in quotas  # terminated project


def test_service_quotas_only_cover_the_callers_resources(raw, service):
    answer = raw("GET", f"{ACCOUNT}/service_quotas?user={BOB}", service).json()
    assert set(answer) == {BOB}
    resources = {r for per_project in answer[BOB].values() for r in per_project}
    assert resources and all(r.startswith("cyclades.") for r in resources)
    r = raw("GET", f"{ACCOUNT}/service_quotas?user=nobody", service)
    assert r.status_code == 404


def test_public_catalog_without_a_body_and_authenticate_with_one(raw, alice):
    public = raw("POST", "/identity/v2.0/tokens", None, None)
    assert set(public.json()["access"]) == {"serviceCatalog"}
    r = raw("POST", "/identity/v2.0/tokens", None, {"auth": {"token": {"id": alice}}})
    access = r.json()["access"]
    assert access["user"]["id"] == ALICE and access["token"]["tenant"]["id"] == ALICE
    assert CHEM in access["user"]["projects"]
    account = next(e for e in access["serviceCatalog"] if e["name"] == "astakos_account")
    assert account["endpoints"][0]["versionId"] == "v1.0"
    assert r.headers["content-type"].startswith("application/json")


def test_token_expiry_follows_the_clock(astakos, astakos_clock, raw, alice):
    assert raw("GET", f"{ACCOUNT}/quotas", alice).status_code == 200
    astakos_clock.advance(31 * 24 * 3600)
    r = raw("GET", f"{ACCOUNT}/quotas", alice)
    assert r.status_code == 401 and "expired" in r.json()["unauthorized"]["message"]


def test_wrong_tenant_and_inactive_user(raw, alice):
    r = raw(
        "POST", "/identity/v2.0/tokens", None, {"auth": {"token": {"id": alice}, "tenantName": BOB}}
    )
    assert r.status_code == 400
    r = raw(
        "POST", "/identity/v2.0/tokens", None, {"auth": {"token": {"id": OTHER_TOKENS["erin"]}}}
    )
    assert r.status_code == 401 and r.json()["unauthorized"]["message"] == "User inactive"


def test_routing_trailing_slash_unknown_path_and_wrong_method(raw, service):
    assert raw("GET", f"{ACCOUNT}/commissions/", service).status_code == 200
    r = raw("GET", f"{ACCOUNT}/no_such_thing", service)
    assert r.status_code == 400 and r.json()["badRequest"]["message"] == "API endpoint not found"
    r = raw("PUT", f"{ACCOUNT}/commissions", service)
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    assert "notAllowed" in r.json()


def test_accepting_a_membership_request_creates_the_member_holding(astakos, raw, alice):
    carol_chem = (f"user:{CAROL}", f"project:{CHEM}", VM)
    assert carol_chem not in astakos.holdings
    pending = [
        m
        for m in raw("GET", f"{ACCOUNT}/projects/memberships?project={CHEM}", alice).json()
        if m["state"] == "requested"
    ]
    assert [m["user"] for m in pending] == [CAROL]
    assert set(pending[0]["allowed_actions"]) == {"accept", "reject"}
    r = raw(
        "POST",
        f"{ACCOUNT}/projects/memberships/{pending[0]['id']}/action",
        alice,
        {"accept": "welcome"},
    )
    assert (r.status_code, r.content) == (200, b"")
    assert astakos.quota(*carol_chem) == {"limit": 5, "usage": 0, "pending": 0}


def test_approving_a_new_project_activates_it(astakos, raw, alice):
    astro = "9d5a6b7c-0000-4000-8000-000000000044"
    app = raw("GET", f"{ACCOUNT}/projects/{astro}", alice).json()["last_application"]
    assert app["state"] == "pending"
    r = raw(
        "POST",
        f"{ACCOUNT}/projects/{astro}/action",
        alice,
        {"approve": {"reason": "ok", "app_id": app["id"]}},
    )
    assert r.status_code == 200
    project = raw("GET", f"{ACCOUNT}/projects/{astro}", alice).json()
    assert (project["state"], project["last_application"]["state"]) == ("active", "approved")
    assert astakos.quota(f"project:{astro}", None, VM)["limit"] == 8
    # Deciding twice is a state conflict.
    r = raw(
        "POST",
        f"{ACCOUNT}/projects/{astro}/action",
        alice,
        {"deny": {"reason": "no", "app_id": app["id"]}},
    )
    assert r.status_code == 409 and "conflict" in r.json()


def test_feedback_is_parsed_as_a_form_whatever_the_content_type(astakos, raw, alice):
    r = raw.http.post(
        f"{astakos.url}{ACCOUNT}/feedback",
        content=b"feedback_msg=hi&feedback_data=x",
        headers={"X-Auth-Token": alice, "content-type": "application/octet-stream"},
    )
    assert r.status_code == 200
    assert astakos.feedback[-1]["message"] == "hi"


def test_demo_users_and_service(astakos):
    assert astakos.users[DEMO["alice"]["uuid"]].admin
    assert not astakos.users[DEMO["bob"]["uuid"]].admin
    assert astakos.components[DEMO["service"]["name"]].token == DEMO["service"]["token"]
