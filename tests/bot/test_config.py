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


def test_an_approvers_table_sets_who_how_many_the_requester_and_how_long(tmp_path):
    config = tmp_path / "switchboard.toml"
    config.write_text(
        '[approvers]\n"astakos.commission" = ["S0ADMINS"]\n'
        '[approvers."limits.approve"]\nwho = ["S0RISK"]\nrequired = 2\n'
        'maker_checker = true\nexpires_after = "3d"\n'
        '[approvers."astakos.membership"]\nexpires_after = "90m"\n'
    )
    settings = Settings(_env_file=None, config=config)
    assert settings.approvers == {"astakos.commission": ["S0ADMINS"], "limits.approve": ["S0RISK"]}
    rule = settings.approval_rules["limits.approve"]
    assert (rule.required, rule.maker_checker, rule.expires_after) == (2, True, 3 * 86400)
    membership = settings.approval_rules["astakos.membership"]
    assert (membership.required, membership.maker_checker, membership.expires_after) == (
        1,
        None,
        5400,
    )


@pytest.mark.parametrize(
    "table,message",
    [
        ("required = 0", "required: Input should be greater than or equal to 1"),
        ('expires_after = "3 days"', "'3 days' is not a duration: give e.g. 3d, 12h or 90m"),
        ("quorum = 2", "quorum: Extra inputs are not permitted"),
    ],
)
def test_a_bad_approvers_table_is_named_in_one_line(tmp_path, table, message):
    config = tmp_path / "switchboard.toml"
    config.write_text(f'[approvers."limits.approve"]\n{table}\n')
    with pytest.raises(ConfigError) as error:
        Settings(_env_file=None, config=config)
    assert '[approvers."limits.approve"]' in str(error.value)
    assert message in str(error.value)


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
