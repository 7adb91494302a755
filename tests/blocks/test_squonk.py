"""bot/blocks/squonk.py: /squonk projects, instances (Stop, Watch), the instance card, tasks,
the job catalogue and the watch messages."""

from __future__ import annotations

from datetime import datetime

from bot.blocks import squonk
from bot.blocks.time import slack_date
from bot.platforms.squonk.models import Instance, Job, Project, Task, TaskEvent, TaskState
from tests.blocks.kit import buttons, message_text

UI = "https://squonk.example.com/data-manager-ui"
LAUNCHED = "2026-11-29T08:00:00.123456"

RUNNING = Instance(
    id="instance-3a1b0b7e-3bd0-4b33-a6c1-5d4d4c1e9c55",
    name="nop <!channel>",
    project_id="project-e1ce441e-c4d1-4ad1-9057-1a11dbce2a9b",
    owner="dmit-user-a",
    phase="RUNNING",
    launched=LAUNCHED,
    started="2026-11-29T08:00:05",
    run_time="0:12:32",
    job_collection="im-test",
    job_job="nop",
    job_version="1.0.0",
)
FAILED = RUNNING.model_copy(
    update={
        "id": "instance-99",
        "name": "coins",
        "phase": "FAILED",
        "stopped": "2026-11-28T10:00:00",
        "launched": "2026-11-28T09:00:00",
        "run_time": "1 day, 2:00:00",
        "error_message": "Out of <memory>",
    }
)


def test_instances_put_running_ones_first_with_stop_watch_and_open_buttons():
    blocks = squonk.instances("main", [FAILED, RUNNING], {RUNNING.project_id: "Demo & Test"}, ui=UI)
    shown = message_text(blocks)
    assert shown.index("nop &lt;!channel&gt;") < shown.index("coins")
    assert (
        ":arrows_counterclockwise: running · run time 12m 32s · Demo &amp; Test · im-test/nop@1.0.0"
        in shown
    )
    assert ":x: failed · run time 26h 00m" in shown and "Out of &lt;memory&gt;" in shown
    assert "`/squonk instances <project>` narrows the list." not in shown  # all fit
    stop, watch, open_running, open_failed = buttons(blocks)  # a done instance: no Stop/Watch
    assert squonk.InstanceRef.model_validate_json(stop["value"]) == squonk.InstanceRef(
        instance="main", id=RUNNING.id, name=RUNNING.name
    )
    assert stop["confirm"]["text"]["text"].startswith("Stop *nop &lt;!channel&gt;* on main")
    assert watch["action_id"] == squonk.WATCH
    assert open_running["url"] == f"{UI}/results/instance/{RUNNING.id}"
    assert open_failed["url"].endswith(FAILED.id)


def test_the_instance_card_dates_its_times_and_lists_the_recent_events():
    task = Task(
        id="task-1",
        purpose="INSTANCE",
        purpose_id=RUNNING.id,
        exit_code=None,
        states=[TaskState(state="STARTED", time="2026-11-29T08:00:05")],
        events=[
            TaskEvent(
                ordinal=n,
                level="WARNING" if n == 11 else "INFO",
                message=f"step {n}",
                time=LAUNCHED,
            )
            for n in range(12)
        ],
    )
    blocks = squonk.instance_card("main", RUNNING, task, "Demo")
    shown = message_text(blocks)
    assert shown.startswith("Squonk2 instance nop <!channel>")  # a header is plain text
    assert f"Launched {slack_date(datetime.fromisoformat(LAUNCHED))}" in shown
    assert "Task `task-1`: started" in shown
    assert "step 1\n" not in shown and "step 2" in shown  # the last ten
    assert ":warning: " in shown and "step 11" in shown
    assert [x["text"]["text"] for x in buttons(blocks)] == ["Stop", "Watch"]


def test_watch_messages_say_how_it_ended_in_words():
    ended = squonk.instance_ended("main", FAILED, Task(id="t", purpose="INSTANCE", exit_code=137))
    assert ended == (
        ":x: Squonk2 instance *coins* (`instance-99`, main) ended: *failed*, exit code 137 "
        "after 26h 00m: Out of &lt;memory&gt;."
    )
    assert "*&lt;x&gt;* (`i-1`, main) was stopped and removed" in squonk.instance_removed(
        "main", "<x>", "i-1"
    )
    started = squonk.run_started(
        "main", "im-test/nop@1.0.0", "demo", "i-1", "t-1", "nop", squonk.WATCHING
    )
    assert "Started *im-test/nop@1.0.0* in project *demo* on main as *nop*." in started


def test_projects_show_the_persons_role_privacy_and_size():
    demo = Project(
        project_id="project-1",
        name="Demo <x>",
        creator="dmit-user-a",
        private=True,
        editors=["alice"],
        size=3 * 1024 * 1024,
    )
    blocks = squonk.projects("main", [demo], "alice", ui=UI)
    shown = message_text(blocks)
    assert (
        "*Demo &lt;x&gt;* · `project-1`\n"
        ":lock: private · you: editor · created by dmit-user-a · 3 MiB" in shown
    )
    assert buttons(blocks)[0]["url"] == f"{UI}/project/project-1"


def test_tasks_and_jobs_are_listed_in_words_with_disabled_jobs_saying_why():
    failed = Task(
        id="task-2", purpose="INSTANCE", purpose_id="i-1", done=True, exit_code=1, created=LAUNCHED
    )
    assert ":x: `task-2` · done · exit code 1" in message_text(
        squonk.tasks("main", [failed], running_only=False)
    )
    job = Job(
        id=3,
        collection="im-test",
        job="coin-test",
        version="1.0.0",
        name="Coin <test>",
        category="testing",
        disabled=True,
        disabled_reason=None,
    )
    shown = message_text(squonk.jobs("main", [job], "coin"))
    assert shown.startswith("Squonk2 jobs on main matching “coin”")
    assert "`im-test/coin-test@1.0.0` · *Coin &lt;test&gt;* · testing" in shown
    assert ":no_entry: disabled: no reason given" in shown
    assert squonk.run_time("not a time <x>") == "not a time &lt;x&gt;"
