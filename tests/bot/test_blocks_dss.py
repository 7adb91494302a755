"""DSS texts that reach people: platform data can never form a mention or a link."""

from __future__ import annotations

from bot.blocks.dss import future_ended, run_started
from bot.platforms.dss.models import Future


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
