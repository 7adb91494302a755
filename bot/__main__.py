"""The `switchboard` command.

switchboard run [--socket-mode]          serve Slack (HTTP: /slack/events, /healthz, /metrics)
switchboard console                      type slash commands at a prompt (local Slack emulator)
switchboard demo [--script FILE]         emulated platforms + demo accounts + the console
switchboard manifest --url URL | --socket-mode
switchboard rotate-key                   re-encrypt every stored credential under a new key
switchboard new-key                      print a new encryption key (for SWITCHBOARD_SECRET_KEY)
switchboard db upgrade | status          apply / show the schema migrations
switchboard db copy SOURCE TARGET        move an installation: sqlite:PATH <-> postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import NO_PLATFORMS, ConfigError, Settings

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("switchboard")


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Slack's libraries log whole request bodies at DEBUG, and a link form's body holds the
    # secret being linked: keep them at INFO whatever the root level is.
    for name in ("slack_bolt", "slack_sdk"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().level))
    # httpx logs every request at INFO: noise in the console, and URLs carry ids.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cmd_run(args: argparse.Namespace) -> int:
    from bot.server import serve
    from bot.services import open_services

    settings = Settings()
    settings.check_for_run(socket_mode=args.socket_mode)
    services = open_services(settings)
    for note in services.notes:
        log.warning(note)
    if not any(settings.platforms.values()):  # after start-up: a refusal stays one line
        log.warning(NO_PLATFORMS)
    if args.socket_mode:
        return asyncio.run(_socket_mode(services))
    log.info(
        "serving on http://%s:%s/slack/events",
        args.host or settings.host,
        args.port or settings.port,
    )
    asyncio.run(
        serve(
            services,
            host=args.host or settings.host,
            port=args.port or settings.port,
            process=True,
        )
    )
    return 0


async def _socket_mode(services: Services) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.app import create_app
    from bot.server import drain, settle_heap

    app = create_app(services)
    settle_heap()
    app_token = services.settings.slack_app_token
    assert app_token is not None  # check_for_run(socket_mode=True) refused to start without it
    token = app_token.get_secret_value()
    handler = AsyncSocketModeHandler(app, token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await services.installation.start()
        await handler.connect_async()
        if services.leader is not None:
            services.leader.start()
        await stop.wait()  # until SIGTERM / SIGINT
        await handler.disconnect_async()  # no new envelopes; the ones in flight finish below
    finally:
        await drain(services)
        await services.aclose()
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.manifest import manifest_yaml

    if not args.socket_mode and not args.url:
        print(
            "switchboard manifest: give --url https://your.bot.host or --socket-mode",
            file=sys.stderr,
        )
        return 2
    sys.stdout.write(manifest_yaml(Settings(), url=args.url, socket_mode=args.socket_mode))
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    from bot.rotation import rotate_key

    for line in rotate_key(Settings()):
        print(line)
    return 0


def cmd_new_key(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode("ascii"))
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    from bot.store import migrations
    from bot.store.copy import describe
    from bot.store.db import connect

    settings = Settings()
    db = connect(settings.database, upgrade=False)
    try:
        versions = migrations.applied(db)
        waiting = migrations.pending(db)
    finally:
        db.close()
    print(
        f"{describe(settings.database)}: schema version {max(versions, default=0)} "
        f"(this Switchboard: {migrations.LATEST}); "
        + (
            f"{len(waiting)} migration(s) to apply: switchboard db upgrade"
            if waiting
            else "up to date"
        )
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.store import migrations
    from bot.store.copy import describe
    from bot.store.db import connect

    settings = Settings()
    db = connect(settings.database, upgrade=False)
    try:
        done = migrations.apply(db)
    finally:
        db.close()
    for m in done:
        print(f"applied {m.version}: {m.name}")
    print(
        f"{describe(settings.database)}: at schema version {migrations.LATEST}"
        + ("" if done else " (nothing to do)")
    )
    return 0


def cmd_db_copy(args: argparse.Namespace) -> int:
    from bot.store.copy import CopyError, copy_database, describe, ensure_url
    from bot.vault import KEY_FILE_NAME, Vault, read_key_file

    source, target = ensure_url(args.source), ensure_url(args.target)
    settings = Settings()
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        keys = [
            k.strip().encode()
            for k in settings.secret_key.get_secret_value().split(",")
            if k.strip()
        ]
        key_note = "SWITCHBOARD_SECRET_KEY"
    elif isinstance(source, Path) and (source.parent / KEY_FILE_NAME).exists():
        keys = read_key_file(source.parent / KEY_FILE_NAME)
        key_note = str(source.parent / KEY_FILE_NAME)
    else:
        raise ConfigError(
            "db copy checks every credential after the copy: set "
            "SWITCHBOARD_SECRET_KEY to the installation's key"
        )
    print(f"copying {describe(source)} -> {describe(target)}")
    try:
        report = copy_database(source, target, Vault(keys))
    except CopyError as error:
        print(f"switchboard: db copy: {error}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    if isinstance(target, str) and key_note != "SWITCHBOARD_SECRET_KEY":
        print(
            f"Run every replica with SWITCHBOARD_DATABASE_URL set to the target and "
            f"SWITCHBOARD_SECRET_KEY set to the key in {key_note}."
        )
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    return asyncio.run(run_console(Settings(), script=args.script, demo=False))


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.console import run_console

    return asyncio.run(run_console(None, script=args.script, demo=True, data_dir=args.data_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING or ERROR (default INFO for run, WARNING for console and demo)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="serve Slack",
        description="Serve Slack: HTTP mode answers /slack/events (with /healthz and /metrics) "
        "on --host:--port; Socket Mode connects out to Slack instead. Secrets and "
        "settings come from the environment (SLACK_BOT_TOKEN, "
        "SLACK_SIGNING_SECRET or SLACK_APP_TOKEN, SWITCHBOARD_*) and the TOML file "
        "named by SWITCHBOARD_CONFIG; see the README's settings table.",
    )
    run.add_argument(
        "--socket-mode",
        action="store_true",
        help="connect to Slack over Socket Mode (needs SLACK_APP_TOKEN=xapp-…), for "
        "a bot without a public URL; no HTTP port is opened for Slack",
    )
    run.add_argument(
        "--host",
        metavar="ADDRESS",
        help="address to listen on in HTTP mode (default SWITCHBOARD_HOST, "
        "127.0.0.1: only this machine; 0.0.0.0 listens on every interface)",
    )
    run.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        help="port to listen on in HTTP mode (default SWITCHBOARD_PORT, 3000)",
    )
    run.set_defaults(fn=cmd_run)
    console = sub.add_parser("console", help="type slash commands at a prompt")
    console.add_argument("--script", type=Path, help="read commands from a file, one per line")
    console.set_defaults(fn=cmd_console)
    demo = sub.add_parser("demo", help="emulated platforms, demo accounts and the console")
    demo.add_argument("--script", type=Path, help="read commands from a file, one per line")
    demo.add_argument("--data-dir", type=Path, help="keep the demo database here")
    demo.set_defaults(fn=cmd_demo)
    manifest = sub.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--url")
    manifest.add_argument("--socket-mode", action="store_true")
    manifest.set_defaults(fn=cmd_manifest)
    rotate = sub.add_parser("rotate-key", help="re-encrypt stored credentials under a new key")
    rotate.set_defaults(fn=cmd_rotate_key)
    new_key = sub.add_parser("new-key", help="print a new encryption key")
    new_key.set_defaults(fn=cmd_new_key)
    db = sub.add_parser("db", help="the database: upgrade, status, copy")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply pending migrations").set_defaults(fn=cmd_db_upgrade)
    db_sub.add_parser("status", help="schema version and pending migrations").set_defaults(
        fn=cmd_db_status
    )
    copy = db_sub.add_parser("copy", help="copy every table into an empty database")
    copy.add_argument("source", help="sqlite:PATH or postgresql://...")
    copy.add_argument("target", help="sqlite:PATH or postgresql://...")
    copy.set_defaults(fn=cmd_db_copy)
    args = parser.parse_args(argv)
    # The console's own output is the point there: only warnings interleave with it.
    quiet = args.command in ("console", "demo")
    setup_logging((args.log_level or ("WARNING" if quiet else "INFO")).upper())
    try:
        return int(args.fn(args))
    except ConfigError as error:
        print(f"switchboard: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
