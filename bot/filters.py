"""Subscription filters: one grammar for `/ops digest add|edit` and `/ops alert add|edit`, on
every platform where the field exists.

    project=KEY       several allowed (`project=A project=B`, or `project=A,B`): any of them
    owner=me|@login   whose items: the subscription owner's account, or a platform login
    instance=name     one instance (server) of the platform
    kind=breach|warning
    name~text         the item's name contains the text (any case; quote it for spaces)

This module is pure: it parses words into `Filters`, writes them back in one canonical text
(stored with the subscription and shown in lists), checks them against the fields a digest
section or alert source declares, and matches an item's fields after a fetch. Asking a platform
whether a project exists, and filtering at the platform, belong to the callers.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

PROJECT, OWNER, INSTANCE, KIND, NAME = "project", "owner", "instance", "kind", "name"
FIELDS = (PROJECT, OWNER, INSTANCE, KIND, NAME)
KINDS = ("breach", "warning")
ME = "me"
HOW = (
    "Filters are `project=KEY` (several allowed), `owner=me` or `owner=@login`, "
    "`instance=name`, `kind=breach|warning`, `name~text`."
)
# A filter word: a field, then `=` (or `~` for name), then the value.
_WORD = re.compile(r"^(?P<key>[A-Za-z_]+)\s*(?P<op>[=~])(?P<value>.*)$", re.S)
_SAFE = re.compile(r"^[^\s'\"\\]+$")


class FilterError(ValueError):
    """A filter that cannot be read; the text says how to write it right."""


@dataclass(frozen=True)
class Filters:
    projects: tuple[str, ...] = ()
    owner: str = ""  # "me" or a platform login
    instance: str = ""
    kind: str = ""  # "breach" | "warning"
    name: str = ""  # a substring, matched case-insensitively

    def __bool__(self) -> bool:
        return bool(self.used())

    def used(self) -> tuple[str, ...]:
        """The fields given, in grammar order."""
        values = {
            PROJECT: self.projects,
            OWNER: self.owner,
            INSTANCE: self.instance,
            KIND: self.kind,
            NAME: self.name,
        }
        return tuple(f for f in FIELDS if values[f])

    def text(self) -> str:
        """The canonical text: what is stored, shown, and read back by `parse_text`."""
        parts = [f"project={_quote(p)}" for p in self.projects]
        if self.owner:
            parts.append(f"owner={'me' if self.owner == ME else '@' + _quote(self.owner)}")
        if self.instance:
            parts.append(f"instance={_quote(self.instance)}")
        if self.kind:
            parts.append(f"kind={self.kind}")
        if self.name:
            parts.append(f"name~{_quote(self.name)}")
        return " ".join(parts)

    # -- after the fetch -----------------------------------------------------------------
    def project_ok(self, *keys: str | None) -> bool:
        """The item belongs to one of the projects (by key, id or name, any case)."""
        if not self.projects:
            return True
        wanted = {p.casefold() for p in self.projects}
        return any(k is not None and k.casefold() in wanted for k in keys)

    def owner_ok(self, owner: str | None, me: str) -> bool:
        if not self.owner:
            return True
        login = me if self.owner == ME else self.owner
        return (owner or "").casefold() == login.casefold()

    def kind_ok(self, kind: str | None) -> bool:
        return not self.kind or (kind or "").casefold() == self.kind

    def name_ok(self, *names: str | None) -> bool:
        if not self.name:
            return True
        wanted = self.name.casefold()
        return any(n is not None and wanted in n.casefold() for n in names)


NONE = Filters()


def _quote(value: str) -> str:
    return value if _SAFE.match(value) else shlex.quote(value)


def is_filter(word: str) -> bool:
    """Whether a typed word is meant as a filter (a known field before `=` or `~`)."""
    match = _WORD.match(word)
    return match is not None and match.group("key").lower() in FIELDS


def split(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """(filter words, the other words), each in the order typed."""
    taken = [w for w in words if is_filter(w)]
    return taken, [w for w in words if not is_filter(w)]


def parse(words: Iterable[str]) -> Filters:
    """Filters from typed words (each `field=value` or `name~text`); FilterError says what
    does not fit and how to write it."""
    projects: list[str] = []
    single: dict[str, str] = {}
    for word in words:
        match = _WORD.match(word.strip())
        if not match:
            raise FilterError(f"I can't read `{word}` as a filter. {HOW}")
        key, op, value = match.group("key").lower(), match.group("op"), match.group("value")
        value = value.strip()
        if key not in FIELDS:
            raise FilterError(f"`{key}` is not a filter. {HOW}")
        if key == NAME and op != "~":
            raise FilterError(
                f"Write the name filter with `~` (contains): `name~{value or 'text'}`."
            )
        if key != NAME and op != "=":
            raise FilterError(f"Write `{key}={value or '…'}`: only `name` takes `~`.")
        if not value:
            raise FilterError(f"Give `{key}` a value, like `{_example(key)}`.")
        if key == PROJECT:
            projects += [p.strip() for p in value.split(",") if p.strip()]
            continue
        if key in single and single[key].casefold() != _normal(key, value).casefold():
            raise FilterError(
                f"`{key}` is given twice; keep one (only `project` may be given several times)."
            )
        single[key] = _normal(key, value)
    return Filters(
        projects=tuple(dict.fromkeys(projects)),
        owner=single.get(OWNER, ""),
        instance=single.get(INSTANCE, ""),
        kind=single.get(KIND, ""),
        name=single.get(NAME, ""),
    )


def parse_text(text: str | None) -> Filters:
    """The stored canonical text back into Filters (empty: no filter)."""
    return parse(shlex.split(text)) if text and text.strip() else NONE


def _example(key: str) -> str:
    return {
        PROJECT: "project=SALES",
        OWNER: "owner=me",
        INSTANCE: "instance=prod",
        KIND: "kind=breach",
        NAME: "name~nightly",
    }[key]


def _normal(key: str, value: str) -> str:
    if key == OWNER:
        if value.lower() == ME:
            return ME
        login = value[1:] if value.startswith("@") else ""
        if not login or any(c.isspace() for c in login):
            raise FilterError(
                "Write `owner=me` or `owner=@login` (a login on the platform), "
                f"not `owner={value}`."
            )
        return login
    if key == KIND:
        kind = value.lower().rstrip("s")
        if kind not in KINDS:
            raise FilterError(f"`kind` is `breach` or `warning`, not `{value}`.")
        return kind
    return value


def check(filters: Filters, supported: Mapping[str, Iterable[str]]) -> None:
    """Every field given must be one that each named section or source can apply.
    `supported` maps what is filtered ("Dataiku DSS", "`limits.breaches`") to its fields."""
    for what, fields in supported.items():
        can = [f for f in FIELDS if f in set(fields)]
        cannot = [f for f in filters.used() if f not in can]
        if cannot:
            names = " and ".join(f"`{f}`" for f in cannot)
            offer = ", ".join(f"`{f}`" for f in can) or "no filter"
            raise FilterError(f"{what} can't be filtered by {names}; it supports {offer}.")
