"""AstakosPlatform: link form, verify for user and service tokens, status without credentials."""

from __future__ import annotations

import socket

import pytest

from bot import errors
from bot.platforms.astakos.platform import AstakosPlatform
from bot.platforms.base import InstanceConfig
from emulators.astakos import ALICE, DEMO


@pytest.fixture
async def platform(astakos):
    p = AstakosPlatform(
        [InstanceConfig(name="grnet", url=f"{astakos.url}/identity/v2.0", timeout=0.5)]
    )
    yield p
    await p.aclose()


def test_descriptor_and_link_form(platform):
    assert (AstakosPlatform.key, AstakosPlatform.title) == ("astakos", "Synnefo Astakos")
    fields = platform.link_fields(platform.instance("grnet"))
    assert [(f.name, f.secret) for f in fields] == [("token", True)]


async def test_verify_a_user_token(platform):
    account = await platform.verify("grnet", {"token": DEMO["alice"]["token"]})
    assert (account.account, account.kind) == ("alice@example.org", "user token")
    assert account.details["uuid"] == ALICE
    assert account.secret == DEMO["alice"]["token"]
    assert DEMO["alice"]["token"] not in repr(account.details)


async def test_verify_a_service_token(platform):
    account = await platform.verify("grnet", {"token": DEMO["service"]["token"]})
    assert (account.account, account.kind) == ("cyclades", "service token")


async def test_verify_refuses_a_bad_or_empty_token(platform):
    with pytest.raises(errors.Unauthorized):
        await platform.verify("grnet", {"token": "bogus"})
    with pytest.raises(errors.UserError):
        await platform.verify("grnet", {"token": "  "})


async def test_a_bare_host_url_assumes_the_default_identity_path(astakos):
    p = AstakosPlatform([InstanceConfig(name="grnet", url=astakos.url)])
    try:
        account = await p.verify("grnet", {"token": DEMO["bob"]["token"]})
        assert account.account == "bob@example.org"
    finally:
        await p.aclose()


async def test_status_of_a_healthy_instance(platform):
    status = await platform.status("grnet")
    assert status.reachable and status.latency_ms is not None
    assert status.version == "identity v2.0, account v1.0"


async def test_status_reports_an_outage_instead_of_raising(astakos, platform):
    astakos.faults.set(status=503)
    status = await platform.status("grnet")
    assert not status.reachable and "503" in status.detail


async def test_status_of_a_hanging_instance(astakos, platform):
    astakos.faults.set(hang=True)
    try:
        status = await platform.status("grnet")
    finally:
        astakos.faults.clear()
    assert not status.reachable and "no answer" in status.detail


async def test_status_when_nothing_listens():
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = AstakosPlatform([InstanceConfig(name="gone", url=f"http://127.0.0.1:{port}")])
    try:
        status = await p.status("gone")
    finally:
        await p.aclose()
    assert not status.reachable and "could not connect" in status.detail


async def test_a_refusal_still_counts_as_reachable(astakos, platform):
    astakos.faults.set(status=401)
    status = await platform.status("grnet")
    assert status.reachable
