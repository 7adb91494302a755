"""Digest charts end to end: drawn from the DSS and Atoti Limits emulators, uploaded through
the Slack emulator's real files_upload_v2 flow (getUploadURLExternal, the bytes over HTTP,
completeUploadExternal), and a chart that cannot be drawn leaving the text digest whole."""

from __future__ import annotations

import io

import pytest

from bot import charts
from emulators.dss import DEMO as DSS_DEMO
from emulators.limits import DEMO as LIMITS_DEMO
from emulators.limits import LimitsEmulator
from tests.e2e.helpers import link, reply_to, texts
from tests.support.bot import SIGNING_SECRET, make_settings, on_bot

# Pillow comes with matplotlib (pyproject): a venv made before charts lacks both until
# `pip install -e '.[test]'` is run again; say so instead of failing collection.
Image = pytest.importorskip(
    "PIL.Image",
    reason="matplotlib (and Pillow) not installed: run .venv/bin/pip install -e '.[test]'",
)


@pytest.fixture(scope="module")
def limits_emulator():
    with LimitsEmulator() as emulator:
        yield emulator


@pytest.fixture
def platforms(dss, limits_emulator):
    return {
        "dss": [{"name": "prod", "url": dss.url}],
        "limits": [{"name": "risk", "url": limits_emulator.url}],
    }


@pytest.fixture
def settings(tmp_path, slack, platforms):
    return make_settings(tmp_path, slack, platforms=platforms, slack_channel_interval=0.05)


async def _link_alice(driver, slack) -> None:
    assert "Linked" in await link(
        driver, slack, "alice", "dss", {"api_key": DSS_DEMO["alice"]["api_key"]}
    )
    values = {k: LIMITS_DEMO["alice"][k] for k in ("username", "password")}
    assert "Linked" in await link(driver, slack, "alice", "limits", values)


async def _digest_now(driver, slack) -> None:
    await _link_alice(driver, slack)
    await reply_to(
        driver, slack, "alice", "/ops", "digest add all daily 09:00", expect="Digest added"
    )
    await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")


async def test_a_digest_uploads_its_charts_through_slacks_file_flow(driver, slack, bot):
    await _digest_now(driver, slack)
    [digest] = [m for m in slack.messages("D0ALICE") if m.metadata]
    assert "Atoti Limits (risk)" in texts(digest.blocks)
    [shared] = [m for m in slack.messages("D0ALICE") if m.files]
    assert float(shared.ts) > float(digest.ts)  # right after the digest, same conversation
    files = slack.files()
    assert [f.id for f in files] == [f["id"] for f in shared.files]
    titles = sorted(f.title for f in files)
    assert titles == [
        "Atoti Limits breaches and warnings, last 14 days (risk)",
        "DSS scenario runs (prod)",
    ]
    for f in files:
        assert f.completed and f.channels == [shared.channel]
        image = Image.open(io.BytesIO(f.content))
        assert image.format == "PNG" and image.size == (charts.WIDTH, charts.HEIGHT)
        assert f.alt_txt.startswith(f.title + ":")
    runs = next(f for f in files if f.title.startswith("DSS"))
    assert "average" in runs.alt_txt and "longest" in runs.alt_txt
    daily = next(f for f in files if f.title.startswith("Atoti"))
    assert "breach(es)" in daily.alt_txt and "warning(s)" in daily.alt_txt
    methods = [
        c.method
        for c in slack.calls()
        if c.method in ("files.getUploadURLExternal", "upload", "files.completeUploadExternal")
    ]
    assert sorted(methods) == sorted(
        ["files.getUploadURLExternal", "upload"] * 2 + ["files.completeUploadExternal"]
    )  # one share
    assert all(c.ok for c in slack.calls() if c.method.startswith("files.") or c.method == "upload")


async def test_a_chart_that_cannot_be_drawn_leaves_the_text_digest_whole(
    driver, slack, bot, monkeypatch
):
    def broken(chart):
        raise RuntimeError("no font could be loaded\nsecond line never shown")

    monkeypatch.setattr(charts, "draw", broken)
    await _digest_now(driver, slack)
    [digest] = [m for m in slack.messages("D0ALICE") if m.metadata]
    body = texts(digest.blocks)
    assert "Dataiku DSS (prod)" in body and "Atoti Limits (risk)" in body
    # The text went out whole; the one line saying why follows it in the same conversation.
    note = await driver.wait_for(
        lambda: next((m for m in slack.messages("D0ALICE") if "could not be drawn" in m.text), None)
    )
    assert float(note.ts) > float(digest.ts)
    assert (
        "The chart “DSS scenario runs (prod)” could not be drawn (no font could be loaded)"
    ) in texts(note.blocks)
    assert "second line" not in note.text
    assert not [m for m in slack.messages("D0ALICE") if m.files]
    assert slack.files() == []


async def test_the_console_prints_a_charts_alt_text_and_where_its_png_was_saved(
    driver, slack, bot, tmp_path
):
    import io as _io

    from bot.console import Console

    assert "Linked" in await link(
        driver, slack, "alice", "dss", {"api_key": DSS_DEMO["alice"]["api_key"]}
    )
    out = _io.StringIO()
    console = Console(slack, driver, out=out, interactive=False, chart_dir=tmp_path / "charts")
    assert await console.handle("/ops digest add dss daily 09:00")
    assert await console.handle("/ops digest now 1")
    # The console prints what arrived once the bot is quiet; the picture follows the digest.
    await driver.wait_for(lambda: [m for m in slack.messages("D0ALICE") if m.files] or None)
    await console.show_changes()
    shown = out.getvalue()
    assert "[chart] DSS scenario runs (prod)" in shown
    assert "alt: DSS scenario runs (prod): the last " in shown
    [saved] = [line.split("saved: ", 1)[1] for line in shown.splitlines() if "saved: " in line]
    assert Image.open(saved).size == (charts.WIDTH, charts.HEIGHT)
    assert saved.startswith(str(tmp_path / "charts"))


async def test_with_a_public_url_the_digest_carries_image_blocks_the_bot_serves(
    tmp_path, slack, platforms
):
    import httpx

    from bot.server import BotServer
    from emulators.slack_driver import SlackDriver

    plain = make_settings(tmp_path, slack, platforms=platforms, slack_channel_interval=0.05)
    with BotServer(plain) as bot:  # linked through the modal (public_url links by web page)
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await _link_alice(driver, slack)
    settings = plain.model_copy(update={"public_url": "https://switchboard.example.com"})
    with BotServer(settings) as bot:  # the same database and key, now with a public URL
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await reply_to(
                driver, slack, "alice", "/ops", "digest add all daily 09:00", expect="Digest added"
            )
            await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")
        [digest] = [m for m in slack.messages("D0ALICE") if m.metadata]
        images = [x for x in digest.blocks if x["type"] == "image"]
        assert sorted(x["title"]["text"] for x in images) == [
            "Atoti Limits breaches and warnings, last 14 days (risk)",
            "DSS scenario runs (prod)",
        ]
        assert digest.blocks[-1]["type"] == "context"  # the "As of" line stays last
        assert slack.files() == []  # nothing uploaded: Slack fetches the image blocks' URLs
        for x in images:
            assert x["image_url"].startswith("https://switchboard.example.com/charts/")
            assert x["alt_text"].startswith(x["title"]["text"] + ":")
            path = x["image_url"].removeprefix("https://switchboard.example.com")
            async with httpx.AsyncClient() as web:
                got = await web.get(bot.url + path)
            assert got.status_code == 200 and got.headers["content-type"] == "image/png"
            assert Image.open(io.BytesIO(got.content)).size == (charts.WIDTH, charts.HEIGHT)
        async with httpx.AsyncClient() as web:
            assert (await web.get(bot.url + "/charts/0000.png")).status_code == 404


async def test_a_digests_pictures_leave_the_post_budget_to_the_next_digests_text(
    tmp_path, slack, platforms
):
    """Two posts a minute for the whole workspace: the first digest's text takes one, its
    pictures go on the uploads' budget, so the second digest's text takes the other at once
    instead of waiting a minute behind the first one's pictures."""
    from bot.server import BotServer
    from emulators.slack_driver import SlackDriver

    settings = make_settings(
        tmp_path,
        slack,
        platforms=platforms,
        slack_channel_interval=0.05,
        slack_workspace_per_minute=2,
    )
    with BotServer(settings) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await _link_alice(driver, slack)
            for add in ("digest add all daily 09:00", "digest add dss daily 10:00"):
                await reply_to(driver, slack, "alice", "/ops", add, expect="Digest added")
            await reply_to(driver, slack, "alice", "/ops", "digest now 1", expect="Posted #1")
            await driver.wait_for(lambda: [m for m in slack.messages("D0ALICE") if m.files] or None)
            # Within the driver's wait (30 s), well inside the minute the budget would need.
            await reply_to(driver, slack, "alice", "/ops", "digest now 2", expect="Posted #2")
    digests = [m for m in slack.messages("D0ALICE") if m.metadata]
    assert [m.metadata["event_payload"]["subscription"] for m in digests] == [1, 2]
    assert not [c for c in slack.calls("chat.postMessage") if c.status == 429]


async def test_scheduled_digests_post_every_text_before_any_of_their_pictures(
    driver, slack, bot, limits_emulator
):
    """Two digests due together, one slow to compose (Atoti Limits answering after 1.5 s):
    the quick one's text goes at once, its pictures only after the slow one's text."""
    import asyncio
    from datetime import UTC, datetime

    from bot.store import subscriptions as subs

    await _link_alice(driver, slack)
    for add in ("digest add dss daily 09:00", "digest add limits daily 10:00"):
        await reply_to(driver, slack, "alice", "/ops", add, expect="Digest added")
    scheduler = bot.services.scheduler

    async def both() -> None:
        run_at = datetime.now(UTC)
        rows = [await bot.services.store.run(subs.get, sub_id) for sub_id in (1, 2)]
        await asyncio.gather(*(scheduler.run(r, run_at, reason="scheduled") for r in rows))

    limits_emulator.faults.set(latency=1.5)
    try:
        await on_bot(bot, both())
    finally:
        limits_emulator.faults.clear()
    digests = {
        m.metadata["event_payload"]["subscription"]: m
        for m in slack.messages("D0ALICE")
        if m.metadata
    }
    shares = [m for m in slack.messages("D0ALICE") if m.files]
    assert sorted(digests) == [1, 2] and len(shares) == 2
    quick_text, slow_text = digests[1], digests[2]
    assert float(quick_text.ts) < float(slow_text.ts)  # the quick text did not wait
    assert all(float(s.ts) > float(slow_text.ts) for s in shares)  # no picture before a text
