"""The vault: secrets encrypted at rest, a 0600 key file, key rotation that loses nothing."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, Settings
from bot.store import Store, links
from bot.vault import Vault, VaultError, load_keys


def test_round_trip_and_wrong_key():
    vault = Vault([Fernet.generate_key()])
    token = vault.encrypt("dku-secret-ÿ")
    assert "dku-secret" not in token
    assert vault.decrypt(token) == "dku-secret-ÿ"
    with pytest.raises(VaultError) as info:
        Vault([Fernet.generate_key()]).decrypt(token)
    assert "dku-secret" not in str(info.value)


def test_not_a_fernet_key_is_a_config_error():
    with pytest.raises(ConfigError, match="not a Fernet key"):
        Vault([b"short"])


def test_first_run_creates_a_key_file_readable_by_its_owner_only(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    source = load_keys(settings)
    assert source.created and source.key_file == tmp_path / "secret.key"
    assert stat.S_IMODE(source.key_file.stat().st_mode) == 0o600
    again = load_keys(settings)
    assert not again.created and again.keys == source.keys


def test_key_from_the_environment_wins(tmp_path, monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("SWITCHBOARD_SECRET_KEY", key)
    source = load_keys(Settings(_env_file=None, data_dir=tmp_path))
    assert source.keys == [key.encode()] and source.key_file is None
    assert not (tmp_path / "secret.key").exists()


def test_rotate_key_command_re_encrypts_everything(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    old = load_keys(settings).keys
    vault = Vault(old)
    store = Store(settings.db_path)
    for user in ("U1", "U2"):
        store.run_sync(
            links.save,
            {
                "user_id": user,
                "platform": "dss",
                "instance": "prod",
                "account": user,
                "kind": "API key",
                "secret": vault.encrypt(f"secret-of-{user}"),
                "details": "{}",
                "linked_at": "t",
                "verified_at": "t",
            },
        )
    store.close()
    env = {"PATH": "/usr/bin:/bin", "SWITCHBOARD_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "bot", "rotate-key"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Re-encrypted 2 stored credential(s)" in out
    new = load_keys(settings).keys
    assert new != old and len(new) == 1
    store = Store(settings.db_path)
    rows = store.run_sync(links.all_secrets)
    store.close()
    assert sorted(Vault(new).decrypt(r["secret"]) for r in rows) == ["secret-of-U1", "secret-of-U2"]
    with pytest.raises(VaultError):
        Vault(old).decrypt(rows[0]["secret"])
    for key in new + old:
        assert key.decode() not in out


def test_postgresql_takes_the_key_from_the_environment_and_says_so_when_missing(tmp_path):
    """No key file beside a database that has no file: start-up stops with one line."""
    env = {
        "PATH": "/usr/bin:/bin",
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-test-token-1",
        "SLACK_SIGNING_SECRET": "signing-secret-1",
        "SWITCHBOARD_DATABASE_URL": "postgresql://sb:pw@127.0.0.1:1/switchboard",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "switchboard: SWITCHBOARD_SECRET_KEY is missing: with PostgreSQL the encryption key "
        "comes from it, the same on every replica (make one with `switchboard new-key`)"
    ]
    assert not (tmp_path / "secret.key").exists()


def test_rotate_key_on_postgresql(tmp_path, postgres_url):
    old = Fernet.generate_key()
    store = Store(postgres_url)
    store.run_sync(
        links.save,
        {
            "user_id": "U1",
            "platform": "dss",
            "instance": "prod",
            "account": "U1",
            "kind": "API key",
            "secret": Vault([old]).encrypt("secret-of-U1"),
            "details": "{}",
            "linked_at": "t",
            "verified_at": "t",
        },
    )
    store.close()
    env = {
        "PATH": "/usr/bin:/bin",
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SWITCHBOARD_DATABASE_URL": postgres_url,
        "SWITCHBOARD_SECRET_KEY": old.decode(),
    }
    out = subprocess.run(
        [sys.executable, "-m", "bot", "rotate-key"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "Re-encrypted 1 stored credential(s)" in out and old.decode() not in out
    new_file = tmp_path / "secret.key.new"
    assert stat.S_IMODE(new_file.stat().st_mode) == 0o600
    new = new_file.read_bytes().strip()
    store = Store(postgres_url)
    rows = store.run_sync(links.all_secrets)
    store.close()
    assert Vault([new]).decrypt(rows[0]["secret"]) == "secret-of-U1"
    with pytest.raises(VaultError):
        Vault([old]).decrypt(rows[0]["secret"])


def test_rotate_key_with_new_and_old_in_the_variable_moves_everything_to_the_new(
    tmp_path, postgres_url
):
    """Replicas: every one already runs with `new,old`; rotate-key re-encrypts to `new` and
    makes no key, so no replica is ever handed a secret it cannot read."""
    old, new = Fernet.generate_key(), Fernet.generate_key()
    store = Store(postgres_url)
    store.run_sync(
        links.save,
        {
            "user_id": "U1",
            "platform": "dss",
            "instance": "prod",
            "account": "U1",
            "kind": "API key",
            "secret": Vault([old]).encrypt("secret-of-U1"),
            "details": "{}",
            "linked_at": "t",
            "verified_at": "t",
        },
    )
    store.close()
    env = {
        "PATH": "/usr/bin:/bin",
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SWITCHBOARD_DATABASE_URL": postgres_url,
        "SWITCHBOARD_SECRET_KEY": f"{new.decode()},{old.decode()}",
    }
    out = subprocess.run(
        [sys.executable, "-m", "bot", "rotate-key"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "Re-encrypted 1 stored credential(s) under the first key" in out
    assert list(tmp_path.iterdir()) == []  # no key written
    store = Store(postgres_url)
    rows = store.run_sync(links.all_secrets)
    store.close()
    assert Vault([new]).decrypt(rows[0]["secret"]) == "secret-of-U1"
