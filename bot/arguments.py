"""A subcommand's arguments, declared once: what it takes (name, kind, optional, choices), its
usage line (derived from the declaration, so help never drifts from the parser), and one pure
parser that turns the typed words into named values or says, in a few words, what is wrong.

    @dss.command("future", "a task's state", args=[Word("id"), Keyword("watch")])
    async def future(inv: Invocation) -> None:
        job_id, watch = inv.a.text("id"), inv.a.flag("watch")

A subcommand with several shapes declares `forms` instead of `args`:

    forms=[[Keyword("all", optional=False), Word("idle", optional=True, ...)], [Word("project")]]

renders as `all [idle] | <project>`. An empty form makes the rest optional: `[a | b]`. When
several forms fit, the one with the most keywords typed wins (`all` is the keyword, not a
project named "all"), then the first declared.

`@instance` words are not arguments (see handlers.common.take_instance) and are skipped here;
`share` at the end is taken off before parsing (bot.commands.run_family).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.filters import is_filter as known_filter

Kind = Literal["word", "keyword", "number", "date", "text", "words", "options", "filters"]
Value = str | int | bool | datetime.date | list[str] | dict[str, str] | None
Form = tuple["Arg", ...]


@dataclass(frozen=True)
class Arg:
    """One argument. `word` is one word (any, one of `choices`, or matching `pattern`);
    `keyword` is a literal word (value: whether it was typed); `number` a whole number of at
    least `minimum`; `date` YYYY-MM-DD; `text` the rest joined by spaces; `words` the rest as a
    list; `options` every `k=v` word, wherever it stands (`keys` limits which keys).

    `after` is a literal word that introduces the value (`page N`, `to #channel`); `label` is
    what the usage shows for the value; `aliases` maps other words onto a choice or keyword;
    `hint` replaces the generic reason when a word does not fit."""

    name: str
    kind: Kind = "word"
    optional: bool = False
    choices: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    pattern: str = ""
    label: str = ""
    after: str = ""
    keys: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    hint: str = ""

    @property
    def shown(self) -> str:
        if self.label:
            return self.label
        if self.choices:
            return "|".join(self.choices)
        return self.name

    def usage(self) -> str:
        if self.kind == "filters":
            return f"[{self.label or 'filters'}…]" if self.optional else f"<{self.label}…>"
        if self.kind == "keyword":
            return f"[{self.name}]" if self.optional else self.name
        if self.kind == "options":
            keys = self.keys or ("k",)
            if self.label:
                inner = self.label
            elif self.keys:
                return " ".join(f"[{k}=…]" for k in keys)
            else:
                inner = "k=v …"
            return f"[{inner}]" if self.optional else inner
        value = self.shown + (" …" if self.kind == "words" else "")
        if self.after:
            return f"[{self.after} {value}]" if self.optional else f"{self.after} <{value}>"
        return f"[{value}]" if self.optional else f"<{value}>"


# The constructors are named like classes: a declaration reads as data (`Word("id")`).
def Word(
    name: str,
    *,
    optional: bool = False,
    choices: Sequence[str] = (),
    aliases: Mapping[str, str] | None = None,
    pattern: str = "",
    label: str = "",
    after: str = "",
    hint: str = "",
) -> Arg:
    return Arg(
        name,
        "word",
        optional,
        tuple(c.lower() for c in choices),
        tuple((k.lower(), v.lower()) for k, v in (aliases or {}).items()),
        pattern,
        label,
        after,
        hint=hint,
    )


def Keyword(word: str, *, optional: bool = True, aliases: Sequence[str] = ()) -> Arg:
    word = word.lower()
    return Arg(word, "keyword", optional, (word,), tuple((a.lower(), word) for a in aliases))


def Number(
    name: str,
    *,
    optional: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    label: str = "",
    after: str = "",
    hint: str = "",
) -> Arg:
    return Arg(
        name,
        "number",
        optional,
        label=label,
        after=after,
        minimum=minimum,
        maximum=maximum,
        hint=hint,
    )


def Date(name: str, *, optional: bool = False, label: str = "YYYY-MM-DD") -> Arg:
    return Arg(name, "date", optional, label=label)


def Text(name: str, *, optional: bool = False, label: str = "") -> Arg:
    return Arg(name, "text", optional, label=label)


def Words(name: str, *, optional: bool = False, label: str = "") -> Arg:
    return Arg(name, "words", optional, label=label)


def Options(
    name: str = "options", *, keys: Sequence[str] = (), optional: bool = True, label: str = ""
) -> Arg:
    return Arg(name, "options", optional, label=label, keys=tuple(keys))


def Filters(name: str = "filters", *, optional: bool = True, label: str = "filters") -> Arg:
    """Subscription filters (bot.filters: `project=KEY`, `name~text` …), wherever they stand;
    the value is the words as typed, read by `bot.filters.parse`. In a form without `Options`
    every `key=value` or `key~value` word is taken, so a mistyped field is explained by the
    filter grammar rather than called unexpected."""
    return Arg(name, "filters", optional, label=label)


def usage(forms: Sequence[Form]) -> str:
    """The usage line after the subcommand's name, e.g. `<id> [watch]` or `[set k=v … | unset
    <name> …]`."""
    shown = [" ".join(arg.usage() for arg in form) for form in forms]
    if len(shown) == 1:
        return shown[0]
    filled = [s for s in shown if s]
    if len(filled) < len(shown):
        return "[" + " | ".join(filled) + "]"
    return " | ".join(filled)


class ArgError(ValueError):
    """The words do not fit the declaration; `reason` says what is wrong in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Parsed:
    """The named values of one command. Reading a name that no form declares is a programming
    error (KeyError), so a typo in a handler fails its first test."""

    values: Mapping[str, Value] = field(default_factory=dict)
    declared: frozenset[str] = frozenset()

    def _get(self, name: str) -> Value:
        if name not in self.declared:
            raise KeyError(f"no argument {name!r} is declared")
        return self.values.get(name)

    def get(self, name: str) -> str | None:
        value = self._get(name)
        assert value is None or isinstance(value, str)
        return value

    def text(self, name: str) -> str:
        """A value the form that matched requires."""
        value = self.get(name)
        if value is None:
            raise KeyError(f"argument {name!r} was not given")
        return value

    def flag(self, name: str) -> bool:
        return self._get(name) is True

    def number(self, name: str) -> int | None:
        value = self._get(name)
        assert value is None or (isinstance(value, int) and not isinstance(value, bool))
        return value

    def date(self, name: str) -> datetime.date | None:
        value = self._get(name)
        assert value is None or isinstance(value, datetime.date)
        return value

    def words(self, name: str) -> list[str]:
        value = self._get(name)
        assert value is None or isinstance(value, list)
        return list(value or [])

    def options(self, name: str = "options") -> dict[str, str]:
        value = self._get(name)
        assert value is None or isinstance(value, dict)
        return dict(value or {})


def _code(word: str) -> str:
    return "`" + word[:40].replace("`", "'") + "`"


def _not_one_of(word: str, choices: Sequence[str]) -> str:
    return f"{_code(word)} is not " + " or ".join(map(_code, choices))


def _is_instance(word: str) -> bool:
    return word.startswith("@") and len(word) > 1


def _is_option(word: str) -> bool:
    return "=" in word and not word.startswith("=")


@dataclass(order=True)
class _Failure:
    at: int  # words read before it went wrong: the furthest one is the best explanation
    weight: int  # at the same place, a word that does not fit says more than a missing one
    reason: str = field(compare=False)
    # A word that is none of a keyword's choices: the choices of every form, said at once.
    word: str = field(default="", compare=False)
    expected: tuple[str, ...] = field(default=(), compare=False)


def _convert(arg: Arg, word: str) -> Value | _Failure:
    low = word.lower()
    if arg.kind in ("word", "keyword") and arg.choices:
        low = dict(arg.aliases).get(low, low)
        if low not in arg.choices:
            if arg.hint:
                return _Failure(0, 2, arg.hint)
            return _Failure(0, 2, _not_one_of(word, arg.choices), word, arg.choices)
        return True if arg.kind == "keyword" else low
    if arg.kind == "number":
        try:
            number = int(word)
        except ValueError:
            return _Failure(0, 2, arg.hint or f"{_code(word)} is not a whole number")
        if arg.minimum is not None and number < arg.minimum:
            return _Failure(0, 2, arg.hint or f"{arg.shown} starts at {arg.minimum}")
        if arg.maximum is not None and number > arg.maximum:
            return _Failure(0, 2, arg.hint or f"{arg.shown} goes up to {arg.maximum}")
        return number
    if arg.kind == "date":
        try:
            return datetime.date.fromisoformat(word)
        except ValueError:
            return _Failure(0, 2, arg.hint or f"{_code(word)} is not a date like 2026-11-29")
    if arg.pattern and not re.fullmatch(arg.pattern, word, re.IGNORECASE):
        return _Failure(0, 2, arg.hint or f"{_code(word)} is not like {_code(arg.shown)}")
    return word


def _marks(args: Sequence[Arg]) -> set[str]:
    """The literal words that start the given arguments (`to` of `to #channel`, keywords)."""
    marks = {a.after.lower() for a in args if a.after}
    for a in args:
        if a.kind == "keyword":
            marks |= {a.name, *(alias for alias, _ in a.aliases)}
    return marks


def _match(
    args: Sequence[Arg], words: Sequence[str], i: int, j: int, failures: list[_Failure]
) -> dict[str, Value] | None:
    """Values for args[i:] from words[j:], filling optional ones as early as they fit."""
    if i == len(args):
        if j == len(words):
            return {}
        failures.append(_Failure(j, 0, f"I did not expect {_code(words[j])}"))
        return None
    arg = args[i]
    if arg.kind in ("text", "words"):
        # The rest, up to the first word that introduces a later argument (`to`, a keyword):
        # as much as leaves the later ones something they fit.
        marks = _marks(args[i + 1 :])
        stop = next((at for at in range(j, len(words)) if words[at].lower() in marks), len(words))
        least = j if arg.optional else j + 1
        if stop < least:
            failures.append(_Failure(j, 1, f"{_code(arg.usage())} is missing"))
            return None
        for end in range(stop, least - 1, -1):
            tail = _match(args, words, i + 1, end, failures)
            if tail is not None:
                rest = list(words[j:end])
                value: Value = (" ".join(rest) if arg.kind == "text" else rest) if rest else None
                return {arg.name: value, **tail}
        return None
    k = j  # where the value is
    if arg.after and j < len(words) and words[j].lower() == arg.after.lower():
        k = j + 1
    if arg.after and k == j:
        if not arg.optional:
            got = f"{_code(words[j])} should be {_code(arg.after)}" if j < len(words) else ""
            failures.append(_Failure(j, 2 if got else 1, got or f"{_code(arg.usage())} is missing"))
    elif k == len(words):
        if not arg.optional or arg.after:
            failures.append(
                _Failure(k, 1, f"{_code(arg.usage() if k == j else arg.shown)} is missing")
            )
    else:
        converted = _convert(arg, words[k])
        if isinstance(converted, _Failure):
            converted.at = k
            failures.append(converted)
        else:
            tail = _match(args, words, i + 1, k + 1, failures)
            if tail is not None:
                return {arg.name: converted, **tail}
    if arg.optional:
        tail = _match(args, words, i + 1, j, failures)
        if tail is not None:
            return {arg.name: False if arg.kind == "keyword" else None, **tail}
    return None


def _is_filter(word: str, any_key: bool) -> bool:
    if known_filter(word):
        return True
    return any_key and re.match(r"^[A-Za-z_]+[=~]", word) is not None


def _parse_form(form: Form, words: Sequence[str], failures: list[_Failure]) -> Parsed | None:
    options_args = [a for a in form if a.kind == "options"]
    filter_args = [a for a in form if a.kind == "filters"]
    positional = [a for a in form if a.kind not in ("options", "filters")]
    taken: list[str] = []
    if filter_args:
        taken = [w for w in words if _is_filter(w, not options_args)]
        words = [w for w in words if not _is_filter(w, not options_args)]
        if not taken and not filter_args[0].optional:
            failures.append(_Failure(len(words), 1, f"{_code(filter_args[0].usage())} is missing"))
            return None
    pairs = dict(w.split("=", 1) for w in words if _is_option(w)) if options_args else {}
    if options_args:
        words = [w for w in words if not _is_option(w)]
    values = _match(positional, words, 0, 0, failures)
    if values is None:
        return None
    for opt in options_args:  # the words fit; now the settings
        unknown = [k for k in pairs if opt.keys and k not in opt.keys]
        if unknown:
            use = " or ".join(_code(k + "=…") for k in opt.keys)
            failures.append(
                _Failure(len(words), 2, f"{_code(unknown[0])} is not a setting here; use {use}")
            )
            return None
        if not pairs and not opt.optional:
            failures.append(_Failure(len(words), 1, f"{_code(opt.usage())} is missing"))
            return None
        values[opt.name] = pairs
    for arg in filter_args:
        values[arg.name] = taken or None
    return Parsed(values)


def parse(forms: Sequence[Form], words: Sequence[str]) -> Parsed:
    """The values of the first form that fits `words`, or ArgError with the best reason."""
    declared = frozenset(arg.name for form in forms for arg in form)
    words = [w for w in words if not _is_instance(w)]
    failures: list[_Failure] = []
    fits: list[tuple[int, int, Parsed]] = []
    for index, form in enumerate(forms):
        parsed = _parse_form(form, words, failures)
        if parsed is not None:
            keywords = sum(1 for a in form if a.kind == "keyword" and parsed.values.get(a.name))
            fits.append((keywords, -index, parsed))
    if fits:  # the most specific form: the most keywords typed, then the first declared
        return Parsed(max(fits, key=lambda fit: fit[:2])[2].values, declared)
    if not failures:  # no form at all: only no words fit
        raise ArgError(f"I did not expect {_code(words[0])}")
    best = max(failures)
    if best.expected:
        expected = [
            choice
            for f in failures
            if (f.at, f.weight, f.word) == (best.at, best.weight, best.word)
            for choice in f.expected
        ]
        raise ArgError(_not_one_of(best.word, list(dict.fromkeys(expected))))
    raise ArgError(best.reason)


def as_forms(args: Sequence[Arg] | None, forms: Sequence[Sequence[Arg]] | None) -> tuple[Form, ...]:
    """One tuple of forms from either declaration (`args` is a single form)."""
    if forms is not None:
        if args is not None:
            raise ValueError("declare args or forms, not both")
        return tuple(tuple(form) for form in forms)
    return (tuple(args or ()),)
