"""LimitsPlatform: the link form, verifying a login, and status without credentials."""

from __future__ import annotations

import json

import pytest

from bot import errors
from bot.platforms.base import InstanceConfig
from bot.platforms.limits.platform import LimitsPlatform
from emulators.limits import DEMO, LATEST_DATE


def test_identity_and_link_form(platform):
    assert (LimitsPlatform.key, LimitsPlatform.title) == ("limits", "Atoti Limits")
    fields = platform.link_fields(platform.instance("prod"))
    assert [(f.name, f.secret) for f in fields] == [("username", False), ("password", True)]


async def test_verify_accepts_a_good_login_and_stores_both_parts(platform):
    account = await platform.verify(
        "prod", {"username": "alice", "password": DEMO["alice"]["password"]}
    )
    assert account.account == "alice" and account.details == {"as_of_date": LATEST_DATE}
    assert json.loads(account.secret) == {
        "username": "alice",
        "password": DEMO["alice"]["password"],
    }
    assert DEMO["alice"]["password"] not in repr(account.details)


async def test_verify_refuses_a_wrong_password_without_echoing_it(platform):
    with pytest.raises(errors.Unauthorized) as caught:
        await platform.verify("prod", {"username": "alice", "password": "pw-typo-123"})
    assert "pw-typo-123" not in str(caught.value)


async def test_verify_reports_a_login_without_the_limits_role(platform, emulator):
    emulator.add_user("guest", "guest", ["ROLE_USER"])
    with pytest.raises(errors.Forbidden):
        await platform.verify("prod", {"username": "guest", "password": "guest"})


async def test_verify_wants_both_fields(platform, emulator):
    with pytest.raises(errors.UserError):
        await platform.verify("prod", {"username": "alice", "password": ""})
    assert emulator.requests == []


async def test_verify_of_an_unknown_instance_names_the_configured_ones(platform):
    with pytest.raises(errors.UserError, match="`prod`"):
        await platform.verify("staging", {"username": "a", "password": "b"})


async def test_status_without_credentials_is_reachable(platform, emulator):
    status = await platform.status("prod")
    assert status.reachable and status.latency_ms is not None
    assert status.version == "6.2.2"  # from the public /versions/rest, as the UI reads it
    versions, ping = emulator.requests
    assert versions.path == "/versions/rest" and ping.path == "/activeviam/limits/rest/v2/startup"
    assert "authorization" not in ping.headers and "authorization" not in versions.headers


async def test_status_when_the_server_fails_or_is_down(platform, emulator):
    emulator.faults.set(status=503)
    failing = await platform.status("prod")
    assert not failing.reachable and failing.detail
    emulator.stop()
    down = await platform.status("prod")
    assert not down.reachable and "connect" in down.detail


async def test_status_reports_the_start_time_when_the_ping_is_open(emulator, monkeypatch):
    # A server whose ping needs no credentials (the INFERRED choice flipped).
    monkeypatch.setattr("emulators.limits.INFERRED_PING_NEEDS_AUTH", False)
    platform = LimitsPlatform([InstanceConfig(name="prod", url=emulator.url)])
    try:
        status = await platform.status("prod")
    finally:
        await platform.aclose()
    assert status.reachable and status.detail.startswith("up since ")
