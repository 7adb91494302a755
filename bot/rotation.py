"""`switchboard rotate-key`: every stored secret re-encrypted under a fresh key.

With a key file, the file first holds the new key and the old ones (so a crash half-way leaves
every secret readable), then the new key alone; the old ones are kept in `secret.key.old` until
the operator removes it. With SWITCHBOARD_SECRET_KEY, the new key is written to a 0600 file and
the operator is told to put it first in the variable: a key is never printed.

Replicas (PostgreSQL) cannot all restart at the same instant, so there the new key is given to
every replica first, as `SWITCHBOARD_SECRET_KEY=new,old` (new secrets are encrypted under it,
both decrypt); `rotate-key` run with two or more keys in the variable re-encrypts everything
under the first one and makes no key; then the old key can be dropped from the variable.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from bot.config import ConfigError, Settings
from bot.store import Store, links
from bot.vault import KEY_FILE_NAME, Vault, load_keys, write_key_file


def rotate_key(settings: Settings) -> list[str]:
    database = settings.database
    if isinstance(database, Path) and not database.is_file():
        # Nothing to re-encrypt; opening the store would create an empty database here.
        raise ConfigError(
            f"no database at {database}: nothing to re-encrypt. Run rotate-key "
            "with the bot's settings (SWITCHBOARD_DATA_DIR or SWITCHBOARD_DB)."
        )
    if settings.secret_key is None or not settings.secret_key.get_secret_value().strip():
        key_file = settings.db_path.parent / KEY_FILE_NAME
        backup = key_file.with_name(key_file.name + ".old")
        if backup.exists():
            # It may hold the only key some stored secret (or a backup) still needs.
            raise ConfigError(
                f"{backup} exists from an earlier rotation: once the bot runs "
                "with the current key, move it away (or delete it), then run "
                "rotate-key again."
            )
    elif "," not in settings.secret_key.get_secret_value().strip().strip(","):
        new_file = settings.db_path.parent / "secret.key.new"  # written for one key only
        if new_file.exists():
            raise ConfigError(
                f"{new_file} exists from an earlier rotation: put it in "
                "SWITCHBOARD_SECRET_KEY and move it away, then run rotate-key "
                "again."
            )
    source = load_keys(settings)
    if source.key_file is None and len(source.keys) > 1:
        return _rotate_to_first(settings, source.keys)
    new_key = Fernet.generate_key()
    vault = Vault([new_key, *source.keys])
    if source.key_file is not None:
        write_key_file(source.key_file, [new_key, *source.keys])
    store = Store(settings.database, pool_size=2)
    try:
        rows = store.run_sync(links.all_secrets)
        for row in rows:
            row["secret"] = vault.rotate(row["secret"])
        store.run_sync(links.replace_secrets, rows)
    finally:
        store.close()
    lines = [f"Re-encrypted {len(rows)} stored credential(s) under a new key."]
    if source.key_file is not None:
        backup = source.key_file.with_name(source.key_file.name + ".old")
        write_key_file(backup, source.keys)
        write_key_file(source.key_file, [new_key])
        lines.append(
            f"The new key is in {source.key_file}; the old one in {backup} "
            "(delete it once the bot runs with the new key)."
        )
    else:
        target = settings.db_path.parent / "secret.key.new"  # PostgreSQL: the data folder
        write_key_file(target, [new_key])
        lines.append(
            f"The new key is in {target} (mode 0600). Set SWITCHBOARD_SECRET_KEY to "
            "its contents (you may keep the old key after a comma until restarted)."
        )
    return lines


def _rotate_to_first(settings: Settings, keys: list[bytes]) -> list[str]:
    """Every secret re-encrypted under the variable's first key, already held by every
    replica."""
    vault = Vault(keys)
    store = Store(settings.database, pool_size=2)
    try:
        rows = store.run_sync(links.all_secrets)
        for row in rows:
            row["secret"] = vault.rotate(row["secret"])
        store.run_sync(links.replace_secrets, rows)
    finally:
        store.close()
    return [
        f"Re-encrypted {len(rows)} stored credential(s) under the first key of "
        "SWITCHBOARD_SECRET_KEY. Once this is done, remove the older key(s) from it."
    ]
