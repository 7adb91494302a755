"""Secrets: link every platform, run every command, then look for every secret used in the
database files, every log record at DEBUG, everything the Slack emulator received (Web API
arguments, response_url posts, modals) and the text of exceptions."""

from __future__ import annotations

import dataclasses
import logging

from bot import errors
from bot.__main__ import setup_logging
from bot.demo import DEMO_LINKS
from bot.platforms.base import Credential
from bot.vault import KEY_FILE_NAME
from emulators import astakos, dss, keycloak, limits, mstr
from handlers import families
from handlers.ops import family as ops_family
from tests.abuse.conftest import BOT_TOKEN, SIGNING_SECRET, link_all
from tests.abuse.test_fuzz import INTERNAL, settle
from tests.e2e.helpers import link


def platform_secrets() -> set[str]:
    found = {SIGNING_SECRET, BOT_TOKEN, keycloak.DEMO_CLIENT_SECRET}
    found |= {v["api_key"] for v in dss.DEMO.values()}
    found |= {str(v["password"]) for v in mstr.DEMO.values() if v.get("password")}
    found |= {v["password"] for v in keycloak.DEMO.values()}
    found |= {v["token"] for v in astakos.DEMO.values()}
    found |= set(astakos.OTHER_TOKENS.values())
    found |= {v["password"] for v in limits.DEMO.values()}
    found |= {
        v
        for _, _, values in DEMO_LINKS
        for k, v in values.items()
        if k in ("api_key", "password", "token")
    }
    return {s for s in found if len(s) >= 6}


def leaks(haystack: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s in haystack)


async def test_no_secret_anywhere_after_linking_and_running_every_command(
    driver, slack, bot, world, settings, logs
):
    await link_all(driver, slack)
    for user in ("alice", "bob"):
        for key, family in [("ops", ops_family), *families().items()]:
            for name in family.subcommands:
                if name in ("link", "unlink"):
                    continue
                views = len(slack.calls("views.open"))
                r = await driver.command(user, f"/{key}", name)
                assert r.status == 200
                posted = await settle(driver, slack, r.response_url or "", views)
                assert not any(INTERNAL in t for t in posted), (user, key, name, posted)
    # Wrong credentials too: refusals and their error texts are where secrets like to hide.
    wrong = {
        "dss": {"api_key": "dkuaps-WRONG0key0carol0000000000000009"},
        "limits": {"username": "carol", "password": "carol-wrong-pw-77"},
        "astakos": {"token": "wR0nGt0k3nCAROL000000=="},
    }
    for platform, values in wrong.items():
        outcome = await link(driver, slack, "carol", platform, values)
        assert "Linked" not in outcome

    secrets = platform_secrets() | {
        v for values in wrong.values() for k, v in values.items() if k != "username"
    }
    key_file = settings.db_path.parent / KEY_FILE_NAME
    vault_keys = {
        line.strip().decode() for line in key_file.read_bytes().splitlines() if line.strip()
    }
    secrets |= vault_keys
    assert vault_keys

    raw = b"".join(
        p.read_bytes() for p in settings.db_path.parent.glob(settings.db_path.name + "*")
    )
    assert b"alice" in raw  # the right files
    db_text = raw.decode("latin-1")
    assert leaks(db_text, secrets) == []
    assert leaks(raw.decode("utf-8", "replace"), secrets) == []

    log_text = logs.text()
    assert len(logs.records) > 50  # DEBUG really was on
    assert leaks(log_text, secrets) == []

    seen = [c.method + repr(c.args) for c in slack.calls()]
    seen += [p.url + repr(p.body) for p in slack.responses()]
    seen += [repr(v) for u in ("alice", "bob") for v in slack.views_opened(u)]
    seen += [repr(e) for e in slack.events_since(0)]
    assert leaks("\n".join(seen), secrets) == []


def test_credentials_and_errors_do_not_show_their_secret():
    secret = dss.DEMO["alice"]["api_key"]
    credential = Credential(
        user_id="U0ALICE",
        platform="dss",
        instance="design",
        account="alice",
        secret=secret,
        kind="",
        details={},
    )
    assert secret not in repr(credential) and secret not in str(credential)
    if dataclasses.is_dataclass(credential):
        assert secret not in repr(dataclasses.replace(credential))
    for error in (errors.NotLinked("dss", "design"),):
        assert secret not in str(error) and secret not in repr(error)


def test_logs_sees_every_library_at_debug_after_the_command_set_logging_up(request):
    # `switchboard db status` run in-process (tests/bot/test_db_cli.py does) sets slack_sdk to
    # INFO and httpx to WARNING for the whole process: the capture above must still see them.
    setup_logging("INFO")
    logs = request.getfixturevalue("logs")
    for name in ("slack_sdk.web", "httpx", "httpcore.http11", "switchboard"):
        logging.getLogger(name).debug("seen from %s", name)
    assert [r.getMessage() for r in logs.records] == [
        f"seen from {name}" for name in ("slack_sdk.web", "httpx", "httpcore.http11", "switchboard")
    ]
