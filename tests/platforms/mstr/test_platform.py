"""StrategyOnePlatform: the link form, verify (API token exchange or password), instance
status, and logout on unlink."""

from __future__ import annotations

import json

import pytest

from bot import errors
from bot.platforms.base import Credential
from bot.platforms.mstr.platform import StrategyOneInstance, StrategyOnePlatform
from emulators.mstr import DEMO

from .conftest import INSTANCE


def as_credential(verified, user_id: str = "U1") -> Credential:
    return Credential(
        user_id=user_id,
        platform="mstr",
        instance=INSTANCE,
        account=verified.account,
        secret=verified.secret,
        kind=verified.kind,
        details=verified.details,
    )


def test_link_form_asks_for_mode_username_and_secret(platform):
    fields = {f.name: f for f in platform.link_fields(platform.instance(INSTANCE))}
    assert fields["mode"].choices == (("1", "Standard"), ("16", "LDAP"), ("4096", "API token"))
    assert fields["username"].optional
    assert fields["password"].secret and not fields["password"].optional
    assert platform.key == "mstr" and platform.title == "Strategy One"


def test_an_operator_can_offer_fewer_login_modes():
    instance = StrategyOneInstance(name="x", url="http://127.0.0.1:1", login_modes=(1, 4096))
    p = StrategyOnePlatform([instance])
    mode = p.link_fields(instance)[0]
    assert [value for value, _ in mode.choices] == ["1", "4096"]


@pytest.mark.parametrize("who,mode_name", [("alice", "standard"), ("alice_ldap", "LDAP")])
async def test_a_password_login_is_exchanged_for_an_api_token(mstr, platform, who, mode_name):
    verified = await platform.verify(INSTANCE, {k: str(v) for k, v in DEMO[who].items()})
    stored = json.loads(verified.secret)
    assert verified.kind == "API token instead of your password" and verified.account == "alice"
    assert stored["mode"] == 4096 and "password" not in stored
    assert DEMO[who]["password"] not in verified.secret
    assert verified.details["login_mode"] == mode_name
    assert mstr.live_sessions("alice") == []  # verify logged its sessions out
    # The kept token works for commands.
    info = await platform.client(INSTANCE).whoami(credential=as_credential(verified))
    assert info.full_name == "Alice Martin"


async def test_without_token_exchange_the_password_is_kept(mstr, platform):
    mstr.allow_api_tokens = False
    verified = await platform.verify(INSTANCE, DEMO["bob"])
    assert verified.kind == "password"
    assert json.loads(verified.secret) == {
        "mode": 1,
        "username": "bob",
        "password": DEMO["bob"]["password"],
    }
    info = await platform.client(INSTANCE).whoami(credential=as_credential(verified))
    assert info.full_name == "Bob Keller"


async def test_an_api_token_is_kept_as_given(platform):
    verified = await platform.verify(INSTANCE, DEMO["reports_token"])
    assert verified.kind == "API token" and verified.account == "Reports Service"
    assert json.loads(verified.secret)["api_token"] == DEMO["reports_token"]["password"]


async def test_refused_credentials_raise_unauthorized_without_the_password(platform):
    values = {"mode": "1", "username": "alice", "password": "not-her-password"}
    with pytest.raises(errors.Unauthorized) as caught:
        await platform.verify(INSTANCE, values)
    assert "not-her-password" not in str(caught.value)
    assert "Login failed" in str(caught.value)


@pytest.mark.parametrize(
    "values",
    [
        {"mode": "1", "username": "", "password": "x"},
        {"mode": "16", "username": "alice", "password": ""},
        {"mode": "4096", "username": "", "password": " "},
        {"mode": "8", "username": "guest", "password": "x"},  # anonymous is not offered
    ],
)
async def test_incomplete_forms_are_user_errors_before_any_call(mstr, platform, values):
    with pytest.raises(errors.UserError):
        await platform.verify(INSTANCE, values)
    assert mstr.requests_to("POST", "/api/auth/login") == []


async def test_instance_status_needs_no_credentials(platform):
    status = await platform.status(INSTANCE)
    assert status.reachable and status.version.startswith("11.6.1000")
    assert status.latency_ms is not None


async def test_instance_status_reports_an_outage(mstr, platform):
    mstr.faults.set(status=503)
    status = await platform.status(INSTANCE)
    assert not status.reachable and "ERR016" in status.detail


async def test_unlink_logs_the_users_sessions_out(mstr, platform):
    alice = as_credential(await platform.verify(INSTANCE, DEMO["alice"]), "U-alice")
    bob = as_credential(await platform.verify(INSTANCE, DEMO["bob"]), "U-bob")
    client = platform.client(INSTANCE)
    await client.whoami(credential=alice)
    await client.whoami(credential=bob)
    await platform.revoke(alice)
    assert mstr.live_sessions("alice") == [] and len(mstr.live_sessions("bob")) == 1
    await platform.aclose()
    assert mstr.live_sessions() == []
