"""Two replicas (`python -m bot run` processes) on one PostgreSQL database: a person cannot
tell which one answered (a click, an event retry, a web link issued by one and redeemed on the
other), one leads the scheduler, and when it dies the other takes over within 30 s and every
due digest still goes out exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.store import Store
from emulators.dss import DEMO as DSS_DEMO
from emulators.limits import LimitsEmulator
from emulators.slack_driver import SlackDriver
from tests.e2e.helpers import reply_to, texts
from tests.e2e.process import BotProcess, wait_until
from tests.e2e.test_limits_approvals import EXECUTE, approve, card_text, link_as, share_pending
from tests.engines import rows
from tests.support.bot import SIGNING_SECRET
from tests.support.seed import dss_digest, link_dss, overdue_digests

DIGESTS = 10


@pytest.fixture
def limits() -> Iterator[LimitsEmulator]:
    with LimitsEmulator() as emulator:
        yield emulator


def replicas(
    tmp_path: Path, slack, postgres_url: str, platforms: str, **settings
) -> tuple[BotProcess, BotProcess]:
    config = tmp_path / "switchboard.toml"
    config.write_text(platforms, encoding="utf-8")
    key = Fernet.generate_key().decode()
    common = {
        "slack_url": slack.url,
        "config": config,
        "key": key,
        "database_url": postgres_url,
        "leader_retry": 1.0,
        "sync_interval": 0.5,
        **settings,
    }
    return (
        BotProcess(tmp_path / "a", log=tmp_path / "a.log", **common),
        BotProcess(tmp_path / "b", log=tmp_path / "b.log", **common),
    )


def a_leads_b_not(a: BotProcess, b: BotProcess) -> None:
    """Both answer /readyz, a as the leader and b not (a busy machine may make either slow
    to answer: waited for, but a second leader is never mistaken for a slow one)."""
    wait_until(
        lambda: a.leader_state() is True and b.leader_state() is False,
        30,
        "a answering as the leader and b as a replica that does not lead",
    )


async def test_a_double_click_on_two_replicas_acts_once_and_an_event_retry_runs_once(
    tmp_path, slack, limits, postgres_url
):
    a, b = replicas(
        tmp_path, slack, postgres_url, f'[[limits]]\nname = "prod"\nurl = "{limits.url}"\n'
    )
    with a.start(), b.start(leading=False):
        a_leads_b_not(a, b)
        async with (
            SlackDriver(slack, a.events_url, SIGNING_SECRET) as on_a,
            SlackDriver(slack, b.events_url, SIGNING_SECRET) as on_b,
        ):
            # Linked and shared through one replica; the buttons work on the other.
            await link_as(on_a, slack, "alice", "alice")
            shared = await share_pending(on_a, slack)
            clicks = await asyncio.gather(
                on_a.click(
                    "alice", shared, action_id="limits_approve", value=approve(shared, "L-4")
                ),
                on_b.click(
                    "alice", shared, action_id="limits_approve", value=approve(shared, "L-4")
                ),
            )
            assert [c.status for c in clicks if c is not None] == [200, 200]
            await on_a.wait_for(
                lambda: (
                    "Approved* by <@U0ALICE>"
                    in card_text(slack.workspace.find(shared.channel, shared.ts), "L-4")
                )
            )
            await on_a.wait_for(
                lambda: any(
                    "Already approved by" in m.text or "acting on this right now" in m.text
                    for m in slack.ephemerals("alice")
                )
            )
            assert len(limits.requests_to("POST", EXECUTE)) == 1

            # Slack retries an event on the other replica: it is recognised and dropped.
            published = len(slack.calls("views.publish"))
            first = await on_a.home_opened("alice", event_id="Ev0REPLICA1")
            assert first.status == 200
            await on_a.wait_for(lambda: len(slack.calls("views.publish")) == published + 1)
            retry = await on_b.redeliver(first, retry_num=1)
            assert retry.status == 200 and retry.headers.get("x-slack-no-retry") == "1"
    assert len(slack.calls("views.publish")) == published + 1
    assert rows(postgres_url, "select count(*) from audit where action = 'limits.approve'") == [
        (1,)
    ]


def posted(slack) -> dict[int, int]:
    counts: dict[int, int] = {}
    for m in slack.messages("C0OPS"):
        if m.metadata and m.metadata.get("event_type") == "switchboard_digest":
            sub = m.metadata["event_payload"]["subscription"]
            counts[sub] = counts.get(sub, 0) + 1
    return counts


async def test_kill_9_the_leader_mid_fan_out_the_other_leads_and_each_digest_goes_once(
    tmp_path, slack, dss, postgres_url
):
    a, b = replicas(
        tmp_path,
        slack,
        postgres_url,
        f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n',
        # The new leader looks for the dead one's post in flight 10 s after it
        # began: on a loaded machine a post can land seconds late.
        slack_channel_interval=1.0,
        digest_recovery_settle=10.0,
    )
    with slack.workspace.lock:  # the owner must be in the channel (bot.membership)
        slack.channel("C0OPS").members.add("U0CAROL")
    store = Store(postgres_url)
    await link_dss(store, a.env["SWITCHBOARD_SECRET_KEY"], "U0CAROL")
    # Ten digests whose run fell due 20 s ago: the leader catches them up at start-up, one
    # channel, posted a second apart and each slow to answer.
    await overdue_digests(store, "U0CAROL", DIGESTS)
    store.close()
    slack.faults.set(latency=1.0, path_prefix="/api/chat.postMessage")
    try:
        a.start(leading=None)
        b.start(leading=None)  # both at once: whichever takes the lock first leads
        wait_until(
            lambda: a.readyz().get("ready") and b.readyz().get("ready"), 30, "both replicas ready"
        )
        wait_until(lambda: a.leading() or b.leading(), 30, "one replica leading")
        leader, other = (a, b) if a.leading() else (b, a)
        wait_until(lambda: other.leader_state() is False, 30, "the other answering, not leading")
        wait_until(lambda: len(posted(slack)) >= 2, 90, "the fan-out under way")
        leader.kill()
        killed = time.monotonic()
        assert len(posted(slack)) < DIGESTS
        wait_until(other.leading, 30, "the other replica leading")
        assert time.monotonic() - killed < 30
        wait_until(lambda: len(posted(slack)) == DIGESTS, 60, "every digest posted")
        await asyncio.sleep(11)  # past the recovery's 10 s settle: a duplicate would show
    finally:
        a.__exit__()
        b.__exit__()
    log = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert posted(slack) == dict.fromkeys(range(1, DIGESTS + 1), 1), log
    assert rows(postgres_url, "select state, count(*) from deliveries group by state") == [
        ("delivered", DIGESTS)
    ]


async def test_a_web_link_issued_by_one_replica_is_redeemed_on_the_other_once(
    tmp_path, slack, dss, postgres_url
):
    from tests.weblink.conftest import LINK, PUBLIC_URL

    a, b = replicas(
        tmp_path,
        slack,
        postgres_url,
        f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n',
        public_url=PUBLIC_URL,
    )
    with a.start(), b.start(leading=False):
        async with SlackDriver(slack, a.events_url, SIGNING_SECRET) as on_a:
            reply = await reply_to(
                on_a, slack, "alice", "/ops", "link dss prod", expect="works once"
            )
        found = LINK.search(texts(reply.blocks))
        assert found, texts(reply.blocks)
        path = found.group(1).removeprefix(PUBLIC_URL)  # issued by a ...
        token = path.rsplit("/", 1)[-1]
        form = {"token": token, "field_api_key": DSS_DEMO["alice"]["api_key"]}
        async with httpx.AsyncClient() as http:
            page = await http.get(b.url + path)  # ... opened and sent on b
            assert page.status_code == 200, page.text
            done = await http.post(f"{b.url}/link", data=form)
            assert done.status_code == 200, done.text
            assert "Linked Dataiku DSS (prod) as <strong>alice</strong>" in done.text
            again = await http.post(f"{a.url}/link", data=form)  # spent, on either
            assert again.status_code == 410
    assert rows(postgres_url, "select user_id, account from links") == [("U0ALICE", "alice")]


async def test_run_now_on_the_replica_that_does_not_lead_posts_the_digest_once(
    tmp_path, slack, dss, postgres_url
):
    a, b = replicas(tmp_path, slack, postgres_url, f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n')
    with slack.workspace.lock:  # the owner must be in the channel (bot.membership)
        slack.channel("C0OPS").members.add("U0ALICE")
    with a.start(), b.start(leading=False):
        a_leads_b_not(a, b)
        store = Store(postgres_url)
        await link_dss(store, a.env["SWITCHBOARD_SECRET_KEY"], "U0ALICE")
        # Not due for an hour: only the command posts it.
        row = await dss_digest(store, "U0ALICE", trigger="every 1h", created_at=datetime.now(UTC))
        store.close()
        async with SlackDriver(slack, b.events_url, SIGNING_SECRET) as on_b:
            reply = await reply_to(
                on_b, slack, "alice", "/ops", f"digest now {row['id']}", expect=f"#{row['id']}"
            )
            assert f"Posted #{row['id']} to <#C0OPS>" in reply.text, reply.text
        assert posted(slack) == {row["id"]: 1}
        # b ran it without taking the lead.
        wait_until(lambda: b.leader_state() is False, 30, "b answering, not leading")
    assert rows(postgres_url, "select state, count(*) from deliveries group by state") == [
        ("delivered", 1)
    ]


async def test_a_watch_started_on_the_standby_outlives_the_leaders_kill_and_ends_once(
    tmp_path, slack, postgres_url
):
    from emulators.base import FakeClock
    from emulators.dss import DSSEmulator
    from tests.e2e.test_watch_restart import WATCH, ended_dms, start_watch

    clock = FakeClock(start=time.time())
    with DSSEmulator(clock=clock) as dss:
        a, b = replicas(
            tmp_path,
            slack,
            postgres_url,
            f'[[dss]]\nname = "prod"\nurl = "{dss.url}"\n',
            watch_interval=0.1,
        )
        with a.start(), b.start(leading=False):
            async with SlackDriver(slack, b.events_url, SIGNING_SECRET) as on_b:
                await start_watch(on_b, slack)  # taken by the standby, run by the leader
            state = "select state from watches where id = ?"
            assert rows(postgres_url, state, [WATCH]) == [("watching",)]
            a.kill()
            wait_until(b.leading, 30, "the standby leading")
            clock.advance(20 * 60)  # the task ends after the leader died
            wait_until(
                lambda: rows(postgres_url, state, [WATCH]) == [("done",)], 30, "the watch done"
            )
            assert len(ended_dms(slack)) == 1
            assert "Compute metrics on SALES.orders" in ended_dms(slack)[0]
    assert len(ended_dms(slack)) == 1, (tmp_path / "b.log").read_text()
