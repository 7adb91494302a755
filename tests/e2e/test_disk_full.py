"""A full disk while the bot runs: the person is told nothing was saved, the bot keeps
serving, and saves again once there is room. The data folder is a real 2 MB tmpfs filled to
the last byte, so SQLite meets the same ENOSPC as on a full disk (root only: mounting needs
it; elsewhere the test is skipped)."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import reply_to
from tests.support.bot import make_settings


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def settings(small_disk, slack, platforms):
    return make_settings(small_disk, slack, platforms=platforms)


def fill(folder: Path) -> Path:
    """Write until the disk says no more."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_says_nothing_was_saved_and_the_bot_keeps_serving(
    driver, slack, bot, settings, small_disk
):
    filler = fill(small_disk)
    reply = await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Nothing was saved"
    )
    assert "disk is full" in reply.text and "Something went wrong" not in reply.text
    # Others are served meanwhile.
    await reply_to(driver, slack, "bob", "/ops", "help", expect="Switchboard commands")
    assert sqlite3.connect(settings.db_path).execute(
        "select count(*) from subscriptions"
    ).fetchone() == (0,)

    filler.unlink()  # the operator frees some space
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Digest added"
    )
    assert sqlite3.connect(settings.db_path).execute(
        "select count(*) from subscriptions"
    ).fetchone() == (1,)
