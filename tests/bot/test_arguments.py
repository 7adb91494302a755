"""The declared-argument parser (bot.arguments): pure, so every shape and every wrong input is
checked here without a server; the e2e tests check what a person sees around it."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.arguments import (
    ArgError,
    Date,
    Filters,
    Keyword,
    Number,
    Options,
    Parsed,
    Text,
    Word,
    Words,
    parse,
    usage,
)

FUTURE = ((Word("id"), Keyword("watch")),)
BREACHES = (
    (
        Date("date", optional=True),
        Number("page", optional=True, minimum=1, label="N", after="page"),
    ),
)
VARS = (
    (),
    (Keyword("set", optional=False), Options(optional=False)),
    (Keyword("unset", optional=False), Words("name")),
)
NOTEBOOKS = (
    (
        Keyword("all", optional=False),
        Word(
            "idle",
            optional=True,
            pattern=r"idle>\d+[mhd]",
            label="idle>2h",
            hint="say how long idle, like `idle>2h`",
        ),
    ),
    (Word("project"),),
)
KEYS = ((), (Keyword("personal", optional=False), Word("user", optional=True)))
TASKS = ((Keyword("running", aliases=("live", "active")),),)
QUOTAS = (
    (Keyword("all", optional=False), Options(keys=("user", "project"))),
    (Word("project", optional=True),),
)
ALERT = (
    (
        Keyword("add", optional=False),
        Word("source"),
        Word("channel", optional=True, label="#channel", after="to"),
    ),
    (Keyword("list", optional=False),),
)
RUN = ((Word("job"), Word("project", after="in"), Options()),)


@pytest.mark.parametrize(
    "forms, shown",
    [
        (FUTURE, "<id> [watch]"),
        (BREACHES, "[YYYY-MM-DD] [page N]"),
        (VARS, "[set k=v … | unset <name …>]"),
        (NOTEBOOKS, "all [idle>2h] | <project>"),
        (KEYS, "[personal [user]]"),
        (TASKS, "[running]"),
        (QUOTAS, "all [user=…] [project=…] | [project]"),
        (ALERT, "add <source> [to #channel] | list"),
        (RUN, "<job> in <project> [k=v …]"),
        (((Word("users", label="uuid|username"),),), "<uuid|username>"),
        (((Words("users", label="uuid|username"),),), "<uuid|username …>"),
        (((Text("name", optional=True, label="part of a name"),),), "[part of a name]"),
        (((Word("mode", choices=("all", "mine"), optional=True),),), "[all|mine]"),
        (((),), ""),
    ],
)
def test_the_usage_line_comes_from_the_declaration(forms, shown):
    assert usage(forms) == shown


def test_values_by_name_and_kind():
    a = parse(FUTURE, ["42", "WATCH"])
    assert (a.text("id"), a.flag("watch")) == ("42", True)
    a = parse(FUTURE, ["42"])
    assert (a.get("id"), a.flag("watch")) == ("42", False)
    a = parse(BREACHES, ["2026-11-29", "page", "3"])
    assert a.date("date") == datetime.date(2026, 11, 29) and a.number("page") == 3
    a = parse(BREACHES, ["page", "2"])
    assert a.date("date") is None and a.number("page") == 2
    assert parse(TASKS, ["live"]).flag("running")
    assert parse(RUN, ["c/j@1", "in", "P", "name=x", "n=2"]).options() == {"name": "x", "n": "2"}


def test_the_form_with_the_most_keywords_wins_then_the_first():
    assert not parse(VARS, []).flag("set")
    a = parse(VARS, ["set", "env=prod", "retries=3"])
    assert a.flag("set") and a.options() == {"env": "prod", "retries": "3"}
    a = parse(VARS, ["unset", "env", "retries"])
    assert a.flag("unset") and a.words("name") == ["env", "retries"]
    a = parse(NOTEBOOKS, ["all", "idle>2h"])
    assert a.flag("all") and a.get("idle") == "idle>2h" and a.get("project") is None
    assert parse(NOTEBOOKS, ["SALES"]).get("project") == "SALES"
    assert parse(KEYS, ["personal", "bob"]).get("user") == "bob"
    assert parse(QUOTAS, ["all", "user=alice"]).options() == {"user": "alice"}
    assert parse(QUOTAS, ["web"]).get("project") == "web"
    assert parse(ALERT, ["add", "dss.futures", "to", "#ops"]).get("channel") == "#ops"


def test_a_keyword_wins_over_a_word_in_any_order_of_forms():
    notebooks = (NOTEBOOKS[1], NOTEBOOKS[0])
    assert usage(notebooks) == "<project> | all [idle>2h]"
    assert parse(notebooks, ["all"]).flag("all")
    assert parse(notebooks, ["ALL", "idle>2h"]).get("project") is None
    assert parse(notebooks, ["SALES"]).get("project") == "SALES"
    use = ((), (Text("project", label="project name"),), (Keyword("none", optional=False),))
    assert parse(use, ["none"]).flag("none")
    assert parse(use, ["none", "of", "these"]).get("project") == "none of these"


DIGEST = (
    (
        Keyword("add", optional=False),
        Word("platforms"),
        Words("when"),
        Word("channel", optional=True, label="#channel", after="to"),
        Keyword("skip-empty", aliases=("skip_empty",)),
        Options(keys=("tz",), label="tz=Area/City"),
    ),
)


def test_free_words_stop_where_a_later_argument_starts():
    assert usage(DIGEST) == ("add <platforms> <when …> [to #channel] [skip-empty] [tz=Area/City]")
    a = parse(DIGEST, ["add", "dss", "daily", "09:00", "to", "#ops", "skip-empty", "tz=UTC"])
    assert a.words("when") == ["daily", "09:00"] and a.get("channel") == "#ops"
    assert a.flag("skip-empty") and a.options() == {"tz": "UTC"}
    a = parse(DIGEST, ["add", "dss", "every", "30m", "skip_empty"])
    assert a.words("when") == ["every", "30m"] and a.get("channel") is None
    with pytest.raises(ArgError) as raised:
        parse(DIGEST, ["add", "dss", "daily", "to"])
    assert raised.value.reason == "`#channel` is missing"
    with pytest.raises(ArgError) as raised:
        parse(DIGEST, ["add", "dss", "to", "#ops"])
    assert raised.value.reason == "`<when …>` is missing"


def test_instance_words_are_not_arguments():
    assert parse(FUTURE, ["@prod", "42"]).text("id") == "42"


@pytest.mark.parametrize(
    "forms, words, reason",
    [
        (FUTURE, [], "`<id>` is missing"),
        (FUTURE, ["42", "later"], "`later` is not `watch`"),
        (FUTURE, ["42", "watch", "x"], "I did not expect `x`"),
        (((),), ["extra"], "I did not expect `extra`"),
        (BREACHES, ["yesterday"], "`yesterday` is not a date like 2026-11-29"),
        (BREACHES, ["page"], "`N` is missing"),
        (BREACHES, ["page", "x"], "`x` is not a whole number"),
        (BREACHES, ["page", "0"], "N starts at 1"),
        (((Number("n", maximum=200),),), ["201"], "n goes up to 200"),
        (((Number("n", maximum=9, hint="say 1 to 9"),),), ["10"], "say 1 to 9"),
        (VARS, ["unset"], "`<name …>` is missing"),
        (VARS, ["set"], "`k=v …` is missing"),
        (NOTEBOOKS, ["all", "idle"], "say how long idle, like `idle>2h`"),
        (KEYS, ["bob"], "`bob` is not `personal`"),
        (QUOTAS, ["all", "owner=x"], "`owner` is not a setting here; use `user=…` or `project=…`"),
        (ALERT, ["add"], "`<source>` is missing"),
        (ALERT, ["add", "s", "#ops"], "I did not expect `#ops`"),
        (ALERT, ["remove"], "`remove` is not `add` or `list`"),
        (RUN, ["c/j@1", "at", "P"], "`at` should be `in`"),
        (RUN, ["c/j@1"], "`in <project>` is missing"),
        (((Word("mode", choices=("all", "mine")),),), ["some"], "`some` is not `all` or `mine`"),
    ],
)
def test_words_that_do_not_fit_get_a_short_reason(forms, words, reason):
    with pytest.raises(ArgError) as raised:
        parse(forms, words)
    assert raised.value.reason == reason


def test_a_long_word_is_cut_in_the_reason():
    with pytest.raises(ArgError) as raised:
        parse(((),), ["x" * 500])
    assert len(raised.value.reason) < 80


def test_reading_an_undeclared_name_is_a_programming_error():
    a = parse(FUTURE, ["1"])
    with pytest.raises(KeyError):
        a.get("job")
    with pytest.raises(KeyError):
        Parsed().flag("watch")


WORD = st.text(st.characters(blacklist_categories=("Zs", "Cc")), min_size=1, max_size=12)


@given(st.lists(WORD, max_size=6))
def test_any_words_either_parse_or_give_a_reason(words):
    for forms in (FUTURE, BREACHES, VARS, NOTEBOOKS, KEYS, TASKS, QUOTAS, ALERT, RUN):
        try:
            parse(forms, words)
        except ArgError as wrong:
            assert wrong.reason and "\n" not in wrong.reason


@given(WORD.filter(lambda w: not w.startswith("@") and "=" not in w), st.integers(1, 10**6))
def test_what_the_usage_shows_parses_back(word, page):
    a = parse(
        ((Word("id"), Number("page", optional=True, after="page", label="N")),),
        [word, "page", str(page)],
    )
    assert (a.text("id"), a.number("page")) == (word, page)


@given(st.lists(WORD.filter(lambda w: not w.startswith("@")), min_size=1, max_size=6))
def test_text_takes_the_rest_as_typed(words):
    assert parse(((Text("name"),),), words).text("name") == " ".join(words)


def test_filters_are_taken_wherever_they_stand_beside_options():
    form = [Word("platforms"), Words("when"), Options(keys=("tz",)), Filters()]
    parsed = parse(
        [form], ["dss", "project=A", "daily", "tz=UTC", "09:00", "name~two words", "project=B"]
    )
    assert parsed.text("platforms") == "dss"
    assert parsed.words("when") == ["daily", "09:00"]
    assert parsed.options() == {"tz": "UTC"}
    assert parsed.words("filters") == ["project=A", "name~two words", "project=B"]
    assert parse([form], ["dss", "daily"]).words("filters") == []
    # Beside options, a key that is no filter is an unknown setting, said with the choices.
    with pytest.raises(ArgError, match="`colour` is not a setting here"):
        parse([form], ["dss", "daily", "colour=red"])
    # Without options, any key=value is a filter word, for the filter grammar to explain.
    alone = parse([[Word("id"), Filters()]], ["3", "colour=red", "kind~x"])
    assert alone.words("filters") == ["colour=red", "kind~x"]
    assert usage([tuple(form)]) == "<platforms> <when …> [tz=…] [filters…]"
