"""The real deployment path as an operator meets it: `switchboard run --help`, start-up
errors, and no spurious warnings."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

from bot.config import Settings
from bot.server import BotServer


def test_run_help_describes_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    options = re.findall(r"\[(--[a-z-]+)", result.stdout.split("\n")[0])
    assert options == ["--socket-mode", "--host", "--port"]
    assert "Socket Mode (needs SLACK_APP_TOKEN=xapp-…)" in text
    assert "(default SWITCHBOARD_HOST, 127.0.0.1: only this machine" in text
    assert "(default SWITCHBOARD_PORT, 3000)" in text
    # Every option line carries a description, not just its name.
    for option in options:
        line = next(ln for ln in result.stdout.splitlines() if ln.strip().startswith(option))
        assert len(line.split(None, 2)) == 3 or "ADDRESS" in line or "PORT" in line, line


def test_all_missing_settings_are_named_at_once(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SWITCHBOARD_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "switchboard: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are missing or a placeholder "
        "(HTTP mode needs them)"
    ]


def test_no_token_warning_when_the_token_comes_from_the_environment(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        scheduler_enabled=False,
        slack_api_url="http://127.0.0.1:9/api/",
    )
    caplog.set_level(logging.WARNING)
    with BotServer(settings):
        pass
    assert "will be unused" not in caplog.text
    assert "As you gave" not in caplog.text
