"""Digests end to end: `/ops digest …` through signed Slack requests, sections from the DSS
and Atoti Limits emulators, the channel confirmation, App Home controls, the re-link DM,
skip-empty, fan-out under 429 storms, and restarts inside and beyond the grace window."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.server import BotServer
from emulators.dss import DEMO as DSS_DEMO
from emulators.limits import DEMO as LIMITS_DEMO
from emulators.limits import LimitsEmulator
from tests.e2e.helpers import dms, link, reply_to, texts
from tests.support.bot import make_settings, on_bot

ALICE_KEY = DSS_DEMO["alice"]["api_key"]


@pytest.fixture(scope="module")
def limits_emulator():
    with LimitsEmulator() as emulator:
        yield emulator


@pytest.fixture
def limits(limits_emulator):
    limits_emulator.faults.clear()
    return limits_emulator


@pytest.fixture
def platforms(dss, limits):
    return {
        "dss": [{"name": "prod", "url": dss.url}],
        "limits": [{"name": "risk", "url": limits.url}],
    }


@pytest.fixture
def settings(tmp_path, slack, platforms):
    return make_settings(
        tmp_path,
        slack,
        platforms=platforms,
        slack_channel_interval=0.05,
        digest_recovery_settle=0.5,
    )


def rows(settings, sql: str, *args: Any) -> list[tuple]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute(sql, args).fetchall()


def digest_messages(slack, channel: str, sub_id: int) -> list:
    return [
        m
        for m in slack.messages(channel)
        if m.metadata and m.metadata["event_payload"]["subscription"] == sub_id
    ]


async def link_alice(driver, slack):
    assert "Linked" in await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    values = {k: LIMITS_DEMO["alice"][k] for k in ("username", "password")}
    assert "Linked" in await link(driver, slack, "alice", "limits", values)


async def test_add_replies_with_the_next_three_runs_in_the_profile_time_zone(driver, slack, bot):
    reply = await reply_to(
        driver, slack, "alice", "/ops", "digest add dss weekdays 08:30", expect="Digest added"
    )
    body = texts(reply.blocks)
    assert "`weekdays 08:30` (Europe/Paris)" in body  # alice's Slack profile zone
    assert body.count("<!date^") == 3
    row = rows(bot.settings, "select owner, platforms, trigger, tz, channel from subscriptions")
    assert row == [("U0ALICE", "dss", "weekdays 08:30", "Europe/Paris", "")]
    audit = rows(bot.settings, "select action, result from audit where action like 'digest.%'")
    assert audit == [("digest.add", "ok")]
    assert bot.services.scheduler.scheduled(1)


async def test_tz_option_and_bad_schedules(driver, slack, bot):
    reply = await reply_to(
        driver,
        slack,
        "bob",
        "/ops",
        'digest add dss,limits cron "0 9 * * 1-5" tz=Asia/Tokyo',
        expect="Digest added",
    )
    assert "(Asia/Tokyo)" in texts(reply.blocks)
    bad = await reply_to(
        driver, slack, "bob", "/ops", "digest add dss every 2m", expect="too often"
    )
    assert "every 5m" in bad.text
    bad = await reply_to(
        driver, slack, "bob", "/ops", "digest add dss sometimes", expect="can't read"
    )
    assert "`weekly mon 09:00`" in bad.text and "cron" in bad.text
    bad = await reply_to(
        driver,
        slack,
        "bob",
        "/ops",
        "digest add jira daily 09:00",
        expect="not a configured platform",
    )


async def test_digest_now_sections_in_order_and_a_failing_platform_marked(
    driver, slack, bot, limits
):
    await link_alice(driver, slack)
    await reply_to(
        driver, slack, "alice", "/ops", "digest add all daily 09:00", expect="Digest added"
    )
    limits.faults.set(status=503)
    await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")
    [message] = digest_messages(slack, "DALICE"[0] + "0ALICE", 1)
    body = texts(message.blocks)
    assert body.index("Dataiku DSS (prod)") < body.index("Atoti Limits (risk)")
    assert "Atoti Limits (risk) is unavailable" in body
    assert "Running" in body or "Nothing to report" in body  # the DSS section itself
    assert len(message.blocks) <= 50
    # The digest went out once; a second `now` is a new run, also posted once.
    await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")
    assert len(digest_messages(slack, "D0ALICE", 1)) == 2


async def test_skip_empty_posts_nothing_when_nothing_is_new(driver, slack, bot, dss):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    await reply_to(
        driver,
        slack,
        "alice",
        "/ops",
        "digest add dss daily 09:00 skip-empty",
        expect="skips empty runs",
    )
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Digest added"
    )
    saved = dict(dss.futures)
    dss.futures.clear()  # nothing running (the emulator is shared: restored below)
    try:
        await _run_both(bot)
    finally:
        dss.futures.update(saved)
    assert digest_messages(slack, "D0ALICE", 1) == []
    [plain] = digest_messages(slack, "D0ALICE", 2)
    assert "No task running" in texts(plain.blocks)
    states = rows(bot.settings, "select subscription_id, state from deliveries order by 1")
    assert states == [(1, "empty"), (2, "delivered")]


async def _run_both(bot) -> None:
    now = datetime.now(UTC).isoformat()
    with sqlite3.connect(bot.settings.db_path) as db:  # the last digest was just now
        db.execute("update subscriptions set last_run_at = ?", [now])
    scheduler = bot.services.scheduler
    run_at = datetime.now(UTC)
    for sub_id in (1, 2):
        row = await on_bot(bot, _get(bot, sub_id))
        await on_bot(bot, scheduler.run(row, run_at, reason="scheduled"))


async def _get(bot, sub_id):
    from bot.store import subscriptions as subs

    return await bot.services.store.run(subs.get, sub_id)


async def test_posting_to_a_channel_needs_the_bot_there_and_the_owners_confirmation(
    driver, slack, bot
):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    refused = await reply_to(
        driver,
        slack,
        "alice",
        "/ops",
        "digest add dss daily 09:00 to #data",
        expect="/invite @switchboard",
    )
    assert "<#C0DATA>" in refused.text
    assert rows(bot.settings, "select count(*) from subscriptions") == [(0,)]
    prompt = await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00 to #ops", expect="Everyone in"
    )
    assert "as *alice*" in texts(prompt.blocks)
    assert rows(bot.settings, "select count(*) from subscriptions") == [(0,)]
    await driver.click("alice", prompt, text="Confirm")
    await driver.wait_for(lambda: rows(bot.settings, "select channel from subscriptions"))
    assert rows(bot.settings, "select owner, channel from subscriptions") == [("U0ALICE", "C0OPS")]
    await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1 to <#C0OPS>")
    assert len(digest_messages(slack, "C0OPS", 1)) == 1


async def test_list_pause_resume_remove_with_audit(driver, slack, bot):
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Digest added"
    )
    listing = await reply_to(driver, slack, "alice", "/ops", "digest list", expect="#1")
    assert "Next runs" in texts(listing.blocks)
    paused = await reply_to(driver, slack, "alice", "/ops", "digest pause 1", expect="Paused #1")
    assert "paused" in texts(paused.blocks)
    assert not bot.services.scheduler.scheduled(1)
    await reply_to(driver, slack, "alice", "/ops", "digest resume 1", expect="Resumed #1")
    assert bot.services.scheduler.scheduled(1)
    other = await reply_to(driver, slack, "bob", "/ops", "digest remove 1", expect="no digest")
    assert "#1" in other.text
    ask = await reply_to(driver, slack, "alice", "/ops", "digest remove 1", expect="Remove #1?")
    assert bot.services.scheduler.scheduled(1)  # asked first, nothing removed yet
    await driver.click("alice", ask, text="Remove")
    await driver.wait_for(lambda: not bot.services.scheduler.scheduled(1))

    def actions() -> list[str]:
        sql = "select action from audit where action like 'digest.%' order by id"
        return [a for (a,) in rows(bot.settings, sql)]

    # The audit row is written after the job is unscheduled: wait for it, not for the job.
    await driver.wait_for(lambda: "digest.remove" in actions())
    assert actions() == ["digest.add", "digest.pause", "digest.resume", "digest.remove"]


async def test_app_home_lists_digests_with_pause_run_now_and_remove(driver, slack, bot):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss every 30m", expect="Digest added"
    )
    await driver.home_opened("alice")
    home = await driver.wait_for(lambda: slack.home("alice"))
    body = texts(home.blocks)
    assert "Your digests and alerts" in body and "every 30m" in body
    await driver.click("alice", home, text="Pause")
    await driver.wait_for(lambda: "Resume" in texts(slack.home("alice").blocks))
    await driver.click("alice", slack.home("alice"), text="Run now")
    await driver.wait_for(lambda: digest_messages(slack, "D0ALICE", 1))
    await driver.click("alice", slack.home("alice"), text="Remove")
    await driver.wait_for(lambda: "None yet" in texts(slack.home("alice").blocks))
    assert rows(bot.settings, "select count(*) from subscriptions") == [(0,)]


async def test_a_refused_credential_marks_the_section_and_sends_one_relink_dm(
    driver, slack, bot, dss
):
    await link(driver, slack, "alice", "dss", {"api_key": ALICE_KEY})
    await reply_to(
        driver, slack, "alice", "/ops", "digest add dss daily 09:00", expect="Digest added"
    )
    await reply_to(
        driver, slack, "bob", "/ops", "digest add dss daily 09:00", expect="Digest added"
    )
    dss.faults.set(status=401)
    try:
        for _ in range(2):
            await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")
        await reply_to(driver, slack, "bob", "/ops", "digest now 2", expect="Posted #2")
    finally:
        dss.faults.clear()
    marked = [texts(m.blocks) for m in digest_messages(slack, "D0ALICE", 1)]
    assert len(marked) == 2 and all("refused your credential" in t for t in marked)
    assert dms(slack, "alice").count("cannot show it. Run `/ops link dss prod`") == 1
    # Bob (never linked) is told in his own digest; the scheduler kept serving him.
    [bobs] = digest_messages(slack, "D0BOB", 2)
    assert "no linked Dataiku DSS" in texts(bobs.blocks)


async def test_fan_out_under_a_429_storm_delivers_every_digest_once(driver, slack, bot):
    from bot.store import subscriptions as subs

    async def add(channel: str) -> dict:
        return await bot.services.store.run(
            subs.add,
            {
                "owner": "U0CAROL",
                "kind": "digest",
                "platforms": "dss",
                "trigger": "daily 09:00",
                "tz": "UTC",
                "channel": channel,
                "skip_empty": 0,
                "created_at": "2024-01-01T00:00:00+00:00",
            },
        )

    with slack.workspace.lock:  # the owner must be in the channel (bot.membership)
        slack.channel("C0OPS").members.add("U0CAROL")
    made = [await on_bot(bot, add(c)) for c in ["C0OPS"] * 4 + [""] * 2]
    slack.enforce_rate_limits(per_channel_per_second=5, burst=2)
    slack.ratelimit("chat.postMessage", times=4, retry_after=1)
    run_at = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    scheduler = bot.services.scheduler

    async def fan_out() -> list[str]:
        return list(
            await asyncio.gather(*(scheduler.run(row, run_at, reason="scheduled") for row in made))
        )

    outcomes = await on_bot(bot, fan_out())
    assert outcomes == ["delivered"] * 6
    limited = [c for c in slack.calls("chat.postMessage") if c.status == 429]
    assert len(limited) >= 4
    for row in made:
        channel = row["channel"] or "D0CAROL"  # no channel: the owner's DM
        assert len(digest_messages(slack, channel, row["id"])) == 1
    # Running the same run again (a duplicate fire) posts nothing more.
    again = await on_bot(bot, scheduler.run(made[0], run_at, reason="scheduled"))
    assert again == "delivered"
    assert len(digest_messages(slack, "C0OPS", made[0]["id"])) == 1


async def test_restart_runs_a_missed_digest_inside_the_grace_window_and_skips_beyond(
    tmp_path, slack, platforms
):
    settings = make_settings(
        tmp_path, slack, platforms=platforms, digest_grace=600, slack_channel_interval=0.05
    )
    now = datetime.now(UTC)
    inside = (now - timedelta(minutes=3)).strftime("%H:%M")
    beyond = (now - timedelta(minutes=30)).strftime("%H:%M")
    from bot.store import Store
    from bot.store import subscriptions as subs

    store = Store(settings.db_path)  # written while the bot is down
    for when in (inside, beyond):
        store.run_sync(
            subs.add,
            {
                "owner": "U0CAROL",
                "kind": "digest",
                "platforms": "dss",
                "trigger": f"daily {when}",
                "tz": "UTC",
                "channel": "",
                "skip_empty": 0,
                "created_at": (now - timedelta(days=2)).isoformat(),
            },
        )
    # Both had their run yesterday; today's came while the bot was down.
    yesterday = (now - timedelta(days=1)).isoformat()
    store.run_sync(
        lambda db: (
            db.execute("update subscriptions set last_run_at = ?", [yesterday]) and db.conn.commit()
        )
    )
    store.close()
    with BotServer(settings) as bot:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_recovered(bot), _loop(bot)))
        delivered = rows(
            settings,
            "select subscription_id, state, reason from deliveries order by subscription_id",
        )
    assert delivered[0][:2] == (1, "delivered") and delivered[0][2] == "missed"
    assert delivered[1][:2] == (2, "skipped")
    assert len(digest_messages(slack, "D0CAROL", 1)) == 1
    assert digest_messages(slack, "D0CAROL", 2) == []
    skipped = rows(settings, "select action, result from audit where action = 'digest.skipped'")
    assert skipped == [("digest.skipped", "skipped")]
    # A third start finds nothing left to do: still exactly one message.
    with BotServer(settings) as bot:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_recovered(bot), _loop(bot)))
    assert len(digest_messages(slack, "D0CAROL", 1)) == 1


def _loop(bot: BotServer) -> asyncio.AbstractEventLoop:
    import time

    deadline = time.monotonic() + 10
    while bot.services.scheduler.loop is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return bot.services.scheduler.loop


async def _recovered(bot: BotServer) -> None:
    # Runs on the scheduler's loop, which start() set together with this event (no await
    # between the two), so the event is there by the time this runs.
    recovered = bot.services.scheduler.recovered
    assert recovered is not None
    await asyncio.wait_for(recovered.wait(), 20)


async def test_alert_posts_only_items_not_posted_before(driver, slack, bot):
    await link_alice(driver, slack)
    reply = await reply_to(
        driver, slack, "alice", "/ops", "alert add limits.pending", expect="Alert added"
    )
    assert "alert `limits.pending`" in texts(reply.blocks)
    first = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")
    count = int(first.text.split(": ")[1].split()[0])
    assert count >= 1
    assert "Waiting for approval on Atoti Limits" in dms(slack, "alice")
    before = len(slack.messages("D0ALICE"))
    again = await reply_to(driver, slack, "alice", "/ops", "alert now 1", expect="Checked #1")
    assert "0 new item(s)" in again.text
    assert len(slack.messages("D0ALICE")) == before
    # The cards were recorded as copies, so an approval click updates them in place.
    copies = rows(bot.settings, "select count(*) from approval_messages where channel = 'D0ALICE'")
    assert copies == [(count,)]
    bad = await reply_to(
        driver, slack, "alice", "/ops", "alert add jira.tickets", expect="not an alert source"
    )
    assert "limits.breaches" in bad.text


async def test_subscriptions_on_one_trigger_share_one_job_and_each_is_delivered_once(
    driver, slack, bot
):
    from bot.store import subscriptions as subs

    scheduler = bot.services.scheduler
    with slack.workspace.lock:  # the owner must be in the channel (bot.membership)
        slack.channel("C0OPS").members.add("U0CAROL")

    async def add(trigger: str, created: str = "2024-01-01T00:00:00+00:00") -> dict:
        row = await bot.services.store.run(
            subs.add,
            {
                "owner": "U0CAROL",
                "kind": "digest",
                "platforms": "dss",
                "trigger": trigger,
                "tz": "UTC",
                "channel": "C0OPS",
                "skip_empty": 0,
                "created_at": created,
            },
        )
        scheduler.added(row)
        return row

    daily = [await on_bot(bot, add("daily 09:00")) for _ in range(5)]
    await on_bot(bot, add("weekdays 08:30"))
    await on_bot(bot, add("every 30m", "2024-01-01T00:00:00.250+00:00"))
    await on_bot(bot, add("every 30m", "2024-01-01T00:07:00+00:00"))  # another anchor
    assert scheduler.jobs() == 8  # /ops status counts subscriptions
    jobs = scheduler.aps.get_jobs()
    assert sorted(job.name for job in jobs) == [
        "daily 09:00 in UTC",
        "every 1800s from 2024-01-01T00:00:00+00:00",
        "every 1800s from 2024-01-01T00:07:00+00:00",
        "weekdays 08:30 in UTC",
    ]

    # The daily job fires (twice, as a duplicate fire would): each digest is posted once.
    [job] = [j for j in jobs if j.name == "daily 09:00 in UTC"]
    await on_bot(bot, job.func(*job.args))
    await on_bot(bot, job.func(*job.args))
    await driver.wait_for(
        lambda: all(len(digest_messages(slack, "C0OPS", row["id"])) >= 1 for row in daily),
        timeout=30,
    )
    await driver.wait_for(lambda: not scheduler.busy, timeout=30)
    await on_bot(bot, job.func(*job.args))  # the same run, fired again later
    await driver.wait_for(lambda: not scheduler.busy, timeout=30)
    assert [len(digest_messages(slack, "C0OPS", row["id"])) for row in daily] == [1] * 5

    # Removing members keeps the job until its last one goes.
    for row in daily[:4]:
        scheduler.removed(row["id"])
    assert len(scheduler.aps.get_jobs()) == 4 and scheduler.scheduled(daily[4]["id"])
    scheduler.removed(daily[4]["id"])
    assert len(scheduler.aps.get_jobs()) == 3 and not scheduler.scheduled(daily[4]["id"])
