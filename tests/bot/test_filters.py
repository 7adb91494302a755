"""The subscription filter grammar (bot.filters): pure, so every shape and every wrong input is
checked here; the e2e tests check what a person sees around it."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import filters
from bot.filters import FilterError, Filters, check, parse, parse_text, split


def test_every_field_is_read():
    f = parse(["project=SALES", "project=HR,OPS", "owner=me", "instance=prod", "kind=Breach"])
    assert f.projects == ("SALES", "HR", "OPS")
    assert (f.owner, f.instance, f.kind) == ("me", "prod", "breach")
    assert parse(["name~nightly load"]).name == "nightly load"
    assert parse(["owner=@bob"]).owner == "bob"
    assert parse(["kind=warnings"]).kind == "warning"


def test_the_same_project_twice_counts_once():
    assert parse(["project=A", "project=A"]).projects == ("A",)


def test_no_words_is_no_filter():
    assert not parse([])
    assert not parse_text("")
    assert parse_text(None) == filters.NONE


def test_split_keeps_other_words_in_order():
    taken, rest = split(["dss", "project=A", "daily", "tz=Europe/Paris", "name~x", "09:00"])
    assert taken == ["project=A", "name~x"]
    assert rest == ["dss", "daily", "tz=Europe/Paris", "09:00"]


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["project"], "I can't read"),
        (["project="], "Give `project` a value, like `project=SALES`"),
        (["name=foo"], "`name~foo`"),
        (["kind~breach"], "`kind=breach`"),
        (["kind=error"], "`kind` is `breach` or `warning`"),
        (["owner=bob"], "`owner=me` or `owner=@login`"),
        (["owner=@"], "`owner=me` or `owner=@login`"),
        (["instance=a", "instance=b"], "given twice"),
    ],
)
def test_bad_filters_say_how_to_write_them(words, says):
    with pytest.raises(FilterError) as caught:
        parse(words)
    assert says in str(caught.value)


def test_unknown_key_is_named_with_the_grammar():
    with pytest.raises(FilterError, match="`colour` is not a filter") as caught:
        parse(["colour=red"])
    assert "project=KEY" in str(caught.value)


def test_check_names_what_the_platform_supports():
    check(parse(["project=A"]), {"Dataiku DSS": ["project", "name"]})
    with pytest.raises(FilterError) as caught:
        check(parse(["project=A", "kind=breach"]), {"Dataiku DSS": ["name", "project"]})
    assert str(caught.value) == (
        "Dataiku DSS can't be filtered by `kind`; it supports `project`, `name`."
    )
    with pytest.raises(FilterError, match="supports no filter"):
        check(parse(["name~x"]), {"`mstr.status`": []})


def test_matching_after_the_fetch():
    f = parse(["project=sales", "owner=me", "kind=breach", "name~Night"])
    assert f.project_ok("SALES") and not f.project_ok("HR", None)
    assert f.owner_ok("Alice", "alice") and not f.owner_ok("bob", "alice")
    assert parse(["owner=@bob"]).owner_ok("bob", "alice")
    assert f.kind_ok("Breach") and not f.kind_ok("Warning")
    assert f.name_ok(None, "the nightly load") and not f.name_ok("daily")
    assert filters.NONE.project_ok(None) and filters.NONE.name_ok(None)


def test_canonical_text_reads_back():
    f = parse(["name~two words", "project=B", "owner=me", "project=A", "kind=warning"])
    assert f.text() == "project=B project=A owner=me kind=warning name~'two words'"
    assert parse_text(f.text()) == f


_value = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=","),
    min_size=1,
    max_size=12,
).filter(lambda v: v.strip() == v and v.strip())
_login = _value.filter(lambda v: not any(c.isspace() for c in v) and v.lower() != "me")


@given(
    projects=st.lists(_value, max_size=3, unique_by=str),
    owner=st.one_of(st.just(""), st.just("me"), _login),
    instance=st.one_of(st.just(""), _value),
    kind=st.sampled_from(["", "breach", "warning"]),
    name=st.one_of(st.just(""), _value),
)
def test_any_filters_survive_storage(projects, owner, instance, kind, name):
    f = Filters(tuple(projects), owner, instance, kind, name)
    assert parse_text(f.text()) == f
    # and what is shown can be typed again, word for word
    assert parse(shlex.split(f.text())) == f


@given(st.lists(st.text(max_size=20), max_size=5))
def test_any_words_parse_or_say_why(words):
    try:
        parse(words)
    except FilterError as error:
        assert str(error)


def test_the_command_reference_names_the_fields_each_platform_declares():
    from pathlib import Path

    from bot.digests import registry
    from bot.platforms.catalog import DESCRIPTORS, title

    doc = Path(__file__).parents[2].joinpath("docs", "COMMANDS.md").read_text()
    table = {
        line.split("|")[1].strip(): line.split("|")[2]
        for line in doc.splitlines()
        if line.startswith("| ") and line.count("|") == 4
    }
    for platform, fields in registry.section_filters(DESCRIPTORS).items():
        row = table[title(platform)]
        assert [f for f in filters.FIELDS if f"{f}" in row.split("(")[0]] == list(fields), platform
