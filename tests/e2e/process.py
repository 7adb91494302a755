"""The bot as a real `python -m bot run` process, for tests that kill it (kill -9, SIGTERM)
and start it again on the same database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.support.bot import BOT_TOKEN, SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


class BotProcess:
    """`with BotProcess(env, log) as bot: bot.events_url`; `bot.kill()` is kill -9."""

    def __init__(
        self, data: Path, *, slack_url: str, config: Path, key: str, log: Path, **settings: Any
    ) -> None:
        self.port = free_port()
        self.log = log
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{slack_url}/api/",
            "SWITCHBOARD_DATA_DIR": str(data),
            "SWITCHBOARD_CONFIG": str(config),
            "SWITCHBOARD_PORT": str(self.port),
            "SWITCHBOARD_SECRET_KEY": key,
            "PYTHONUNBUFFERED": "1",
            **{f"SWITCHBOARD_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def start(self, *, leading: bool | None = True) -> BotProcess:
        """Start it and wait until it is ready (and leads, unless told another replica
        does; None: do not wait)."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        if leading is None:
            return self
        # Generous: a bot process starting on two cores beside other test runs takes a while.
        if leading:
            wait_until(self.leading, 120, "the bot answering /readyz as leader")
        else:
            wait_until(lambda: self.readyz().get("ready"), 120, "the bot answering /readyz")
        return self

    def readyz(self) -> dict[str, Any]:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the bot exited: {self.log.read_text()}")
        try:
            # Generous: a starting replica beside other test runs can take seconds to answer.
            return dict(httpx.get(f"{self.url}/readyz", timeout=10).json())
        except (httpx.HTTPError, ValueError):
            return {}

    def leading(self) -> bool:
        return bool(self.readyz().get("leader"))

    def leader_state(self) -> bool | None:
        """What /readyz says about leading: True or False, None when it did not answer (not
        leading is said, never inferred from silence)."""
        report = self.readyz()
        return bool(report["leader"]) if "leader" in report else None

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, and the exit status once it has drained."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def __enter__(self) -> BotProcess:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
