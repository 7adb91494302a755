"""bot/blocks/digest.py: each platform's digest section (within its block budget, lists cut
with "N more: `/cmd`") and the alert items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.approvals import PENDING
from bot.blocks import digest
from bot.blocks import limits as limits_blocks
from bot.blocks.time import slack_date
from bot.platforms.dss.models import Future, ScenarioRun
from bot.platforms.mstr.models import Project, ProjectNode, ServerVersions
from bot.platforms.squonk.models import Instance
from tests.blocks.kit import message_text
from tests.blocks.test_limits import PENDING_LIMIT, approval, incident

SINCE = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
MS = int(SINCE.timestamp() * 1000)


def running_task(n: int) -> Future:
    return Future.model_validate(
        {
            "jobId": f"J{n}",
            "alive": True,
            "runningTime": 61_000 * n,
            "jobDisplayName": f"task <{n}>",
        }
    )


FAILED_RUN = ScenarioRun.model_validate(
    {
        "runId": "run-1",
        "scenario": {"projectKey": "SALES", "id": "NIGHTLY", "name": "Nightly"},
        "start": MS,
        "end": MS + 60_000,
        "result": {"outcome": "FAILED"},
    }
)


def test_the_dss_section_lists_five_tasks_then_says_how_to_see_the_rest():
    blocks = digest.dss(
        [running_task(n) for n in range(1, 8)], [FAILED_RUN], SINCE, "in the last day"
    )
    shown = message_text(blocks)
    assert len(blocks) <= digest.SECTION_BUDGET
    assert "*Running tasks (7), longest first*" in shown
    assert ":arrows_counterclockwise: *task &lt;1&gt;* · 1m 01s · `J1`" in shown
    assert "task &lt;6&gt;" not in shown and "_2 more: `/dss futures`_" in shown
    assert f"*Failed scenario runs since {slack_date(SINCE)} (1)*" in shown
    assert (
        f":x: *SALES.NIGHTLY* (Nightly) · failed at {slack_date(SINCE + timedelta(minutes=1))}"
        " · run `run-1`"
    ) in shown


def test_a_quiet_section_says_so_in_one_line():
    assert message_text(digest.dss([], [], None, "in the last day")) == (
        "No task running, and no scenario run failed in the last day."
    )
    quiet = message_text(digest.limits(None, [], [], SINCE))
    assert quiet == (
        f"No new breach or warning since {slack_date(SINCE)}, and no limit is waiting for approval."
    )


def test_the_limits_section_keeps_whole_cards_within_its_budget_and_counts_the_rest():
    cards = [limits_blocks.card(approval(PENDING, id=f"ap-{n}")) for n in range(4)]
    blocks = digest.limits("2026-11-28", [incident(1), incident(2, "Warning")], cards, SINCE)
    shown = message_text(blocks)
    assert len(blocks) <= digest.SECTION_BUDGET
    assert "New breaches and warnings as of 2026-11-28 (1 breach(es), 1 warning(s))" in shown
    assert "· Book = B-001 · 1,250,000.50 of 1,000,000 (125%) · `inc-1`" in shown
    assert "*4* limit(s) waiting for approval:" in shown
    shown_ids = digest.shown_approvals(blocks, [f"ap-{n}" for n in range(4)])
    assert 1 <= len(shown_ids) < 4
    assert f"{4 - len(shown_ids)} more: `/limits pending`" in shown
    assert PENDING_LIMIT.limit_id in shown


def test_the_squonk_section_shows_running_and_failed_instances():
    running = Instance(
        id="i-1",
        name="nop",
        project_id="p-1",
        phase="RUNNING",
        run_time="0:05:00",
        job_collection="im-test",
        job_job="nop",
        job_version="1.0.0",
    )
    failed = Instance(
        id="i-2",
        name="coins <x>",
        project_id="p-1",
        phase="FAILED",
        stopped="2026-11-28T10:00:00",
        error_message="exit 1",
    )
    shown = message_text(digest.squonk([running], [failed], {"p-1": "Demo"}, SINCE, "today"))
    assert "*nop* · Demo · im-test/nop@1.0.0 · RUNNING · run time 5m 00s" in shown
    assert (
        f"*coins &lt;x&gt;* · Demo · stopped {slack_date(datetime(2026, 11, 28, 10, 0))} · exit 1"
        in shown
    )


def test_the_strategy_one_section_names_projects_not_loaded_everywhere():
    projects = [
        Project(
            id="P1",
            name="Sales",
            nodes=(ProjectNode("n1", "loaded"), ProjectNode("n2", "unloaded")),
        ),
        Project(id="P2", name="HR", nodes=(ProjectNode("n1", "loaded"),)),
    ]
    shown = message_text(digest.mstr(ServerVersions("11.4", "11.4"), 42.4, projects))
    assert ":large_green_circle: Reachable · 42 ms · I-Server 11.4 · web 11.4" in shown
    assert "*Projects not loaded everywhere (1)*\n:white_circle: *Sales* · n2: unloaded" in shown


def test_alerts_are_one_escaped_line_with_their_dates():
    text, blocks = digest.breach_alert("risk", incident(3))
    assert text.startswith("Atoti Limits (risk), as of 2026-11-28: :red_circle: *Breach*")
    assert message_text(blocks) == text
    text, _ = digest.limits_back("risk", SINCE)
    assert (
        text
        == f":large_green_circle: Atoti Limits (risk) answers again (up since {slack_date(SINCE)})."
    )
    text, _ = digest.limits_server_change("risk", "cube <1>", None, gone=True)
    assert "Atoti server *cube &lt;1&gt;* dropped off the connected list" in text
    text, _ = digest.future_alert(
        "prod", running_task(2).model_copy(update={"alive": False, "error": "<boom>"})
    )
    assert "ended: *failed* after 2m 02s. Failed: &lt;boom&gt;." in text
    text, _ = digest.mstr_down("bi", "no answer within 2 s")
    assert text == ":red_circle: Strategy One (bi) is unreachable: no answer within 2 s"
