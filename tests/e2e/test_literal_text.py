"""Text from platforms and from people is shown literally, on every platform family: a
mention (`<!channel>`, `<@U…>`), a link (`<http://…|…>`) or a bidi control (U+202E) can
neither ping, link nor reorder a message. Real payloads through the e2e harness: signed
commands in, what the Slack emulator received out. (issue 11, "Hostile or broken platforms")"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.helpers import reply_to, texts
from tests.support.platform_cases import Case, link_alice

EVIL = "<!channel> <@U0BOB> <http://evil.example/|your invoice> \u202eexe.txt"
SHOWN = "&lt;!channel&gt; &lt;@U0BOB&gt; &lt;http://evil.example/|your invoice&gt; exe.txt"
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.fixture
def platforms(case: Case) -> dict[str, list[dict[str, Any]]]:
    return case.platforms  # the bot is configured with the one platform under test


def assert_literal(body: str, shown: str = SHOWN) -> None:
    assert "<!channel>" not in body and "<@U0BOB>" not in body, body
    assert "<http://evil" not in body, body
    assert not set(BIDI) & set(body), body
    assert shown in body, body


def _dss(case: Case) -> tuple[str, Callable[[], None]]:
    case.emulator.add_future(owner="alice", display_name=EVIL)  # type: ignore[attr-defined]
    return "futures", lambda: None


def _mstr(case: Case) -> tuple[str, Callable[[], None]]:
    users = case.emulator.users  # type: ignore[attr-defined]
    alice = next(name for name, u in users.items() if u.full_name == "Alice Martin")
    users[alice].full_name = EVIL
    return "whoami", lambda: setattr(users[alice], "full_name", "Alice Martin")


def _squonk(case: Case) -> tuple[str, Callable[[], None]]:
    project = case.emulator.project_named("demo")  # type: ignore[attr-defined]
    project.name = EVIL
    return "projects", lambda: setattr(project, "name", "demo")


def _astakos(case: Case) -> tuple[str, Callable[[], None]]:
    user = case.emulator.user_by_name("alice")  # type: ignore[attr-defined]
    name = user.realname
    user.realname = EVIL
    return "whoami", lambda: setattr(user, "realname", name)


def _limits(case: Case) -> tuple[str, Callable[[], None]]:
    structures = case.emulator.structures  # type: ignore[attr-defined]
    before = dict(structures)
    for key, structure in before.items():
        structures[key] = dataclasses.replace(structure, server=EVIL)
    return "status", lambda: structures.update(before)


POISON = {"dss": _dss, "mstr": _mstr, "squonk": _squonk, "astakos": _astakos, "limits": _limits}


async def test_platform_text_is_shown_literally(case: Case, driver, slack, bot):
    await link_alice(case, driver, slack)
    command, restore = POISON[case.key](case)
    try:
        reply = await reply_to(driver, slack, "alice", case.slash, command, expect="exe.txt")
    finally:
        restore()
    assert_literal(f"{reply.text}\n{texts(reply.blocks)}")


async def test_the_persons_own_text_is_echoed_literally(case: Case, driver, slack, bot):
    await link_alice(case, driver, slack)
    # An instance name nobody configured: the reply quotes it back.
    reply = await reply_to(
        driver, slack, "alice", case.slash, f"{case.command} '@{EVIL}'", expect="channel"
    )
    assert_literal(reply.text)
