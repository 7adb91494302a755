"""What the digest fan-out and footprint benchmarks share: the five platform emulators and the
Slack emulator on 127.0.0.1, a database filled directly with many linked users and
subscriptions (through the bot's own store functions and vault), and the bot as a subprocess.

Many Slack users link the SAME demo platform credential: the emulators hold a handful of demo
accounts, and the bot treats every Slack user separately (own link row, own ciphertext, own
subscription, own DM), which is what the fan-out measures.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from bench.common import ROOT, free_port, python
from bot.config import Settings
from bot.demo import DemoPlatforms
from bot.platforms.base import VerifiedAccount
from bot.platforms.registry import Platforms
from bot.store import links
from bot.store import subscriptions as subs
from bot.store.db import open_database
from bot.vault import Vault
from emulators import astakos, dss, keycloak, limits, mstr
from emulators.slack import SlackEmulator
from emulators.slack_models import SlackUser

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-bot"

# The demo credential every bench user links, per platform (the link form's fields). Squonk2
# uses bob's account: alice's demo password holds `&`, `+` and `=`, which the official
# squonk2 client (the sequential reference) does not URL-encode, so Keycloak refuses it there.
LINKS: dict[str, dict[str, str]] = {
    "dss": {"api_key": dss.DEMO["alice"]["api_key"]},
    "mstr": {k: str(v) for k, v in mstr.DEMO["alice"].items()},
    "squonk": {
        "username": keycloak.DEMO["bob"]["username"],
        "password": keycloak.DEMO["bob"]["password"],
    },
    "astakos": {"token": astakos.DEMO["service"]["token"]},
    "limits": {
        "username": limits.DEMO["alice"]["username"],
        "password": limits.DEMO["alice"]["password"],
    },
}


def user_id(i: int) -> str:
    return f"U9B{i:07d}"


@contextmanager
def world(stack: ExitStack) -> Iterator[tuple[DemoPlatforms, SlackEmulator]]:
    platforms = DemoPlatforms.start(stack)
    slack = stack.enter_context(SlackEmulator())
    yield platforms, slack


def set_latency(platforms: DemoPlatforms, seconds: float) -> None:
    for emulator in platforms.emulators.values():
        if seconds:
            emulator.faults.set(latency=seconds)
        else:
            emulator.faults.clear()


def clear_request_logs(platforms: DemoPlatforms) -> None:
    for emulator in platforms.emulators.values():
        emulator.requests.clear()


def add_slack_users(slack: SlackEmulator, n: int) -> None:
    for i in range(n):
        uid = user_id(i)
        slack.add_user(SlackUser(uid, f"bench{i}", f"Bench User {i}", f"bench{i}", "UTC"))


def write_config(path: Path, platforms: dict[str, list[dict[str, Any]]]) -> None:
    lines = []
    for key, instances in platforms.items():
        for instance in instances:
            lines.append(f"[[{key}]]")
            lines += [f"{name} = {json.dumps(value)}" for name, value in instance.items()]
            lines.append("")
    path.write_text("\n".join(lines))


def settings_for(tmp: Path, config: Path, key: str, slack: SlackEmulator) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"{slack.url}/api/",
        data_dir=tmp,
        config=config,
        secret_key=key,
    )


async def verify_all(settings: Settings) -> dict[str, tuple[str, VerifiedAccount]]:
    """Each platform's own verify() on the demo credential, once: what a link stores."""
    platforms = Platforms.from_settings(settings)
    out = {}
    try:
        for key, values in LINKS.items():
            platform = platforms[key]
            instance = next(iter(platform.instances))
            out[key] = (instance, await platform.verify(instance, values))
    finally:
        await platforms.aclose()
    return out


def populate(
    db_path: Path,
    key: str,
    verified: dict[str, tuple[str, VerifiedAccount]],
    n_users: int,
    subscription: dict[str, Any] | None,
    triggers: list[str] | None = None,
) -> None:
    """n_users Slack users, each linked to every platform (own Fernet ciphertext) and, when
    `subscription` is given, owning one subscription built from it (trigger cycled from
    `triggers` if given). Written with the bot's store functions, one transaction each."""
    vault = Vault([key.encode()])
    db = open_database(db_path)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with db.conn:
            for i in range(n_users):
                for platform, (instance, account) in verified.items():
                    links.save(
                        db,
                        {
                            "user_id": user_id(i),
                            "platform": platform,
                            "instance": instance,
                            "account": account.account,
                            "kind": account.kind,
                            "secret": vault.encrypt(account.secret),
                            "details": json.dumps(account.details, sort_keys=True),
                            "linked_at": stamp,
                            "verified_at": stamp,
                        },
                    )
        if subscription is not None:
            for i in range(n_users):
                row = {**subscription, "owner": user_id(i)}
                if triggers:
                    row["trigger"] = triggers[i % len(triggers)]
                subs.add(db, row)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def new_key() -> str:
    return Fernet.generate_key().decode()


@contextmanager
def bot_process(
    tmp: Path,
    config: Path,
    key: str,
    slack: SlackEmulator,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Iterator[tuple[subprocess.Popen[bytes], float, Path]]:
    """`python -m bot run` (HTTP mode); yields the process, the seconds until /healthz
    answered, and its log file. Always stopped at the end."""
    port = free_port()
    log_path = tmp / "bot.log"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack.url}/api/",
        "SWITCHBOARD_DATA_DIR": str(tmp),
        "SWITCHBOARD_CONFIG": str(config),
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_SECRET_KEY": key,
        **(extra_env or {}),
    }
    with open(log_path, "wb") as log:
        started = time.monotonic()
        # BENCH_BOT_PYTHON: the bot from another install (a plain `pip install .` venv); the
        # code is this checkout's either way (the working directory comes first on sys.path).
        bot_python = os.environ.get("BENCH_BOT_PYTHON") or python()
        proc = subprocess.Popen(
            [bot_python, "-m", "bot", "--log-level", "INFO", "run"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = started + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the bot exited: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the bot did not become healthy")
                time.sleep(0.05)
            yield proc, time.monotonic() - started, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def wait_for_log(log_path: Path, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in log_path.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def run(coro: Any) -> Any:
    return asyncio.run(coro)
