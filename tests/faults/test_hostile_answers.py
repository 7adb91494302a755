"""Each platform answering something of the wrong shape, end to end through the real bot:
a login page with 200, a body that is not JSON, `{}`, a list for an object, a redirect to
another host, a redirect loop, a gzip bomb. The person gets one clear message naming the
instance, never a stack trace; the bot keeps serving. (issue 11, "Hostile or broken
platforms")"""

from __future__ import annotations

from typing import Any

import pytest

from emulators.base import HOSTILE
from tests.e2e.helpers import reply_to
from tests.support.platform_cases import Case, ask, link_alice

# What the person is told, beyond "<Platform> (<instance>) answered something ...".
WHY = {
    "html": "text/html instead of JSON",
    "not-json": "not JSON",
    "empty-object": "",
    "list": "",
    "redirect-away": "to another server, which Switchboard does not follow",
    "redirect-loop": "more than 3 times",
    "gzip-bomb": "its answer is larger than the 10 MB Switchboard accepts",
}


@pytest.fixture
def platforms(case: Case) -> dict[str, list[dict[str, Any]]]:
    return case.platforms  # the bot is configured with the one platform under test


async def answer_to(driver, slack, case: Case) -> str:
    """Type the case's command; its reply, read from that command's own response_url (a
    reply to an earlier command cannot be taken for it)."""
    sent = await driver.command("alice", case.slash, case.command)
    assert sent.status == 200, sent.body

    def reply() -> str | None:
        for post in slack.responses():
            text = (post.body or {}).get("text") if isinstance(post.body, dict) else None
            if post.url == sent.response_url and text and "does not understand" in text:
                return str(text)
        return None

    return str(await driver.wait_for(reply, timeout=15))


def test_every_hostile_shape_has_an_expectation():
    assert set(WHY) == set(HOSTILE)


async def test_a_hostile_answer_is_one_clear_message_naming_the_instance(
    case: Case,
    driver,
    slack,
    bot,
):
    await link_alice(case, driver, slack)
    for shape, why in WHY.items():
        case.emulator.faults.set(answer=shape)
        text = await answer_to(driver, slack, case)
        assert f"{case.where} answered something Switchboard does not understand (" in text, (
            shape,
            text,
        )
        assert "try again later or tell your operator." in text, (shape, text)
        assert why in text, (shape, text)
        assert "Traceback" not in text and "Something went wrong" not in text, (shape, text)
        assert "Sign in" not in text and "surprise" not in text, (shape, text)  # not echoed
    # The instance behaves again: so does the bot, and it served others all along.
    case.emulator.faults.clear()
    await ask(driver, slack, "alice", case.slash, case.command, expect=case.ok)
    await reply_to(driver, slack, "bob", "/ops", "links", expect="linked accounts")
