"""The contract between the scheduler and the platforms.

A digest is one message per run: one `Section` per platform the subscription names. Each
platform module in this package (`bot/digests/<platform>.py`) provides

    async def section(ctx: DigestContext) -> Section
    ALERTS: dict[str, AlertSource]        # e.g. {"astakos.commissions": new_commissions}
    FILTERS: tuple[str, ...]              # the filter fields its section applies
    ALERT_FILTERS: dict[str, tuple[str, ...]]   # per alert source, the fields it applies
    async def project_names(ctx) -> list[str]   # if it filters by project: what exists

and is named by its platform's descriptor (`section=`, `alerts=`, `filters=`, `alert_filters=`,
`projects=`). A section never raises for a platform failure:
the composer catches `bot.errors.PlatformError` and shows a one-line reason in that section
(Unauthorized additionally triggers the owner's single re-link DM).

Alert sources return every item currently worth telling, each about a `subject` in a `state`;
bot/alert_threads.py posts a subject's first item as a parent message and each later change
of its state (or its absence, when the item said what that means: `gone`) as a reply in that
message's thread, each exactly once (the delivery ledger).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.charts import Chart
from bot.filters import NONE, Filters
from bot.platforms.base import Credential

if TYPE_CHECKING:
    from bot.services import Services

Block = dict[str, Any]


@dataclass(frozen=True)
class DigestContext:
    services: Services
    credential: Credential  # the subscription owner's, for this platform
    now: datetime
    since: datetime | None  # the previous run of this subscription (None: first run)
    subscription: int | None = None  # its id, for sources that compare with their last poll
    # What the subscription is narrowed to (bot.filters). A section or source applies the
    # fields it declares (`FILTERS`, `ALERT_FILTERS` beside it): at the platform when its API
    # can, else after the fetch. `instance` is applied before: it picks the account.
    filters: Filters = NONE


@dataclass(frozen=True)
class Section:
    platform: str
    title: str  # "Dataiku DSS (design)"
    blocks: list[Block]
    empty: bool  # nothing worth telling (for skip-empty)
    # Approval ids whose cards are in `blocks`: the poster records the message as a copy of
    # each, so a click anywhere updates every copy (bot.approvals).
    approvals: list[str] = field(default_factory=list)
    error: str = ""  # one line when the platform could not be asked
    # Pictures of this section (bot.charts): drawn and posted with the digest, the text
    # above stays whole whether or not they can be drawn.
    charts: list[Chart] = field(default_factory=list)


@dataclass(frozen=True)
class AlertItem:
    key: str  # stable identity, e.g. "astakos:okeanos:commission:56"
    text: str  # notification text (also the message's fallback text)
    blocks: list[Block]
    approvals: list[str] = field(default_factory=list)
    # The item's stable identity across polls, the key of its thread: every later fact about
    # it (a new `state`, or its absence when `gone` says what that means) is a reply under
    # the first message. Empty means `key`.
    subject: str = ""
    # Its kind within its source, one word ("future", "run", "instance", "commission",
    # "membership", "breach", "limit", "task", "status"): what a mute of "every item of this
    # kind" names.
    kind: str = ""
    state: str = ""  # the state line, in words ("running", "failed", "waiting for approval")
    failed: bool = False  # a failure: the reply is broadcast to the channel as well
    # The words for when the source no longer returns the subject ("cleared", "resolved
    # elsewhere"); None: its absence says nothing (it may just be filtered out or purged).
    gone: str | None = None


SectionSource = Callable[[DigestContext], Awaitable[Section]]
AlertSource = Callable[[DigestContext], Awaitable[list[AlertItem]]]
