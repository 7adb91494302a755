"""The files the bot creates hold credentials (encrypted) and who linked what: the data folder
is created 0700 and the database (with SQLite's -wal and -shm, which take the database's mode)
and key files 0600, whatever the umask."""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(folder: Path) -> None:
    """Create the folder (and missing parents) if needed; the folder itself gets 0700.
    An existing folder is left as it is (it may be the operator's own, shared one)."""
    if folder.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, FOLDER_MODE)


def private_file(path: Path) -> None:
    """Create an empty file readable by its owner only, unless it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, FILE_MODE)  # the umask may have taken bits away, never added


def tighten(path: Path) -> None:
    """Take group and other access away from a file made by an older version (0644)."""
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & ~0o077)
    except FileNotFoundError:
        pass
