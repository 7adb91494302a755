"""Command fuzzing: every family's text, made of subcommand names, words, quotes, unicode,
`@instance`, k=v and very long strings. Whatever is typed, the person gets usage, a result or a
short error: never the internal-error text, never a traceback in the bot's log."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.slack_driver import SlackDriver
from handlers import families
from handlers.ops import family as ops_family
from tests.abuse.conftest import SIGNING_SECRET, link_all

INTERNAL = "Something went wrong on our side"
WORKING = "Working on `"
FAMILIES = ["ops", *families()]
# Words that would change alice's links or schedules in ways later examples trip over.
SKIP_FIRST = {"link", "unlink", "digest", "alert"}


def subcommands(key: str) -> list[str]:
    family = ops_family if key == "ops" else families()[key]
    names = list(family.subcommands) + list(family.aliases)
    return [n for n in names if n not in SKIP_FIRST] + ["help", "?", "share"]


word = st.one_of(
    st.sampled_from(
        [
            "all",
            "in",
            "share",
            "in_channel",
            "watch",
            "set",
            "@design",
            "@nope",
            "@",
            "name=x",
            "k=v",
            "=",
            "a=",
            "tz=Mars/Base",
            "'",
            '"',
            '""',
            "\\",
            "`",
            "<@U0BOB>",
            "<!channel>",
            "*bold*",
            "L-4",
            "-1",
            "0",
            "99999999999",
            "--help",
            "%s",
            "{}",
            "${x}",
            "\u202e",
            "é",
            "日本",
            "🙂",
            "\x00",
        ]
    ),
    st.text(min_size=1, max_size=12),
    st.text(alphabet="ab'\"= @", min_size=1, max_size=6),
    st.integers(min_value=1, max_value=3).map(lambda n: "x" * (1000 * n)),
)


def texts_for(key: str) -> st.SearchStrategy[str]:
    first = st.one_of(st.sampled_from(subcommands(key)), word)
    return st.tuples(first, st.lists(word, max_size=5)).map(lambda t: " ".join([t[0], *t[1]]))


def replies_to(slack, response_url: str) -> list[str]:
    return [
        str((p.body or {}).get("text") or "") if isinstance(p.body, dict) else ""
        for p in slack.responses()
        if p.url == response_url
    ]


SETTLE = 8.0  # seconds a command may take to answer


async def settle(driver, slack, response_url: str, views_before: int) -> list[str]:
    """Wait until the command has answered: a reply that is not "working…", or a modal."""
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        posted = replies_to(slack, response_url)
        if any(WORKING not in t for t in posted) or len(slack.calls("views.open")) > views_before:
            return posted
        await asyncio.sleep(0.01)
    raise AssertionError(f"no answer within {SETTLE}s; got {replies_to(slack, response_url)}")


@pytest.mark.parametrize("key", FAMILIES)
def test_any_text_gets_usage_a_result_or_a_short_error(slack, bot, world, logs, key):
    # Hypothesis drives a plain function, so each example runs on its own short event loop.
    async def linked() -> None:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await link_all(driver, slack, users=("alice",))

    asyncio.run(linked())
    slash = "/" + key

    async def run(text: str) -> None:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            views = len(slack.calls("views.open"))
            r = await driver.command("alice", slash, text)
            assert r.status == 200, (text, r.status, r.body)
            posted = await settle(driver, slack, r.response_url or "", views)
        assert not any(INTERNAL in t for t in posted), (text, posted)
        tracebacks = logs.tracebacks()
        assert tracebacks == [], (text, tracebacks[-1][-1500:])

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(text=texts_for(key))
    def one(text: str) -> None:
        asyncio.run(run(text))

    one()
