"""Help that teaches: `/ops help <topic>` for every command and topic, usage on wrong
arguments, and only the platforms configured here."""

from __future__ import annotations

import re

import pytest

from bot import help as help_topics
from handlers import families
from handlers.ops import family as ops_family
from tests.e2e.helpers import reply_to, texts

# Every topic a person can ask for on this installation (only DSS is configured in e2e).
TOPICS = [
    *(n for n in ops_family.subcommands if n != "help"),
    "dss",
    *(f"dss {n}" for n in families()["dss"].subcommands),
]


def test_every_registered_command_has_forms_and_two_or_three_examples():
    registered = {"ops": ops_family, **families()}
    for key, fam in registered.items():
        for name in fam.subcommands:
            topic = help_topics.topic(key, name)
            assert 2 <= len(topic.examples) <= 3, (key, name)
            assert topic.forms, (key, name)
            for example in topic.examples:
                assert example.split()[0] == name, (key, name, example)
            assert "{" not in help_topics.topic(key, name, {"dss": ["prod"]}).examples[0]


async def test_each_topic_shows_usage_forms_and_examples(driver, slack, bot):
    for topic in TOPICS:
        reply = await reply_to(driver, slack, "alice", "/ops", f"help {topic}", expect="*Usage*")
        body = texts(reply.blocks)
        if topic == "approvals":
            assert "first click wins" in body
        assert "*Accepted forms*" in body and "*Examples*" in body, topic
        examples = re.findall(r"^`(/\S+[^`]*)`$", body.split("*Examples*", 1)[1], re.M)
        assert 2 <= len(examples) <= 3, (topic, examples)


async def test_help_digest_is_the_digest_topic_not_the_overview(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/ops", "help digest", expect="*Usage*")
    body = texts(reply.blocks)
    assert "`daily 09:00`" in body and "`/ops digest add all weekdays 08:30`" in body
    assert "/dss futures" not in body


async def test_an_unknown_topic_says_so_and_lists_the_topics(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/ops", "help digets", expect="no help")
    assert reply.text.startswith("I have no help on `digets`. Did you mean `/ops help digest`?")
    for topic in ("`link`", "`digest`", "`alert`", "`status`", "`approvals`", "`dss`"):
        assert topic in reply.text
    assert "`squonk`" not in reply.text  # not configured here


async def test_the_overview_code_spans_are_well_formed(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/ops", "help", expect="Switchboard")
    for block in reply.blocks:
        if block["type"] != "section":
            continue
        for line in block["text"]["text"].splitlines()[1:]:
            # The usage is one code span; the description after it is plain text, so its
            # own code spans (`watch`, `set`) open and close by themselves.
            match = re.fullmatch(r"`(/[^`]+)`  (.+)", line)
            assert match, line
            assert match.group(2).count("`") % 2 == 0, line


@pytest.mark.parametrize(
    "command, text",
    [
        ("/ops", "help squonk"),
        ("/ops", "link squonk"),
        ("/squonk", "projects"),
        ("/ops", "squonk projects"),
        ("/ops", "help strategy"),
    ],
)
async def test_a_platform_not_configured_here_is_named_as_such(driver, slack, bot, command, text):
    reply = await reply_to(driver, slack, "alice", command, text, expect="not configured")
    assert "is not configured on this installation; configured here: `dss`" in reply.text
    assert "not a platform I know" not in reply.text


async def test_link_without_a_platform_names_only_configured_ones(driver, slack, bot):
    reply = await reply_to(driver, slack, "alice", "/ops", "link", expect="I can't read")
    assert "`<platform>`: one of `dss`" in reply.text
    assert "For example: `/ops link dss`, `/ops link dss prod`" in reply.text
    assert "squonk" not in reply.text and "mstr" not in reply.text


@pytest.mark.parametrize(
    "command, text, reason, usage",
    [
        ("/dss", "futures 🚀", "`🚀` is not `all`", "`/dss futures [all]`"),
        ("/dss", "whoami extra", "I did not expect `extra`", "`/dss whoami`"),
        ("/dss", "future", "`&lt;id&gt;` is missing", "`/dss future <id> [watch]`"),
        ("/ops", "dss jobs SALES more", "I did not expect `more`", "`/ops dss jobs [project]`"),
        ("/ops", "links everything", "I did not expect `everything`", "`/ops links`"),
        ("/ops", "audit 500", "say how many, from 1 to 200", "`/ops audit [n]`"),
    ],
)
async def test_wrong_or_extra_arguments_get_what_is_wrong_and_the_usage(
    driver, slack, bot, command, text, reason, usage
):
    reply = await reply_to(driver, slack, "alice", command, text, expect="I can't read")
    assert reply.text.startswith(f"I can't read `{command} {text}`: {reason}. Here is how it goes:")
    assert usage in reply.text and "For example: `" in reply.text
