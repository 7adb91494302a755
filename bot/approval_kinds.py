"""What a platform declares for one kind of approval (an Astakos commission, a Limits task ...):
its verbs and their words, who may act, the credential it needs, the platform call, its card,
and how to ask the platform about an item whose claim a dead process left.

The generic flow (`bot.approval_flow`: act, ask a reason, submit, share, copies) and the
recovery of stale claims (`bot.recovery`) work from these declarations alone, so a platform
adds a kind by declaring it and registering it (`register`, done where the platform declares
its kinds; a platform descriptor lists them too), with no edit to the flow.

This module imports nothing of the bot at run time (only for types), so descriptors, block
builders and platforms may all import it without a cycle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from bot.approvals import Approval
    from bot.platforms.base import Credential
    from bot.services import Services

    Block = dict[str, Any]
    # (services, the clicker's credential, the approval, the verb, the reason or "") ->
    # the short result stored on the approval and shown on its card. Raises the platform's
    # typed errors (bot.errors.PlatformError): the flow maps each to the approval's state.
    Perform = Callable[[Services, Credential, Approval, "Verb", str], Awaitable[str]]
    # (the approval, where its card is drawn) -> the card for the approval's current state,
    # every block tagged with `bot.approvals.tag_card` so it can be swapped in place.
    Render = Callable[[Approval, "Place"], list[Block]]
    # (services, the claimer's credential, the approval) -> what the platform says now.
    Check = Callable[[Services, Credential, Approval], Awaitable["Current"]]
    # The clicker's credential -> why it cannot do this kind of action (markup), or None.
    TokenCheck = Callable[[Credential], str | None]
    # (services, the clicker, the approval as it is now, where the card was) -> the text and
    # blocks of the ephemeral list the click came from, drawn again; None when it cannot be.
    Redraw = Callable[[Services, str, Approval, "Place"], Awaitable[tuple[str, list[Block]] | None]]
    # (the approval, the verb) -> what the reason modal shows above its input (markup).
    Describe = Callable[[Approval, "Verb"], str]
    # (a message's blocks after a card changed, the approval ids whose cards are still open)
    # -> the blocks with the kind's own controls brought in line (a "do them all" button).
    Recount = Callable[[list[Block], list[str]], list[Block]]
    # (services, the clicker's credential, the approval) -> what its approving decision would
    # change now (`Figures`), or None when the platform cannot say just now.
    Preview = Callable[[Services, Credential, Approval], Awaitable["Figures | None"]]
    # An approval's payload (as registered) -> the platform's own deadline for the item
    # (a limit's end date ...), or None when it has none.
    Deadline = Callable[[dict[str, Any]], datetime | None]
    # (services, the clicker's credential, the approval) -> who asked for the item as the
    # platform names them ("": it names nobody), for maker-checker; asked at click time.
    Requester = Callable[[Services, Credential, Approval], Awaitable[str]]
    # The clicker's credential -> every name they go by on the platform (compared with the
    # requester).
    Identities = Callable[[Credential], set[str]]


@dataclass(frozen=True)
class Verb:
    """One decision a card offers."""

    action: str  # stored on the approval and in the audit ("accept")
    button: str  # its button's label ("Accept")
    past: str  # what people read once it is done ("accepted")
    # The Slack action id of its button. Kept as it is once released: cards posted in
    # channels carry it, and a click on an old card must still work.
    action_id: str
    # The label of the optional text asked for in a modal before acting ("Reason"); empty:
    # the button acts at once (after its confirm dialog).
    reason: str = ""


class ApprovalRef(BaseModel):
    """A card button's value: the approval; the action, unless the button's action id says
    it; the list the card sits in (to draw the clicker's ephemeral list again)."""

    approval: str
    action: str | None = None
    view: str | None = None
    arg: str | None = None
    # The key of the figures (`Figures.key`) the button's confirm dialog showed; None: none.
    seen: str | None = None


@dataclass(frozen=True)
class Place:
    """Where a card is drawn: the list it sits in (and that list's argument), carried by its
    buttons so the clicker's ephemeral list can be drawn again after a click."""

    view: str = ""
    arg: str = ""


@dataclass(frozen=True)
class Current:
    """What the platform says now about an item whose claim a dead process left:
    `took_effect` (the claimed action happened: settle as done), `waiting` (nothing happened:
    free the claim) or `elsewhere` (settled some other way: gone), with a short detail."""

    state: str
    detail: str = ""


TOOK_EFFECT, WAITING, ELSEWHERE = "took_effect", "waiting", "elsewhere"


@dataclass(frozen=True)
class Figures:
    """What an approving decision will change, as people read it ("Virtual Machine: 3 → 5
    of 8"), and a key made of the numbers alone: two readings of the platform agree when their
    keys do (names may be spelled differently, numbers not).

    A kind with a `preview` draws them in its approving button's confirm dialog when the card
    is drawn (kept in the approval's payload under FIGURES, the key in the button's value), and
    the flow reads them again at the click: the decision runs only on the figures the person
    confirmed; when they changed, the person is shown the new ones and asked again."""

    lines: tuple[str, ...]
    key: str

    def as_payload(self) -> dict[str, Any]:
        return {"lines": list(self.lines), "key": self.key}


FIGURES = "figures"  # the payload key of the figures drawn on the card
NO_FIGURES = "I could not fetch what this changes just now; you can still decide."


def figures_key(*numbers: object) -> str:
    """A short key for some numbers (what `Figures.key` compares)."""
    return hashlib.sha256(repr(numbers).encode()).hexdigest()[:12]


def stored_figures(payload: dict[str, Any]) -> Figures | None:
    """The figures an approval's card was drawn with (None: none could be fetched)."""
    found = payload.get(FIGURES)
    if not isinstance(found, dict) or not isinstance(found.get("key"), str):
        return None
    return Figures(tuple(str(line) for line in found.get("lines") or ()), found["key"])


def no_token_check(_: Credential) -> str | None:
    """Every credential of the platform can act on this kind."""
    return None


def account_names(credential: Credential) -> set[str]:
    """The names a linked account goes by: its account, and the user id and name the
    platform gave when it was linked (Astakos keeps `uuid` and `name` in the details)."""
    names = {credential.account}
    names.update(str(credential.details.get(k) or "") for k in ("uuid", "name", "username"))
    return {n for n in names if n}


WEEK = 7 * 86400.0


@dataclass(frozen=True)
class ApprovalKind:
    """One kind of approval of one platform (see the module docstring)."""

    key: str  # the approval row's kind ("commission")
    platform: str  # the platform key ("astakos")
    label: str  # in words, for people ("membership request")
    verbs: tuple[Verb, ...]  # the card's decisions, the approving one first
    permission: str  # the `approvers` setting key restricting who may act
    perform: Perform
    render: Render
    check: Check  # for bot.recovery
    describe: Describe  # the reason modal's text
    token_check: TokenCheck = no_token_check
    redraw: Redraw | None = None  # None: a clicked message that is no recorded copy is patched
    reason_note: str = ""  # under the reason input: where the reason goes
    reason_max_length: int = 500
    # The "n … waiting" line a list or digest shows above this kind's cards: a regex with
    # three groups (before the number, the number, after it), kept in line after a click.
    tally: str = ""
    recount: Recount | None = None
    # What its approving decision (the first verb) changes, read at the click (`Figures`);
    # None: the kind shows no figures and its approving button acts after its confirm dialog.
    preview: Preview | None = None
    # -- expiry and quorum; the TOML's `[approvers."<permission>"]` table overrides the first
    # three (bot.config.ApprovalRule).
    # Seconds a card takes clicks once the approval is first shown; 0: never.
    expires_after: float = WEEK
    # Different people who must approve before the platform call runs (once, as the last).
    required: int = 1
    # The person who asked may not approve their own item (when `requester` names them).
    maker_checker: bool = False
    deadline: Deadline | None = None  # the platform's own deadline: the earlier one wins
    requester: Requester | None = None
    identities: Identities = account_names

    @property
    def approving(self) -> Verb:
        """The verb that counts towards a quorum (the first: Accept, Approve ...)."""
        return self.verbs[0]

    def verb(self, action: str) -> Verb | None:
        return next((v for v in self.verbs if v.action == action), None)

    def verb_for(self, action_id: str) -> Verb | None:
        """The verb a button's action id stands for, when only one of this kind's verbs has
        it (buttons whose value names no action)."""
        found = [v for v in self.verbs if v.action_id == action_id]
        return found[0] if len(found) == 1 else None

    def past(self, action: str) -> str:
        """The past tense of one of this kind's actions, for "Already approved by …"."""
        verb = self.verb(action)
        return verb.past if verb else action


_KINDS: dict[tuple[str, str], ApprovalKind] = {}


def register(*kinds: ApprovalKind) -> None:
    """Make kinds known to the flow and the recovery (again: the latest declaration wins)."""
    for kind in kinds:
        _KINDS[(kind.platform, kind.key)] = kind


def find(platform: str, key: str) -> ApprovalKind | None:
    return _KINDS.get((platform, key))


def registered() -> tuple[ApprovalKind, ...]:
    return tuple(_KINDS.values())


def action_ids() -> list[str]:
    """Every action id a registered kind's buttons use, each once, in order."""
    return list(dict.fromkeys(v.action_id for k in _KINDS.values() for v in k.verbs))
