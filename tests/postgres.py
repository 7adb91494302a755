"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` package (installed by
.ci/run), initialised into a temporary folder, listening on 127.0.0.1 on a free port, removed
at the end of the session. Each test gets its own database, cloned from a template that
already holds the schema (cloning is much cheaper than migrating).

As root, initdb refuses to run: the server then runs as the `postgres` OS user (runuser).
With SWITCHBOARD_TEST_POSTGRES_URL set (a server of your own; its user may create
databases), that server is used instead.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ADMIN_USER = "postgres"
TEMPLATE = "sb_template"


class PostgresUnavailable(Exception):
    pass


def _bin_dir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if not versions:
        raise PostgresUnavailable(
            "no initdb found (install Debian's `postgresql` package: .ci/run does)"
        )
    return Path(versions[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(
        self,
        admin_url: str,
        *,
        stop: list[str] | None = None,
        folder: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.admin_url = admin_url
        self._stop_cmd = stop
        self._folder = folder
        self._counter = itertools.count(1)
        self._template_ready = False
        self._user = user
        self._admin_conn = None

    @classmethod
    def start(cls) -> PostgresServer:
        external = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL")
        if external:
            return cls(external)
        bindir = _bin_dir()
        folder = Path(tempfile.mkdtemp(prefix="sb-pg-"))
        prefix: list[str] = []
        user = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root and there is no `postgres` user to run the server as"
                ) from None
            os.chown(folder, owner.pw_uid, owner.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
            user = "postgres"
        data, log = folder / "data", folder / "server.log"
        port = _free_port()

        def run(cmd: list[str]) -> None:
            done = subprocess.run(
                prefix + cmd, capture_output=True, text=True, timeout=180, cwd=folder
            )
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                extra = log.read_text()[-600:] if log.exists() else ""
                raise PostgresUnavailable(f"{cmd[0]} failed: {' | '.join(tail)} {extra}")

        run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                ADMIN_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
            "-c shared_buffers=32MB"
        )
        run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "120",
                "-o",
                options,
                "start",
            ]
        )
        stop = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
        return cls(
            f"postgresql://{ADMIN_USER}@127.0.0.1:{port}/postgres",
            stop=stop,
            folder=folder,
            user=user,
        )

    def url(self, database: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{database}"

    def _admin(self, sql: str) -> None:
        """On one connection kept open (a new connection costs more than a new database)."""
        import psycopg

        if self._admin_conn is None or self._admin_conn.closed:
            self._admin_conn = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=30)
        self._admin_conn.execute(sql)

    def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database's URL: with the schema (a template clone), or empty."""
        name = f"sb_{os.getpid()}_{next(self._counter)}"
        if not migrated:
            self._admin(f"create database {name}")
            return self.url(name)
        if not self._template_ready:
            from bot.store.db import connect

            template = f"{TEMPLATE}_{os.getpid()}"
            self._admin(f"drop database if exists {template}")
            self._admin(f"create database {template}")
            connect(self.url(template)).close()
            self._template = template
            self._template_ready = True
        # FILE_COPY (PostgreSQL 15+): a file copy, not the template's blocks through the WAL.
        strategy = " strategy file_copy" if self._admin_conn.info.server_version >= 150000 else ""
        self._admin(f"create database {name} template {self._template}{strategy}")
        return self.url(name)

    def stop(self) -> None:
        if self._admin_conn is not None:
            self._admin_conn.close()
        if self._stop_cmd:
            subprocess.run(self._stop_cmd, capture_output=True, timeout=120, cwd=self._folder)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
