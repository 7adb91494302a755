"""Settings: environment + TOML instances; start-up refuses missing or placeholder secrets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ConfigError, Settings


def test_toml_lists_platform_instances_operators_and_approvers(tmp_path):
    config = tmp_path / "switchboard.toml"
    config.write_text(
        'operators = ["U0ALICE"]\n'
        '[[dss]]\nname = "prod"\nurl = "https://dss.example.com"\n'
        '[[dss]]\nname = "dev"\nurl = "https://dss-dev.example.com"\n'
        '[approvers]\n"astakos.commission" = ["S0ADMINS"]\n'
    )
    settings = Settings(_env_file=None, config=config)
    assert [i["name"] for i in settings.platforms["dss"]] == ["prod", "dev"]
    assert settings.operators == ["U0ALICE"]
    assert settings.approvers == {"astakos.commission": ["S0ADMINS"]}


def test_operators_from_the_environment_are_comma_separated(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_OPERATORS", "U1, U2")
    assert Settings(_env_file=None).operators == ["U1", "U2"]


def test_a_bad_toml_file_is_one_clear_error(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[[dss]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings(_env_file=None, config=config)


@pytest.mark.parametrize(
    "token,secret,message",
    [
        (None, "s3cret", "SLACK_BOT_TOKEN is missing or a placeholder"),
        ("xoxb-real", None, "SLACK_SIGNING_SECRET is missing or a placeholder"),
        ("xoxb-your-token", "s3cret", "SLACK_BOT_TOKEN is missing or a placeholder"),
        ("xoxb-real", "changeme", "SLACK_SIGNING_SECRET is missing or a placeholder"),
    ],
)
def test_http_mode_needs_real_slack_secrets(token, secret, message):
    settings = Settings(_env_file=None, slack_bot_token=token, slack_signing_secret=secret)
    with pytest.raises(ConfigError, match=message):
        settings.check_for_run(socket_mode=False)


def test_socket_mode_needs_the_app_token():
    settings = Settings(_env_file=None, slack_bot_token="xoxb-real")
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        settings.check_for_run(socket_mode=True)


def test_switchboard_run_fails_with_one_line_when_a_secret_is_missing(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "SLACK_BOT_TOKEN": "xoxb-your-token",
        "SLACK_SIGNING_SECRET": "s3cret",
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "switchboard: SLACK_BOT_TOKEN is missing or a placeholder (HTTP mode needs it)"
    ]
    assert "s3cret" not in result.stderr
