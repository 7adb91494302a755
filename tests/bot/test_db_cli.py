"""`switchboard db upgrade | status`, and start-up on a database newer than the code."""

from __future__ import annotations

import subprocess
import sys

from bot.__main__ import main
from bot.store import Store, migrations
from bot.store.db import connect
from tests.bot.legacy_schema import build_legacy_database

# What a file made before the history (sqlite-utils' steps 1 to 3) still needs.
AFTER_LEGACY = [m for m in migrations.MIGRATIONS if m.version > 3]


def test_db_upgrade_applies_the_history_to_an_old_file_once(tmp_path, monkeypatch, capsys):
    path = tmp_path / "switchboard.db"
    build_legacy_database(path)
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:{path}")
    assert main(["db", "status"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"sqlite:{path}: schema version 0 (this Switchboard: {migrations.LATEST}); "
        f"{len(AFTER_LEGACY)} migration(s) to apply: switchboard db upgrade"
    )
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["applied 4: m004_mstr_defaults", "applied 5: m005_weblink_tokens"]
    assert out == [
        *(f"applied {m.version}: {m.name}" for m in AFTER_LEGACY),
        f"sqlite:{path}: at schema version {migrations.LATEST}",
    ]
    assert main(["db", "upgrade"]) == 0
    assert "(nothing to do)" in capsys.readouterr().out


def test_db_upgrade_on_postgresql(postgres_server, monkeypatch, capsys):
    url = postgres_server.new_database(migrated=False)
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "applied 1: m001_core" in out and f"at schema version {migrations.LATEST}" in out
    assert "postgres@127.0.0.1" in out
    db = connect(url, upgrade=False)
    try:
        assert migrations.applied(db) == {m.version for m in migrations.MIGRATIONS}
    finally:
        db.close()


def test_start_up_refuses_a_database_newer_than_the_code_in_one_line(db_target, tmp_path):
    Store(db_target).close()
    db = connect(db_target)
    try:
        with db.conn:
            db.execute(
                "insert into schema_migrations (version, name, applied_at) values (?, ?, ?)",
                [migrations.LATEST + 1, "m_future", "t"],
            )
    finally:
        db.close()
    env = {
        "PATH": "/usr/bin:/bin",
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-test-token-1",
        "SLACK_SIGNING_SECRET": "signing-secret-1",
        "SWITCHBOARD_DATABASE_URL": str(db_target)
        if isinstance(db_target, str)
        else f"sqlite:{db_target}",
        "SWITCHBOARD_SECRET_KEY": "jJ3qVvXEdBjmc8sAUv0bLRkTZcIjtkDX4TGW3Gy3Z0Y=",
    }
    for command in (["run"], ["db", "upgrade"]):
        done = subprocess.run(
            [sys.executable, "-m", "bot", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"switchboard: the database is at schema version {migrations.LATEST + 1}, newer "
            f"than this Switchboard (which knows up to {migrations.LATEST}): run the newer "
            "version, or restore a backup"
        ]


def test_the_database_setting_from_the_environment_or_the_toml(tmp_path, monkeypatch):
    from pathlib import Path

    import pytest

    from bot.config import ConfigError, Settings

    monkeypatch.delenv("SWITCHBOARD_DATABASE_URL", raising=False)
    assert Settings(_env_file=None, data_dir=tmp_path).database == tmp_path / "switchboard.db"
    toml = tmp_path / "sb.toml"
    toml.write_text('database_url = "postgresql://sb:pw@db.internal/sb"\n', encoding="utf-8")
    settings = Settings(_env_file=None, config=toml)
    assert settings.database == "postgresql://sb:pw@db.internal/sb" and settings.uses_postgresql
    assert "pw" not in repr(settings)  # a URL may carry the password: never in a repr or log
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{tmp_path}/other.db")
    settings = Settings(_env_file=None, config=toml)  # the environment wins
    assert settings.database == Path(f"{tmp_path}/other.db") == settings.db_path
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="give postgresql://"):
        _ = Settings(_env_file=None).database
