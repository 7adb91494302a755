"""bot/blocks/astakos.py: /astakos whoami, quotas (nearest the limit first), projects, members
and the approval cards (commissions, project applications)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.approval_kinds import ApprovalRef
from bot.approvals import DONE, PENDING, Approval, when_text
from bot.blocks import astakos
from bot.blocks.time import slack_date
from bot.platforms.astakos.models import Endpoint, Grant, Membership, Project, Quota, UserInfo
from tests.blocks.kit import buttons, message_text

GIB = 1024**3
EXPIRES = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PROJECT = "8c8cd5a1-1a5b-4a3c-9d8e-0a1b2c3d4e5f"


def test_whoami_of_a_user_token_says_who_when_it_expires_and_the_endpoints():
    info = UserInfo(
        kind="user",
        name="Alice <A.>",
        uuid="4e2a1c4e-0000-4000-8000-000000000001",
        username="alice@example.org",
        projects=[PROJECT],
        expires=EXPIRES,
        endpoints=[Endpoint(service="cyclades_compute", type="compute", version="v2.0")],
    )
    shown = message_text(astakos.whoami("okeanos", info))
    assert "*User*\nAlice &lt;A.&gt;" in shown
    assert f"*Token expires*\n{slack_date(EXPIRES)}" in shown
    assert "*Member of*\n1 active project(s)" in shown
    assert "Service endpoints: cyclades_compute v2.0" in shown


def test_a_service_token_says_what_it_is_for():
    shown = message_text(astakos.whoami("okeanos", UserInfo(kind="service", name="cyclades")))
    assert "*Token*\nservice token" in shown and "`/astakos commissions`" in shown


def test_quotas_are_nearest_the_limit_first_with_bars_and_amounts_people_read():
    near = Quota(
        project=PROJECT, resource="cyclades.ram", limit=8 * GIB, usage=7 * GIB, pending=GIB
    )
    far = Quota(project=PROJECT, resource="cyclades.vm", limit=10, usage=1)
    # The project has less left than the member's own limit.
    squeezed = Quota(
        project=PROJECT,
        resource="cyclades.cpu",
        limit=16,
        usage=2,
        project_limit=8,
        project_usage=6,
    )
    shown = message_text(
        astakos.quotas("okeanos", [far, near, squeezed], {PROJECT: "Demo <lab>"}, None)
    )
    assert shown.index("*RAM*") < shown.index("*CPU*") < shown.index("*Virtual Machine*")
    assert ":large_orange_circle: `▓▓▓▓▓▓▓▓░░ 88%` *RAM* · Demo &lt;lab&gt;" in shown
    assert "7 GiB of 8 GiB used (pending 1 GiB)" in shown
    assert "2 of 4 used (own limit 16, the project has less left)" in shown
    assert "No quota: you are not an accepted member" in message_text(
        astakos.quotas("okeanos", [], {}, None)
    )


def commission(state: str, **changes) -> Approval:
    payload = astakos.CommissionPayload(
        serial=42,
        name="VM create <web-1>",
        issued="2026-11-29T08:00:00+00:00",
        provisions=[
            astakos.ProvisionLine(
                holder="alice@example.org", source=PROJECT, resource="cyclades.vm", quantity=1
            ),
            astakos.ProvisionLine(
                holder="alice@example.org",
                source=PROJECT,
                resource="cyclades.ram",
                quantity=2 * GIB,
            ),
        ],
    ).model_dump()
    values = {
        "id": "ap-42",
        "platform": "astakos",
        "instance": "okeanos",
        "kind": "commission",
        "target": "42",
        "state": state,
        "summary": "Commission 42",
        "payload": payload,
        "actor": "",
        "action": "",
        "acted_at": "",
        "result": "",
    }
    return Approval(**(values | changes))


def test_a_pending_commission_card_shows_its_changes_with_accept_and_reject():
    blocks = astakos.card(commission(PENDING), view="commissions")
    shown = message_text(blocks)
    issued = slack_date("2026-11-29T08:00:00+00:00")
    assert f"*Commission 42* · VM create &lt;web-1&gt; · issued {issued}" in shown
    assert f"• alice@example.org from {PROJECT}: +1 Virtual Machine, +2 GiB RAM" in shown
    accept, reject = buttons(blocks)
    assert ApprovalRef.model_validate_json(accept["value"]) == ApprovalRef(
        approval="ap-42", action="accept", view="commissions", arg=""
    )
    assert accept["confirm"]["text"]["text"].startswith(
        "Accept this commission? It runs with your own linked token."
    )
    assert reject["action_id"] == astakos.ASK_REASON
    assert "You can give a reason next." in reject["confirm"]["text"]["text"]


def test_a_settled_card_says_who_and_when_and_has_no_buttons():
    acted = "2026-11-29T18:05:00+00:00"
    blocks = astakos.card(commission(DONE, actor="U0BOB", action="accept", acted_at=acted))
    assert f":white_check_mark: *Accepted* by <@U0BOB> at {when_text(acted)}" in message_text(
        blocks
    )
    assert buttons(blocks) == []


def test_a_project_detail_shows_its_grants_dates_and_an_open_button():
    project = Project(
        id=PROJECT,
        state="active",
        name="Demo <lab>",
        creation_date=datetime(2026, 1, 10, tzinfo=UTC),
        end_date=datetime(2027, 1, 10, tzinfo=UTC),
        join_policy="moderated",
        leave_policy="auto",
        max_members=2**63 - 1,
        resources={"cyclades.ram": Grant(project_capacity=64 * GIB, member_capacity=8 * GIB)},
    )
    blocks = astakos.project_detail(
        "okeanos", project, "alice@example.org", [], ui="https://astakos.example.org/ui"
    )
    shown = message_text(blocks)
    assert shown.startswith("Demo <lab> (okeanos)")  # a header is plain text
    assert f"*Ends*\n{slack_date(project.end_date)}" in shown
    assert "*Max members*\nunlimited" in shown
    assert "• RAM: 64 GiB for the project, 8 GiB per member" in shown
    assert buttons(blocks)[0]["url"] == f"https://astakos.example.org/ui/projects/{PROJECT}"
    line = astakos.project_line(project, "alice@example.org")
    assert line.startswith(
        ":large_green_circle: *Demo &lt;lab&gt;* · active · owner alice@example.org"
    )


def test_members_list_each_with_their_state_since_when():
    since = datetime(2026, 11, 1, tzinfo=UTC)
    member = Membership.model_validate(
        {
            "id": 7,
            "user": "u-1",
            "project": PROJECT,
            "state": "accepted",
            "accepted": since.isoformat(),
        }
    )
    line = astakos.member_line(member, "bob <b>")
    assert line == f"• bob &lt;b&gt; · accepted since {slack_date(since)}"
    project = Project(id=PROJECT, state="active", name="Demo")
    shown = message_text(astakos.members("okeanos", project, [], [line]))
    assert shown.startswith("Members of Demo (okeanos)") and line in shown
