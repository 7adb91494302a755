"""bot/blocks/dss.py: /dss futures (Abort, Watch), jobs, scenarios and the watch messages;
platform data can never form a mention or a link."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.blocks import dss
from bot.blocks.dss import future_ended, run_started
from bot.blocks.time import slack_date
from bot.platforms.dss.models import Future, Job, Scenario, ScenarioRun
from tests.blocks.kit import buttons, message_text

UI = "https://dss.example.com"
STARTED = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
MS = int(STARTED.timestamp() * 1000)


def test_a_task_named_like_a_mention_is_escaped_in_the_watch_message():
    f = Future.model_validate(
        {
            "jobId": "J1",
            "alive": False,
            "hasResult": False,
            "jobDisplayName": "<!channel> export & co",
            "runningTime": 61000,
        }
    )
    f = f.model_copy(update={"error": "<@U0BOSS> said no"})
    text = future_ended("prod", f)
    assert "<!channel>" not in text and "<@U0BOSS>" not in text
    assert "&lt;!channel&gt; export &amp; co" in text and "1m 01s" in text


def test_run_started_escapes_what_the_person_typed():
    assert "&lt;!here&gt;" in run_started("prod", "<!here>", "X")


def future(**changes) -> Future:
    wire = {
        "jobId": "Zx9aB3cD",
        "alive": True,
        "hasResult": False,
        "startTime": MS,
        "runningTime": 3_725_000,
        "owner": "alice",
        "jobDisplayName": "Build <sales> & margins",
        "payload": {"projectKey": "SALES", "scenarioId": "NIGHTLY"},
    }
    return Future.model_validate(wire | changes)


def test_running_tasks_are_longest_first_with_a_confirmed_abort_and_watch():
    short = future(jobId="Q1", runningTime=5_000, jobDisplayName="quick")
    blocks = dss.futures("prod", [short, future()], all_users=True, ui=UI)
    shown = message_text(blocks)
    assert shown.startswith("Running tasks on prod (all users)")
    assert shown.index("Build &lt;sales&gt; &amp; margins") < shown.index("quick")
    assert "· alice\n`Zx9aB3cD` · running · 1h 02m" in shown
    abort, watch, *_ = buttons(blocks)
    assert dss.FutureRef.model_validate_json(abort["value"]) == dss.FutureRef(
        instance="prod", job_id="Zx9aB3cD", all=True
    )
    assert abort["confirm"]["text"]["text"] == (
        "Abort *Build &lt;sales&gt; &amp; margins* on prod? It runs with your own DSS key."
    )
    assert watch["action_id"] == dss.WATCH


def test_a_finished_task_shows_when_it_started_and_how_it_ended_without_buttons():
    done = future(alive=False, hasResult=False, error="Out of <memory>")
    blocks = dss.future_detail("prod", done)
    shown = message_text(blocks)
    assert f"Started {slack_date(STARTED)}" in shown
    assert "failed" in shown and "Failed: Out of &lt;memory&gt;" in shown
    assert [x["action_id"] for x in buttons(blocks)] == []
    assert message_text(dss.futures("prod", [], all_users=False)).endswith("Nothing is running.")


def test_jobs_show_state_and_type_in_words_when_started_and_what_they_build():
    job = Job.model_validate(
        {
            "jobId": "build_sales_2026-11-29T07-00",
            "projectKey": "SALES",
            "state": "RUNNING",
            "startTime": MS,
            "def": {
                "type": "NON_RECURSIVE_FORCED_BUILD",
                "initiator": "alice",
                "outputs": [{"targetDataset": "sales_<clean>"}],
            },
        }
    )
    blocks = dss.jobs("prod", [job], "SALES", ui=UI)
    shown = message_text(blocks)
    assert f"running · forced build · by alice · started {slack_date(STARTED)}" in shown
    assert "Outputs: sales_&lt;clean&gt;" in shown
    assert buttons(blocks)[0]["url"] == f"{UI}/projects/SALES/jobs/build_sales_2026-11-29T07-00/"


def test_scenarios_say_their_state_and_last_outcome_in_words():
    nightly = Scenario.model_validate(
        {"id": "NIGHTLY", "name": "Nightly <props>", "projectKey": "SALES", "active": True}
    )
    idle = Scenario.model_validate({"id": "ADHOC", "projectKey": "SALES"})
    run = ScenarioRun.model_validate(
        {
            "runId": "2026-11-29-07-00-00-123",
            "scenario": {"projectKey": "SALES", "id": "NIGHTLY", "name": "Nightly"},
            "start": MS,
            "end": MS + 754_000,
            "result": {"outcome": "FAILED"},
        }
    )
    shown = message_text(dss.scenarios("prod", "SALES", [(nightly, run), (idle, None)]))
    assert "*Nightly &lt;props&gt;* (`NIGHTLY`) · active\nLast run: :x: failed · " in shown
    assert "*ADHOC* (`ADHOC`) · inactive\nLast run: never run" in shown
    assert dss.run_ended("prod", run) == (
        ":x: Scenario *SALES.NIGHTLY* on prod ended: *failed* after 12m 34s "
        "(run `2026-11-29-07-00-00-123`)."
    )


def _status(state: str, *, end: int = 0, failure: str | None = None) -> Job:
    """A job as `job.get_status()` gives it: everything under baseStatus."""
    activity: dict = {"state": state}
    if failure:
        activity["firstFailure"] = {"clazz": "x.ProcessDiedException", "message": failure}
    return Job.model_validate(
        {
            "baseStatus": {
                "def": {
                    "id": "build_sales_2026-11-29T07-00",
                    "projectKey": "SALES",
                    "type": "NON_RECURSIVE_FORCED_BUILD",
                    "initiator": "alice",
                },
                "state": state,
                "startTime": MS,
                "endTime": end,
                "activities": {"compute_sales_NP": activity},
            }
        }
    )


def test_a_finished_job_says_how_it_ended_when_and_why_without_abort():
    failed = _status("FAILED", end=MS + 95_000, failure="KeyError: <!channel> 'region'")
    shown = message_text(dss.job_detail("prod", failed, ui=UI))
    ended = datetime.fromtimestamp((MS + 95_000) / 1000, UTC)
    assert f":x: finished: failed {slack_date(ended)} after 1m 35s" in shown
    assert "Why: KeyError: &lt;!channel&gt; 'region'" in shown
    [only] = buttons(dss.job_detail("prod", failed, ui=UI))  # Open in DSS, no Abort
    assert only["url"] == f"{UI}/projects/SALES/jobs/build_sales_2026-11-29T07-00/"
    for state, icon in (("DONE", ":white_check_mark:"), ("ABORTED", ":no_entry_sign:")):
        text = dss.job_state(_status(state, end=MS + 60_000))
        assert text.startswith(f"{icon} finished: {state.lower()} ")
        assert "Why" not in text


def test_a_running_job_has_a_confirmed_abort_naming_it():
    running = _status("RUNNING")
    assert dss.job_state(running) == (
        f":arrows_counterclockwise: running · started by alice {slack_date(STARTED)}"
    )
    [abort] = [b for b in buttons(dss.job_detail("prod", running)) if b.get("action_id")]
    assert abort["action_id"] == dss.ABORT_JOB and abort["style"] == "danger"
    assert "build_sales_2026-11-29T07-00" in abort["confirm"]["text"]["text"]
    assert dss.JobRef.model_validate_json(abort["value"]).project == "SALES"
