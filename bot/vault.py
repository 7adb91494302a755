"""Credential encryption at rest (Fernet, with MultiFernet so the key can be rotated).

The key comes from SWITCHBOARD_SECRET_KEY (several keys comma separated, newest first: the first
encrypts, all decrypt). Without it, a key file next to the SQLite database is used, created with
mode 0600 on first run. PostgreSQL has no file to put it beside, and replicas must share it:
there the setting is required. `switchboard rotate-key` re-encrypts every stored secret under a
new key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.config import ConfigError, Settings
from bot.files import private_folder

KEY_FILE_NAME = "secret.key"
UNREADABLE = "a stored credential cannot be decrypted with the current key"
MISSING_FOR_POSTGRESQL = (
    "SWITCHBOARD_SECRET_KEY is missing: with PostgreSQL the encryption key comes from it, "
    "the same on every replica (make one with `switchboard new-key`)"
)


class VaultError(Exception):
    """A stored secret could not be decrypted (wrong or rotated-away key)."""


class Vault:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigError("the vault needs at least one key")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise ConfigError(
                "SWITCHBOARD_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes)"
            ) from None

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise VaultError(UNREADABLE) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise VaultError(UNREADABLE) from None


@dataclass(frozen=True)
class KeySource:
    keys: list[bytes]
    key_file: Path | None  # None when the key came from the environment
    created: bool  # a new key file was written just now


def load_keys(settings: Settings) -> KeySource:
    """The keys from the setting, or from (a newly created) key file beside the database."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        raw = settings.secret_key.get_secret_value()
        return KeySource([k.strip().encode() for k in raw.split(",") if k.strip()], None, False)
    if settings.uses_postgresql:
        raise ConfigError(MISSING_FOR_POSTGRESQL)
    key_file = settings.db_path.parent / KEY_FILE_NAME
    if key_file.exists():
        return KeySource(read_key_file(key_file), key_file, False)
    write_key_file(key_file, [Fernet.generate_key()])
    return KeySource(read_key_file(key_file), key_file, True)


def read_key_file(path: Path) -> list[bytes]:
    """One key a line, newest first (two lines only while a rotation is under way)."""
    return [line.strip() for line in path.read_bytes().splitlines() if line.strip()]


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Write keys readable by their owner only (created 0600, never world-readable between)."""
    private_folder(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"".join(k + b"\n" for k in keys))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
