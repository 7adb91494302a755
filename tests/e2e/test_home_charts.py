"""Charts on App Home end to end: the viewer's linked platforms drawn from the emulators
(Astakos quota usage, Atoti Limits breaches per day, DSS scenario runs, Squonk2 runs). With a
`public_url` they are image blocks the bot serves (drawn after Home is showing, then shown in
it; from the cache at once the next time); without one, the same charts in words with one line
saying why there is no picture; a chart that cannot be drawn, or whose platform fails, is one
line and Home is whole."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from bot import charts
from bot.demo import DEMO_LINKS, DemoPlatforms
from bot.home_charts import NO_PUBLIC_URL
from bot.server import BotServer
from emulators.astakos import DEMO as ASTAKOS
from emulators.slack_driver import SlackDriver
from tests.e2e.helpers import link, texts
from tests.support.bot import SIGNING_SECRET

Image = pytest.importorskip(
    "PIL.Image",
    reason="matplotlib (and Pillow) not installed: run .venv/bin/pip install -e '.[test]'",
)
PUBLIC = "https://switchboard.example.com"
TITLES = {
    "astakos": "Astakos quota usage",
    "limits": "Atoti Limits breaches and warnings, last 14 days",
    "dss": "DSS scenario runs",
    "squonk": "Squonk2 instance runs",
}


@pytest.fixture
def platforms(demo_platforms: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return demo_platforms


async def link_all(driver, slack, user: str = "alice") -> None:
    """alice's demo links, with her own Astakos user token (the demo gives her the service
    token, which has no quotas of its own to chart)."""
    for u, platform, values in DEMO_LINKS:
        if u == user and platform in TITLES:
            if platform == "astakos":
                values = {"token": ASTAKOS[user]["token"]}
            assert "Linked" in await link(driver, slack, user, platform, values)
            slack.close_views(user)


async def open_home(driver, slack, user: str = "alice", *, until=None):
    """Open Home and wait for a publish after the opening that satisfies `until`."""
    published = len(slack.calls("views.publish"))
    await driver.home_opened(user)

    def fresh():
        if len(slack.calls("views.publish")) <= published:
            return None
        home = slack.home(user)
        return home if until is None or until(home) else None

    return await driver.wait_for(fresh)


def images(view) -> list[dict[str, Any]]:
    return [blk for blk in view.blocks if blk["type"] == "image"]


def drawing(view) -> bool:
    return "Drawing “" in texts(view.blocks)


async def test_without_a_public_url_home_tells_each_chart_in_words(driver, slack, bot, world):
    await link_all(driver, slack)
    home = await open_home(driver, slack)
    body = texts(home.blocks)
    assert "Charts" in body and NO_PUBLIC_URL in body
    assert images(home) == []
    for title in TITLES.values():
        assert f":bar_chart: {title} (" in body, title
    # The words are the charts' alt text: the same figures a picture would show.
    assert "quota(s)," in body and "near or at the limit" in body
    assert "breach(es) and" in body and "warning(s) over 14 day(s)" in body
    assert "oldest first" in body and "average" in body
    # Links and the rest of Home are still there.
    assert "Your platforms" in body


async def test_with_a_public_url_home_shows_the_pictures_the_bot_serves(tmp_path, slack, settings):
    with BotServer(settings) as bot:  # linked through the modal (public_url links by web page)
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await link_all(driver, slack)
    public = settings.model_copy(update={"public_url": PUBLIC})
    with BotServer(public) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            # First opening: Home shows at once, "drawing", then again with the pictures.
            home = await open_home(driver, slack, until=lambda h: images(h) and not drawing(h))
            shown = images(home)
            assert sorted(x["title"]["text"].split(" (")[0] for x in shown) == sorted(
                TITLES.values()
            )
            assert NO_PUBLIC_URL not in texts(home.blocks)
            async with httpx.AsyncClient() as web:
                for x in shown:
                    assert x["image_url"].startswith(PUBLIC + "/charts/")
                    assert x["alt_text"].startswith(x["title"]["text"] + ":")
                    got = await web.get(bot.url + x["image_url"].removeprefix(PUBLIC))
                    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
                    picture = Image.open(io.BytesIO(got.content))
                    assert picture.size == (charts.WIDTH, charts.HEIGHT)
            first = [
                c.args["view"] for c in slack.calls("views.publish") if "Drawing “" in str(c.args)
            ]
            assert first, "the first Home was published before its charts were drawn"
            draws = bot.services.pictures.draws
            # Opened again: the pictures come from the cache, in the first publish.
            again = await open_home(driver, slack)
            assert len(images(again)) == len(TITLES) and not drawing(again)
            assert bot.services.pictures.draws == draws


async def test_a_chart_that_cannot_be_drawn_is_one_line_and_home_is_whole(
    tmp_path, slack, settings, monkeypatch
):
    with BotServer(settings) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await link_all(driver, slack)

    def broken(chart):
        raise RuntimeError("no font could be loaded")

    monkeypatch.setattr(charts, "draw", broken)
    public = settings.model_copy(update={"public_url": PUBLIC})
    with BotServer(public) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            home = await open_home(driver, slack, until=lambda h: not drawing(h))
    body = texts(home.blocks)
    assert images(home) == []
    for title in TITLES.values():
        assert f"The chart “{title} (" in body
    assert body.count("could not be drawn (no font could be loaded)") == len(TITLES)
    assert "Your platforms" in body and "Linked as" in body


async def test_a_platform_that_fails_is_one_line_and_the_other_charts_show(
    driver, slack, bot, world: DemoPlatforms
):
    await link_all(driver, slack)
    world.emulators["dss"].faults.set(status=500)
    home = await open_home(driver, slack)
    body = texts(home.blocks)
    assert ":warning: Dataiku DSS (" in body and "no chart (" in body
    assert ":bar_chart: DSS scenario runs" not in body
    for platform in ("astakos", "limits", "squonk"):
        assert f":bar_chart: {TITLES[platform]} (" in body


async def test_a_slow_platform_does_not_hold_up_home_its_chart_follows(
    slack, settings, world: DemoPlatforms
):
    """Home waits a bounded time for a platform's chart data (HOME_CHART_WAIT, 2 s):
    Squonk2 answering its instances in 5 s is a "reading" line at first, its chart in a later
    publish. (The tests' 2 s platform timeout is raised so the slow answer still comes.)"""
    patient = settings.model_copy(update={"platform_timeout": 30.0})
    with BotServer(patient) as bot:
        async with SlackDriver(slack, bot.events_url, SIGNING_SECRET) as driver:
            await link_all(driver, slack)
            squonk = world.emulators["squonk"]
            squonk.faults.set(latency=5.0, path_prefix="/data-manager-api/instance")
            published = len(slack.calls("views.publish"))
            await driver.home_opened("alice")
            first = await driver.wait_for(
                lambda: len(slack.calls("views.publish")) > published and slack.home("alice")
            )
            body = texts(first.blocks)
            assert "Reading Squonk2 Data Manager (im) for its chart…" in body
            assert f":bar_chart: {TITLES['limits']} (" in body  # the others did not wait

            def filled_in():
                home = slack.home("alice")
                return home if "for its chart…" not in texts(home.blocks) else None

            later = await driver.wait_for(filled_in)
            assert f":bar_chart: {TITLES['squonk']} (" in texts(later.blocks)
            assert f":bar_chart: {TITLES['limits']} (" in texts(later.blocks)
            squonk.faults.clear()


async def test_an_astakos_service_token_has_no_quota_chart(driver, slack, bot):
    link_values = {"token": ASTAKOS["service"]["token"]}
    assert "Linked" in await link(driver, slack, "alice", "astakos", link_values)
    slack.close_views("alice")
    home = await open_home(driver, slack)
    assert TITLES["astakos"] not in texts(home.blocks)
    assert "Charts" not in [blk.get("text", {}).get("text") for blk in home.blocks]
