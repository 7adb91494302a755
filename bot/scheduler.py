"""Digests and alerts on a schedule: APScheduler 3.11's AsyncIOScheduler inside the bot's
event loop, rebuilt from the subscriptions table (the source of truth) at every start-up.

    job id "trigger:<n>"         one per distinct trigger among the active subscriptions
                                 (the trigger from each one's stored `<when>` text,
                                 bot.triggers; alerts on an interval): 10,000 subscriptions
                                 on `daily 09:00` are one job that starts all their runs, not
                                 10,000 jobs (3.6 KB each). `run_group` starts a run for each
                                 subscription not still busy with its previous one.
    run(sub, run_at, reason)     one run: sections composed concurrently (bounded per platform
                                 instance, bot.digests.compose), then posted exactly once
                                 (bot.digests.delivery); its pictures follow once no other
                                 digest text is pending (`digest now`: at once)

Start-up, after the HTTP server (or Socket Mode) is up:
1. runs a previous process left pending or posting (a crash, kill -9) are finished: found in
   the channel's history by their metadata, or posted;
2. for each digest, the latest scheduled run since it was last run (or created / resumed) that
   has no ledger row was missed while the bot was down: inside the grace window
   (`digest_grace` seconds) it runs once now; beyond it, it is recorded as skipped (ledger row
   + audit row) and not posted.
Both happen concurrently, as a fan-out, in a background task: start-up never waits for Slack.

Job functions are plain coroutines (`run_job`, `run`, `run_alert`, `run_now`), so tests call
them directly instead of waiting for wall-clock time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import errors, filters, membership, triggers
from bot.alert_threads import Conversation
from bot.digests import compose as composer
from bot.digests import pictures as digest_pictures
from bot.digests import registry
from bot.digests.base import DigestContext
from bot.digests.delivery import Outgoing, Poster
from bot.store import approvals as approval_rows
from bot.store import deliveries as ledger
from bot.store import subscriptions as subs
from bot.store.engine import Db

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

# Longest a digest's pictures wait for the other digests' texts (Scheduler._texts): a steady
# stream of texts must not keep them back for ever.
PICTURES_WAIT = 300.0


def group_key(row: dict[str, Any], trigger: Any) -> str:
    """Subscriptions whose runs fall at the same moments share a key (and one job). An
    interval is anchored at its subscription's creation: its anchor, to the second, is part of
    the key (the job may fire up to a second before a member's exact time; `run_job` looks
    for the run up to a second ahead)."""
    inner = getattr(trigger, "inner", trigger)
    if isinstance(inner, IntervalTrigger):
        start = inner.start_date.astimezone(UTC).replace(microsecond=0)
        return f"every {inner.interval.total_seconds():g}s from {start.isoformat()}"
    return f"{row['trigger']} in {row['tz'] or 'UTC'}"


def group_trigger(trigger: Any) -> Any:
    inner = getattr(trigger, "inner", trigger)
    if isinstance(inner, IntervalTrigger):
        return IntervalTrigger(
            seconds=inner.interval.total_seconds(),
            timezone=UTC,
            start_date=inner.start_date.astimezone(UTC).replace(microsecond=0),
        )
    return trigger


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def trigger_for(row: dict[str, Any], alert_interval: float) -> Any:
    if row["kind"] == subs.ALERT:
        if row["trigger"]:
            return triggers.build(
                row["trigger"], row["tz"] or "UTC", anchor=parse_time(row["created_at"])
            ).trigger
        return IntervalTrigger(
            seconds=max(alert_interval, 1.0), timezone=UTC, start_date=parse_time(row["created_at"])
        )
    return triggers.build(
        row["trigger"], row["tz"] or "UTC", anchor=parse_time(row["created_at"])
    ).trigger


def heading(row: dict[str, Any], title: Callable[[str], str]) -> str:
    what = row["platforms"]
    if what != "all":
        what = ", ".join(
            title(t.platform) + (f" ({t.instance})" if t.instance else "")
            for t in composer.parse_targets(what)
        )
    else:
        what = "all your platforms"
    return f"Digest #{row['id']}: {what}"


class Scheduler:
    def __init__(self) -> None:
        self.services: Services | None = None
        self.aps: AsyncIOScheduler | None = None
        self.poster: Poster | None = None
        self.gates: composer.Gates | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.recovered: asyncio.Event | None = None  # set once start-up recovery is done
        # group key -> its subscriptions, and back; the APScheduler job of a group.
        self._groups: dict[str, set[int]] = {}
        self._group_of: dict[int, str] = {}
        self._job_ids: dict[str, str] = {}
        self.busy: set[int] = set()  # subscriptions whose run is still going
        self._numbers = itertools.count(1)
        # This process as it claims digest runs in the ledger (unique per start).
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._version: int | None = None  # the subscriptions counter the jobs reflect
        # Digest texts being composed or posted in this process. A digest's pictures wait for
        # none to be left (at most PICTURES_WAIT seconds), so a fan-out's texts all go out
        # first: drawing and uploading would otherwise take the CPU and the Slack calls the
        # remaining texts need (1,000 users: 163 s until the last text, 105 s without charts).
        self._texts = 0
        self._no_texts: asyncio.Event | None = None  # made in the loop that runs digests

    def attach(self, services: Services) -> None:
        self.services = services

    @property
    def running(self) -> bool:
        return self.aps is not None and self.aps.running

    # -- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        services = self._services()
        settings = services.settings
        if self.running or not settings.scheduler_enabled:
            return
        self.loop = asyncio.get_running_loop()
        self.recovered = asyncio.Event()
        self._delivery()
        self.aps = AsyncIOScheduler(
            event_loop=self.loop,
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": max(1, int(settings.digest_grace)),
            },
        )
        self._version = await services.store.run(subs.version)
        for row in await services.store.run(subs.all_active):
            self._add_job(row)
        self.aps.start()
        self.spawn(self._recover())
        log.info(
            "scheduler started with %d subscription(s) in %d job(s)",
            self.jobs(),
            len(self.aps.get_jobs()),
        )

    def _delivery(self) -> tuple[Poster, composer.Gates]:
        """The poster and the platform gates, built once per process: by `start` on the
        leader, or by the first run asked for on a replica that does not lead (`run_now`)."""
        if self.poster is None or self.gates is None:
            settings = self._services().settings
            token = (
                settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
            )
            self.poster = Poster(
                store=self._services().store,
                token=token,
                base_url=settings.slack_api_url.rstrip("/") + "/",
                now=self._services().now,
                channel_interval=settings.slack_channel_interval,
                per_minute=settings.slack_workspace_per_minute,
                uploads_per_minute=settings.slack_uploads_per_minute,
                settle=settings.digest_recovery_settle,
                owner=self.owner,
            )
            self.gates = composer.Gates(settings.digest_platform_concurrency)
        return self.poster, self.gates

    async def shutdown(self, drain: float = 0.0) -> None:
        """Stop firing; runs in flight get `drain` seconds to finish, then are cancelled (a
        cancelled run is left in the ledger for the next leader to finish)."""
        if self.aps is not None and self.aps.running:
            self.aps.shutdown(wait=False)
        tasks = list(self._tasks)
        if tasks and drain > 0:
            _, pending = await asyncio.wait(tasks, timeout=drain)
            if pending:
                log.warning(
                    "%d digest/alert run(s) still going after %s s: left to the next leader",
                    len(pending),
                    drain,
                )
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.aps = None
        self._groups.clear()
        self._group_of.clear()
        self._job_ids.clear()
        self.busy.clear()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def jobs(self) -> int:
        """Scheduled subscriptions (digests and alerts that will run by themselves)."""
        return len(self._group_of) if self.aps is not None else 0

    def scheduled(self, sub_id: int) -> bool:
        return self.aps is not None and sub_id in self._group_of

    # -- the table changed ----------------------------------------------------------------
    async def sync(self) -> bool:
        """Rebuild the jobs when the subscriptions changed on any replica (their change
        counter moved); the leader calls this every few seconds. True when it rebuilt."""
        if self.aps is None:
            return False
        services = self._services()
        version = await services.store.run(subs.version)
        if version == self._version:
            return False
        self._version = version
        active = {row["id"]: row for row in await services.store.run(subs.all_active)}
        for sub_id in [s for s in self._group_of if s not in active]:
            self.removed(sub_id)  # removed or paused
        for sub_id, row in active.items():
            if self._group_of.get(sub_id) != self._key(row):
                self._add_job(row)  # new, resumed, or its schedule changed
        log.info("subscriptions changed: %d job(s) now", self.jobs())
        return True

    def _key(self, row: dict[str, Any]) -> str | None:
        try:
            return group_key(row, trigger_for(row, self._services().settings.alert_interval))
        except errors.BotError:
            return None

    def _add_job(self, row: dict[str, Any]) -> None:
        if self.aps is None or row["paused"]:
            return
        try:
            trigger = trigger_for(row, self._services().settings.alert_interval)
        except errors.BotError as error:
            log.warning("subscription %s has a bad schedule (%s): not scheduled", row["id"], error)
            return
        self.removed(row["id"])  # a changed subscription may move to another group
        key = group_key(row, trigger)
        members = self._groups.setdefault(key, set())
        members.add(row["id"])
        self._group_of[row["id"]] = key
        if key not in self._job_ids:
            self._job_ids[key] = f"trigger:{next(self._numbers)}"
            self.aps.add_job(
                self.run_group,
                trigger=group_trigger(trigger),
                args=[key],
                id=self._job_ids[key],
                name=key,
            )

    def added(self, row: dict[str, Any]) -> None:
        self._add_job(row)

    def removed(self, sub_id: int) -> None:
        key = self._group_of.pop(sub_id, None)
        if key is None:
            return
        members = self._groups.get(key, set())
        members.discard(sub_id)
        if not members:
            self._groups.pop(key, None)
            job = self._job_ids.pop(key, None)
            if self.aps is not None and job is not None and self.aps.get_job(job) is not None:
                self.aps.remove_job(job)

    def next_runs(self, row: dict[str, Any], n: int = 3) -> list[datetime]:
        if row["paused"]:
            return []
        try:
            trigger = trigger_for(row, self._services().settings.alert_interval)
        except errors.BotError:
            return []
        return triggers.next_runs(trigger, self._services().now(), n)

    # -- runs ------------------------------------------------------------------------------
    async def run_group(self, key: str) -> None:
        """What APScheduler calls for a trigger: a run of every subscription on it, each in
        its own task; one still busy with its previous run is left to it (as APScheduler's
        max_instances=1 did for a job of its own)."""
        for sub_id in sorted(self._groups.get(key, ())):
            if sub_id in self.busy:
                continue
            self.busy.add(sub_id)
            task = self.spawn(self.run_job(sub_id))

            def done(_: object, sub_id: int = sub_id) -> None:
                self.busy.discard(sub_id)

            task.add_done_callback(done)

    async def run_job(self, sub_id: int) -> None:
        """What APScheduler calls: the run it fired for is the latest scheduled time ≤ now."""
        services = self._services()
        row = await services.store.run(subs.get, sub_id)
        if row is None or row["paused"]:
            return
        if not await services.installation.can_post():
            log.info(
                "%s %s skipped: posting to Slack is paused (%s)",
                row["kind"],
                sub_id,
                services.installation.paused,
            )
            return
        if row["kind"] == subs.ALERT:
            await self.run_alert(row)
            return
        now = services.now()
        trigger = trigger_for(row, services.settings.alert_interval)
        run_at = (
            triggers.last_run_before(trigger, now + timedelta(seconds=1), now - timedelta(days=2))
            or now
        )
        await self.run(row, run_at, reason="scheduled")

    async def run(self, row: dict[str, Any], run_at: datetime, *, reason: str) -> str:
        """One digest run, delivered once. Returns what happened (delivered / empty / …)."""
        services = self._services()
        assert self.poster is not None and self.gates is not None
        if not await membership.owner_present(services, row):
            return "paused: its owner left the channel"
        key = run_at.astimezone(UTC).isoformat()
        sub_id = row["id"]
        entry = await services.store.run(ledger.open_run, sub_id, key, reason)
        state: str = entry["state"]
        if state in ledger.FINAL:
            return state
        if entry["state"] != ledger.POSTING and not await services.store.run(
            ledger.claim, sub_id, key, self.owner, services.now().isoformat()
        ):
            return "busy"  # another run of it is being composed right now
        destination = row["channel"] or row["owner"]
        try:
            if entry["state"] == ledger.POSTING:
                # Posted by a process that died before recording it? Look before composing.
                channel = entry["channel"] or await self.poster.channel_id(destination)
                started = parse_time(entry["posting_at"]) or services.now()
                wait = (
                    started + timedelta(seconds=self.poster.settle) - services.now()
                ).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
                ts = await self.poster.find_posted(channel, sub_id, key, started)
                if ts is not None:
                    await services.store.run(
                        ledger.finish,
                        sub_id,
                        key,
                        ledger.DELIVERED,
                        ts=ts,
                        at=services.now().isoformat(),
                        detail="found in history",
                    )
                    await self._ran(row, key, reason)
                    return ledger.DELIVERED
            self._text_begins()
            try:
                narrowed = filters.parse_text(row.get("filters"))
                targets = await composer.resolve_targets(
                    services, row["owner"], row["platforms"], narrowed
                )
                since = parse_time(row["last_run_at"])
                digest = await composer.compose(
                    services,
                    owner=row["owner"],
                    targets=targets,
                    now=services.now(),
                    since=since,
                    gates=self.gates,
                    heading=heading(row, services.platforms.title),
                    filters=narrowed,
                )
                if not targets:
                    digest.blocks.insert(
                        1,
                        {
                            "type": "section",
                            "text": {
                                "type": "mrkdwn",
                                "text": "You have no linked account on a configured "
                                "platform. Run `/ops link <platform>` first.",
                            },
                        },
                    )
                fresh = entry["state"] == ledger.PENDING
                if digest.empty and row["skip_empty"] and targets and fresh:
                    await services.store.run(
                        ledger.finish,
                        sub_id,
                        key,
                        ledger.EMPTY,
                        at=services.now().isoformat(),
                        detail="nothing new",
                    )
                    await self._ran(row, key, reason)
                    return ledger.EMPTY
                pictures_follow = await digest_pictures.prepare(services, digest)
                ts = await self.poster.deliver(
                    Outgoing(
                        sub_id,
                        key,
                        destination,
                        digest.text,
                        digest.blocks,
                        after=self._after(
                            digest.approvals,
                            digest.blocks,
                            ran=(sub_id, key) if reason != "now" else None,
                        ),
                    )
                )
            finally:
                self._text_ends()
            if ts is None:
                return "busy"
            if pictures_follow:
                # A run someone asked for (`digest now`) is theirs: its pictures follow it.
                if reason != "now" and self._texts and self._no_texts is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._no_texts.wait(), PICTURES_WAIT)
                channel = await self.poster.channel_id(destination)
                await self.poster.uploads.wait(channel)
                await digest_pictures.follow(services, channel, digest)
            return ledger.DELIVERED
        except asyncio.CancelledError:
            raise
        except Exception as error:
            detail = getattr(error, "response", None)
            text = (
                detail.get("error")
                if detail is not None and hasattr(detail, "get")
                else type(error).__name__
            )
            log.exception("digest %s run %s failed", sub_id, key)
            await self.poster.mark_failed(sub_id, key, str(text))
            await services.store.run(subs.ran, sub_id, "", f"run {key}: {text}")
            return ledger.FAILED

    def _text_begins(self) -> None:
        if self._no_texts is None:
            self._no_texts = asyncio.Event()
        self._texts += 1
        self._no_texts.clear()

    def _text_ends(self) -> None:
        self._texts -= 1
        if not self._texts and self._no_texts is not None:
            self._no_texts.set()

    async def _ran(self, row: dict[str, Any], key: str, reason: str) -> None:
        if reason != "now":
            await self._services().store.run(subs.ran, row["id"], key)

    def _after(
        self, approvals: list[str], blocks: list[dict[str, Any]], *, ran: tuple[int, str] | None
    ) -> Any:
        """What a delivery records with its ledger row, in the same store call: the approval
        cards it carries (so a click on any copy updates them all) and the last run."""
        at = self._services().now().isoformat(timespec="seconds")

        def record(db: Db, channel: str, ts: str) -> None:
            if approvals:
                approval_rows.add_copies(db, approvals, channel, ts, blocks, at)
            if ran is not None:
                subs.ran(db, *ran)

        return record

    async def run_now(self, row: dict[str, Any]) -> str:
        """`/ops digest now <id>` and the Run now button: a run of its own, at once. Any
        replica runs it, leader or not: the run is claimed in the ledger like every other, so
        the person does not depend on which replica took the command."""
        self._delivery()
        if row["kind"] == subs.ALERT:
            return str(await self.run_alert(row))
        return await self.run(row, self._services().now(), reason="now")

    async def run_alert(self, row: dict[str, Any]) -> int:
        """Post what is new in the alert's source: new subjects, later facts in their threads;
        returns how many messages were posted."""
        services = self._services()
        assert self.poster is not None and self.gates is not None
        source = registry.alerts(services.settings.descriptors).get(row["source"])
        if source is None or not await membership.owner_present(services, row):
            return 0
        platform = row["source"].split(".", 1)[0]
        now = services.now()
        narrowed = filters.parse_text(row.get("filters"))
        try:
            credential = await services.accounts.credential(
                row["owner"], platform, row["instance"] or narrowed.instance or None
            )
            ctx = DigestContext(
                services=services,
                credential=credential,
                now=now,
                since=parse_time(row["last_run_at"]),
                subscription=row["id"],
                filters=narrowed,
            )
            async with self.gates(platform, credential.instance):
                items = await source(ctx)
        except errors.Unauthorized as error:
            await composer.relink_dm(services, row["owner"], platform, error.instance)
            await services.store.run(subs.ran, row["id"], "", "credential refused")
            return 0
        except errors.BotError as error:
            await services.store.run(subs.ran, row["id"], "", str(error))
            return 0
        # New subjects as parents, later facts in their threads (bot.alert_threads).
        posted = await Conversation(services, self.poster, row).tell(items)
        await services.store.run(subs.ran, row["id"], now.astimezone(UTC).isoformat())
        return posted

    # -- start-up --------------------------------------------------------------------------
    async def _recover(self) -> None:
        try:
            await self.recover()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler recovery failed")
        finally:
            if self.recovered is not None:
                self.recovered.set()

    async def recover(self) -> None:
        services = self._services()
        now = services.now()
        grace = timedelta(seconds=services.settings.digest_grace)
        work: list[Coroutine[Any, Any, int | str]] = []
        seen_runs: set[tuple[int, str]] = set()
        for entry in await services.store.run(ledger.unfinished):
            row = await services.store.run(subs.get, entry["subscription_id"])
            if row is None:
                continue
            seen_runs.add((row["id"], entry["run_at"]))
            if entry["run_at"].startswith("item:"):
                work.append(self.run_alert(row))
            else:
                run_at = parse_time(entry["run_at"]) or now
                work.append(self.run(row, run_at, reason=entry["reason"] or "recovered"))
        # One query for every subscription's last run: a store round trip each would keep the
        # store thread (and every command waiting on it) busy for seconds with 10,000 of them.
        latest = await services.store.run(ledger.latest_runs)
        for row in await services.store.run(subs.all_active):
            if row["kind"] != subs.DIGEST:
                continue
            try:
                trigger = trigger_for(row, services.settings.alert_interval)
            except errors.BotError:
                continue
            last = latest.get(row["id"], "")
            after = max(
                t
                for t in (
                    parse_time(row["created_at"]),
                    parse_time(row["resumed_at"]),
                    parse_time(last),
                    now - timedelta(days=400),
                )
                if t
            )
            missed = triggers.last_run_before(trigger, now, after)
            if missed is None:
                continue
            key = missed.astimezone(UTC).isoformat()
            if (row["id"], key) in seen_runs:
                continue
            if now - missed <= grace:
                work.append(self.run(row, missed, reason="missed"))
            else:
                detail = (
                    f"missed while the bot was down; {int((now - missed).total_seconds())}"
                    f" s late, beyond the {int(grace.total_seconds())} s grace window"
                )
                if await services.store.run(
                    ledger.record, row["id"], key, ledger.SKIPPED, "missed", detail, now.isoformat()
                ):
                    await services.audit.record(
                        user_id=row["owner"],
                        action="digest.skipped",
                        target=f"#{row['id']} {key}",
                        result="skipped",
                        detail=detail,
                    )
        if work:
            log.info("scheduler start-up: %d run(s) to finish or catch up", len(work))
            await asyncio.gather(*work, return_exceptions=True)

    def _services(self) -> Services:
        if self.services is None:
            raise RuntimeError("the scheduler is not attached to services")
        return self.services
