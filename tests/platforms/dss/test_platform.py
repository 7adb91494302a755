"""DSSPlatform: the link form, key verification and instance status."""

from __future__ import annotations

import socket

import pytest

from bot import errors
from bot.platforms.dss.client import DSSClient
from bot.platforms.dss.platform import DSSInstance, DSSPlatform

from .conftest import ALICE, BAD_KEY, BOB, GLOBAL_ADMIN


@pytest.fixture
async def platform(dss):
    p = DSSPlatform([DSSInstance(name="prod", url=dss.url, timeout=2)])
    yield p
    await p.aclose()


def test_descriptor_and_link_form(platform):
    assert (DSSPlatform.key, DSSPlatform.title) == ("dss", "Dataiku DSS")
    fields = platform.link_fields(platform.instance("prod"))
    assert [(f.name, f.secret, f.optional) for f in fields] == [("api_key", True, False)]


def test_one_client_per_instance(platform):
    assert isinstance(platform.client("prod"), DSSClient)
    assert platform.client("prod") is platform.client() is platform.client("prod")
    with pytest.raises(errors.UserError):
        platform.client("staging")


async def test_verify_admin_and_ordinary_users(platform):
    alice = await platform.verify("prod", {"api_key": f"  {ALICE} "})
    assert (alice.account, alice.kind, alice.secret) == ("alice", "API key", ALICE)
    assert alice.details == {
        "groups": ["administrators", "data_team"],
        "profile": "DESIGNER",
        "admin": True,
        "auth_source": "PERSONAL_API_KEY",
    }
    bob = await platform.verify("prod", {"api_key": BOB})
    assert bob.account == "bob" and bob.details["admin"] is False
    glob = await platform.verify("prod", {"api_key": GLOBAL_ADMIN})
    assert glob.account == "k7Hq2ChatOps" and glob.details["admin"] is True


async def test_verify_refuses_bad_or_empty_keys(platform):
    with pytest.raises(errors.Unauthorized) as caught:
        await platform.verify("prod", {"api_key": BAD_KEY})
    assert BAD_KEY not in str(caught.value)
    with pytest.raises(errors.UserError):
        await platform.verify("prod", {"api_key": "  "})


async def test_status_without_any_credential(platform, dss):
    status = await platform.status("prod")
    assert status.reachable and status.version == "15.2.0" and status.latency_ms is not None
    assert status.detail == ""
    assert "authorization" not in dss.requests[-1].headers


async def test_status_of_a_failing_server_is_reachable_with_the_trouble(platform, dss):
    dss.faults.set(status=503)
    status = await platform.status("prod")
    assert status.reachable and status.version == "15.2.0"
    assert status.detail == "answered HTTP 503: injected fault 503"


async def test_status_when_hanging_or_down_is_unreachable(dss):
    dss.faults.set(hang=True)
    p = DSSPlatform([DSSInstance(name="prod", url=dss.url, timeout=0.3)])
    try:
        status = await p.status("prod")
        assert not status.reachable and status.version is None
        assert "no answer within 0.3 s" in status.detail
    finally:
        await p.aclose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = DSSPlatform([DSSInstance(name="down", url=f"http://127.0.0.1:{port}")])
    try:
        status = await p.status("down")
        assert not status.reachable and "could not connect" in status.detail
    finally:
        await p.aclose()


async def test_aclose_closes_the_clients(platform):
    client = platform.client("prod")
    await platform.aclose()
    assert client.http.client.is_closed
    assert platform.client("prod") is not client  # a fresh one after close
