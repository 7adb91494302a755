"""Files, keys and start-up, as an operator meets them: the data folder and database are
private; a damaged, unreadable or read-only database stops `switchboard run` with one line
(the file left as it was); `rotate-key` never creates a database nor destroys an old key;
`switchboard run` refuses the README's placeholders and says when no platform is configured.

Unreadable and read-only files are made with chmod; when the tests run as root (who reads
and writes anything), `switchboard` runs under setpriv without the capabilities that let root
bypass file permissions, so it meets the permissions as any other user would."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.store import Store
from bot.vault import load_keys

ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1234-5678-abcdefghijkl",
    "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
    "SLACK_API_URL": "http://127.0.0.1:9/api/",
}  # nothing listens: nothing leaves here


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def switchboard(
    *args: str, env: dict[str, str], as_user: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`switchboard ARGS` as an operator runs it, in a clean environment."""
    command = [sys.executable, "-m", "bot", *args]
    if as_user and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file permissions cannot bite")
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHBOARD_"))}
    return subprocess.run(
        command,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


# -- files ---------------------------------------------------------------------------------


def test_the_data_folder_database_wal_shm_and_key_are_private(tmp_path):
    data = tmp_path / "data"
    settings = Settings(_env_file=None, data_dir=data)
    source = load_keys(settings)  # the key file is made first, beside the database
    store = Store(settings.db_path)
    try:
        store.run_sync(lambda db: db.execute("create table scratch (x)"))
        files = [
            settings.db_path,
            Path(f"{settings.db_path}-wal"),
            Path(f"{settings.db_path}-shm"),
            source.key_file,
        ]
        assert all(f.exists() for f in files)
        assert mode(data) == 0o700
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        store.close()


def test_a_database_made_world_readable_by_an_older_version_is_tightened(tmp_path):
    path = tmp_path / "switchboard.db"
    sqlite3.connect(path).close()
    os.chmod(path, 0o644)
    Store(path).close()
    assert mode(path) == 0o600


# -- start-up refusals -----------------------------------------------------------------------


def data_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "switchboard.toml"
    config.write_text('[[dss]]\nname = "prod"\nurl = "http://127.0.0.1:9"\n')
    return data, {
        **ENV,
        "SWITCHBOARD_DATA_DIR": str(data),
        "SWITCHBOARD_CONFIG": str(config),
        "SWITCHBOARD_SECRET_KEY": Fernet.generate_key().decode(),
    }


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a database, it is a shopping list\n" * 40,
        b"SQLite format 3\x00" + bytes(range(256)) * 32,  # the header, then damage
    ],
)
def test_a_damaged_database_stops_start_up_with_one_line_and_is_left_as_it_was(tmp_path, content):
    data, env = data_dir(tmp_path)
    db = data / "switchboard.db"
    db.write_bytes(content)
    before = db.stat()
    result = switchboard("run", env=env)
    assert result.returncode == 2
    line = one_line(result)
    assert str(db) in line and "not a SQLite database" in line and "backup" in line
    assert db.read_bytes() == content and db.stat().st_mtime_ns == before.st_mtime_ns
    assert mode(db) == stat.S_IMODE(before.st_mode)
    assert sorted(p.name for p in data.iterdir()) == ["switchboard.db"]


@pytest.mark.parametrize(
    ("file_mode", "said"),
    [(0o000, ("cannot be read", "access")), (0o444, ("read-only", "writable"))],
    ids=["unreadable", "read-only"],
)
def test_a_database_it_may_not_use_stops_start_up_with_one_line(tmp_path, file_mode, said):
    data, env = data_dir(tmp_path)
    db = data / "switchboard.db"
    sqlite3.connect(db).execute("create table t (x)").connection.close()
    content = db.read_bytes()
    os.chmod(db, file_mode)
    try:
        result = switchboard("run", env=env, as_user=True)
    finally:
        os.chmod(db, 0o600)
    assert result.returncode == 2
    line = one_line(result)
    assert str(db) in line and all(words in line for words in said), line
    assert db.read_bytes() == content


# -- rotate-key ------------------------------------------------------------------------------


def test_rotate_key_without_a_database_refuses_and_creates_nothing(tmp_path):
    data = tmp_path / "nowhere"
    result = switchboard("rotate-key", env={"SWITCHBOARD_DATA_DIR": str(data)})
    assert result.returncode == 2
    line = one_line(result)
    assert "no database at" in line and str(data / "switchboard.db") in line
    assert not data.exists()


def test_a_second_rotate_key_never_overwrites_the_old_key(tmp_path):
    data = tmp_path / "data"
    env = {"SWITCHBOARD_DATA_DIR": str(data)}
    settings = Settings(_env_file=None, data_dir=data)
    original = load_keys(settings).keys
    Store(settings.db_path).close()
    first = switchboard("rotate-key", env=env)
    assert first.returncode == 0, first.stderr
    old = data / "secret.key.old"
    assert old.read_bytes().split() == original
    current = (data / "secret.key").read_bytes()

    second = switchboard("rotate-key", env=env)
    assert second.returncode == 2
    line = one_line(second)
    assert str(old) in line and "move it away" in line
    assert old.read_bytes().split() == original  # the original key is still there
    assert (data / "secret.key").read_bytes() == current


# -- switchboard run's settings ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name,value",
    [
        ("SLACK_BOT_TOKEN", "xoxb-…"),
        ("SLACK_SIGNING_SECRET", "…"),
        ("SLACK_BOT_TOKEN", "xoxb-..."),
        ("SLACK_SIGNING_SECRET", "<your signing secret>"),
    ],
)
def test_run_refuses_the_readmes_placeholders(tmp_path, name, value):
    data, env = data_dir(tmp_path)
    result = switchboard("run", env={**env, name: value})
    assert result.returncode == 2
    assert name in one_line(result) and "placeholder" in one_line(result)
    assert list(data.iterdir()) == []  # refused before anything was created


def test_run_says_when_no_platform_instance_is_configured(tmp_path):
    _data, env = data_dir(tmp_path)
    del env["SWITCHBOARD_CONFIG"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHBOARD_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", str(port)],
        env={**clean, **env},
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            lines.append(line)
            if "serving on" in line or not line:
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    told = [line for line in lines if "No platform instance is configured" in line]
    assert len(told) == 1, lines
    assert "SWITCHBOARD_CONFIG" in told[0]
