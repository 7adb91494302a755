"""Link previews end to end: a person posts platform links, Slack sends `link_shared`, the
bot answers `chat.unfurl` with cards read with the poster's credentials; someone with no
link gets one Link line per conversation; links to hosts not configured stay plain."""

from __future__ import annotations

from typing import Any

import pytest

from bot.demo import DEMO_LINKS, DemoPlatforms
from tests.e2e.helpers import link, reply_to, texts


@pytest.fixture
def platforms(demo_platforms: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return demo_platforms  # the shared demo world (tests/conftest.py), reset per test


async def link_as(driver, slack, user: str, platform: str) -> None:
    values = next(v for u, p, v in DEMO_LINKS if u == user and p == platform)
    assert "Linked" in await link(driver, slack, user, platform, values)
    slack.close_views(user)


async def preview(
    driver, slack, bot, user: str, channel: str, url: str, *, event_id: str | None = None
):
    """Post `url` as `user`; the message once the bot answered (or settled without)."""
    message, response = await driver.share_links(
        user, channel, f"look at <{url}>", domains=None, event_id=event_id
    )
    assert response.status == 200
    return message


def unfurled(slack, message):
    def done():
        fresh = slack.workspace.find(message.channel, message.ts)
        return fresh.unfurls or None

    return done


def links(world: DemoPlatforms) -> dict[str, str]:
    p = world.platforms
    dss = world.emulators["dss"]
    project = dss.projects["SALES"]
    scenario = next(iter(project.scenarios))
    job = next((j["def"]["id"] for j in project.jobs), None)
    sq = world.emulators["squonk"]
    instance = next(i for i in sq.instances.values() if i.owner == "alice")
    mstr = world.emulators["mstr"]
    mproject = mstr.projects[0]
    ui = p["squonk"][0]["url"]
    assert job is not None  # the demo's SALES project has a job running
    out = {
        "dss project": f"{p['dss'][0]['url']}/projects/SALES/flow/",
        "dss scenario": f"{p['dss'][0]['url']}/projects/SALES/scenarios/{scenario}/runs/",
        "squonk instance": f"{ui}/results/instance/{instance.id}",
        "squonk project": f"{ui}/project?project={instance.project_id}",
        "mstr dossier": f"{p['mstr'][0]['url']}/app/{mproject.id}/{mproject.dossiers[0].id}",
        "limits limit": f"{p['limits'][0]['url']}/#/limits/L-1",
    }
    out["dss job"] = f"{p['dss'][0]['url']}/projects/SALES/jobs/{job}/"
    return out


async def test_each_link_shape_unfurls_as_a_card_for_a_linked_poster(driver, slack, bot, world):
    for platform in ("dss", "mstr", "squonk", "limits"):
        await link_as(driver, slack, "alice", platform)
    expect = {
        "dss project": ["SALES", "owner alice", "scenario(s)"],
        "dss scenario": ["Scenario", "Last run:"],
        "dss job": ["Job `", "running", "started by alice"],
        "squonk instance": ["nightly-props", "Owner alice"],
        "squonk project": ["Project *demo*", "instance(s)"],
        "mstr dossier": [
            "Dossier *Retail Overview* · owner Administrator",
            world.emulators["mstr"].projects[0].name,
            "Last changed <!date^",
            "Use project",
        ],
        "limits limit": ["L-1"],
    }
    for shape, url in links(world).items():
        message = await preview(driver, slack, bot, "alice", "C0OPS", url)
        found = await driver.wait_for(unfurled(slack, message))
        assert list(found) == [url], shape
        body = texts(found[url]["blocks"])
        for words in expect[shape]:
            assert words in body, (shape, words, body)
        assert "Link your" not in body


async def test_an_unlinked_poster_gets_one_link_line_per_conversation(driver, slack, bot, world):
    urls = links(world)
    first = await preview(driver, slack, bot, "bob", "C0OPS", urls["squonk instance"])
    found = await driver.wait_for(unfurled(slack, first))
    [block] = found[urls["squonk instance"]]["blocks"]
    assert "Link your Squonk2" in texts([block])
    assert block["accessory"]["text"]["text"] == "Link"
    # The same conversation again: no second nag. A later card that can be shown (bob has a
    # DSS link) still is, so the bot did answer that event.
    await link_as(driver, slack, "bob", "dss")
    again = await preview(
        driver, slack, bot, "bob", "C0OPS", urls["squonk project"] + " " + urls["dss project"]
    )
    shown = await driver.wait_for(unfurled(slack, again))
    assert list(shown) == [urls["dss project"]]


async def test_links_to_instances_not_configured_are_ignored(driver, slack, bot, world):
    await link_as(driver, slack, "alice", "dss")
    other = "https://dss.elsewhere.example/projects/SALES/"
    message = await preview(driver, slack, bot, "alice", "C0OPS", other)
    mine = await preview(driver, slack, bot, "alice", "C0OPS", links(world)["dss project"])
    await driver.wait_for(unfurled(slack, mine))  # the bot has answered later events
    assert slack.workspace.find(message.channel, message.ts).unfurls == {}
    assert all(other not in str(c.args) for c in slack.calls("chat.unfurl"))


async def test_a_redelivered_link_shared_event_unfurls_once(driver, slack, bot, world):
    await link_as(driver, slack, "alice", "limits")
    url = links(world)["limits limit"]
    message = await preview(driver, slack, bot, "alice", "C0OPS", url, event_id="EvUNFURL1")
    await driver.wait_for(unfurled(slack, message))
    again = await preview(driver, slack, bot, "alice", "C0OPS", url, event_id="EvUNFURL1")
    later = await preview(driver, slack, bot, "alice", "C0OPS", url)
    await driver.wait_for(unfurled(slack, later))
    assert slack.workspace.find(again.channel, again.ts).unfurls == {}


async def test_a_link_typed_in_the_composer_is_previewed_by_unfurl_id(driver, slack, bot, world):
    """Slack's composer previews: link_shared with channel COMPOSER and source composer is
    answered with unfurl_id + source (no channel, no ts), and the card reaches the draft."""
    await link_as(driver, slack, "alice", "dss")
    url = links(world)["dss job"]
    draft, response = await driver.compose_links("alice", f"is <{url}> done?")
    assert response.status == 200
    found = await driver.wait_for(lambda: draft.unfurls or None)
    assert list(found) == [url]
    assert "Job `" in texts(found[url]["blocks"])
    [call] = [c for c in slack.calls("chat.unfurl") if c.args.get("unfurl_id") == draft.ts]
    assert call.args["source"] == "composer"
    assert "channel" not in call.args and "ts" not in call.args


async def test_an_unlinked_poster_gets_the_link_line_once_posted_not_in_the_composer(
    driver, slack, bot, world
):
    """In the composer the Link line would be spent on no conversation: it waits for the
    posted message, where it shows once."""
    url = links(world)["squonk instance"]
    draft, _ = await driver.compose_links("bob", f"see <{url}>")
    message = await preview(driver, slack, bot, "bob", "C0OPS", url)
    found = await driver.wait_for(unfurled(slack, message))
    assert "Link your Squonk2" in texts(found[url]["blocks"])
    assert draft.unfurls == {}
    assert all(c.args.get("unfurl_id") != draft.ts for c in slack.calls("chat.unfurl"))


def dss_job(world: DemoPlatforms, project: str, name: str) -> dict[str, Any]:
    jobs = world.emulators["dss"].projects[project].jobs
    return next(j for j in jobs if j["def"]["id"].startswith(name + "_"))


def dss_job_url(world: DemoPlatforms, project: str, job_id: str) -> str:
    return f"{world.platforms['dss'][0]['url']}/projects/{project}/jobs/{job_id}/"


@pytest.mark.parametrize(
    "project,name,words",
    [
        ("SALES", "build_customers", [":white_check_mark: finished: done", "after 1m 35s"]),
        (
            "SALES",
            "build_forecast",
            [":x: finished: failed", "Why: Job failed: Python process failed: KeyError"],
        ),
        ("FINANCE", "import_invoices", [":no_entry_sign: finished: aborted", "after 1m"]),
    ],
)
async def test_a_finished_dss_job_shows_its_outcome_when_and_why(
    driver, slack, bot, world, project, name, words
):
    """Not "not running": the job's own state, read from the job (DONE, FAILED, ABORTED), with
    when it ended (a date token) and the reason DSS gives for a failure; no Abort button."""
    await link_as(driver, slack, "alice", "dss")
    job = dss_job(world, project, name)
    url = dss_job_url(world, project, job["def"]["id"])
    message = await preview(driver, slack, bot, "alice", "C0OPS", url)
    [card] = (await driver.wait_for(unfurled(slack, message))).values()
    body = texts(card["blocks"])
    for expected in words:
        assert expected in body, (expected, body)
    assert f"<!date^{job['endTime'] // 1000}^" in body
    assert "not running" not in body
    actions = [e.get("action_id") for blk in card["blocks"] for e in blk.get("elements", [])]
    assert "dss_job_abort" not in actions and "unfurl_open" in actions


async def test_dss_job_command_shows_a_finished_job_and_why_it_failed(driver, slack, bot, world):
    await link_as(driver, slack, "alice", "dss")
    job_id = dss_job(world, "SALES", "build_forecast")["def"]["id"]
    reply = await reply_to(
        driver, slack, "alice", "/dss", f"job sales {job_id}", expect="finished: failed"
    )
    body = texts(reply.blocks)
    assert "Why: Job failed: Python process failed: KeyError: 'region'" in body
    assert "Abort" not in body
    missing = await reply_to(
        driver, slack, "alice", "/dss", "job SALES no_such_job", expect="has no job"
    )
    assert "`/dss jobs SALES`" in missing.text + texts(missing.blocks)


async def test_abort_on_a_running_job_preview_aborts_it_with_the_clickers_key(
    driver, slack, bot, world
):
    await link_as(driver, slack, "alice", "dss")
    job = dss_job(world, "SALES", "build_orders")
    url = dss_job_url(world, "SALES", job["def"]["id"])
    message = await preview(driver, slack, bot, "alice", "C0OPS", url)
    await driver.wait_for(unfurled(slack, message))
    # bob clicks on alice's preview: he has no DSS link, so nothing happens to the job.
    await driver.click_unfurl("bob", message, url, "dss_job_abort")
    await driver.wait_for(lambda: showing(slack, "bob", "/ops link dss"))
    assert job["state"] == "RUNNING"
    assert await driver.click_unfurl("alice", message, url, "dss_job_abort", confirm=False) is None
    await driver.click_unfurl("alice", message, url, "dss_job_abort")
    note = await driver.wait_for(lambda: showing(slack, "alice", "aborted job"))
    assert job["state"] == "ABORTED"
    assert ":no_entry_sign: finished: aborted" in texts(note.blocks)
    assert slack.workspace.find(message.channel, message.ts).text == message.text  # untouched


async def test_run_on_a_scenario_preview_runs_it_as_dss_run_does(driver, slack, bot, world):
    await link_as(driver, slack, "alice", "dss")
    url = links(world)["dss scenario"]
    scenario = (
        world.emulators["dss"]
        .projects["SALES"]
        .scenarios[url.split("/scenarios/")[1].split("/")[0]]
    )
    before = len(scenario.runs)
    message = await preview(driver, slack, bot, "alice", "C0OPS", url)
    found = await driver.wait_for(unfurled(slack, message))
    assert "Run" in [e["text"]["text"] for e in found[url]["blocks"][-1]["elements"]]
    await driver.click_unfurl("alice", message, url, "dss_scenario_run")
    await driver.wait_for(lambda: showing(slack, "alice", "Started scenario"))
    assert len(scenario.runs) == before + 1


def showing(slack, user: str, needle: str):
    """The newest ephemeral message the user sees with `needle` in its text or blocks."""
    return next(
        (m for m in reversed(slack.ephemerals(user)) if needle in (m.text or "") + texts(m.blocks)),
        None,
    )


def mstr_link(world: DemoPlatforms, project_name: str, dossier: str) -> str:
    project = next(p for p in world.emulators["mstr"].projects if p.name == project_name)
    return f"{world.platforms['mstr'][0]['url']}/app/{project.id}/{dossier}"


async def test_a_strategy_one_dossier_preview_names_it_and_offers_its_projects_use(
    driver, slack, bot, world
):
    """Name (escaped), owner and last change from the dossier's definition; "Use project"
    is the /mstr projects button and sets the clicker's default project."""
    await link_as(driver, slack, "alice", "mstr")
    sales = next(p for p in world.emulators["mstr"].projects if p.name == "Sales Analytics")
    url = mstr_link(world, "Sales Analytics", sales.dossiers[0].id.lower())
    message = await preview(driver, slack, bot, "alice", "C0OPS", url)
    found = await driver.wait_for(unfurled(slack, message))
    body = texts(found[url]["blocks"])
    assert "Dossier *Regional Sales &lt;Q3&gt; &amp; Targets* · owner Alice Martin" in body
    assert "<!date^1759249200^" in body  # 2025-09-30 16:20 UTC, its dateModified
    asked = [r for r in world.emulators["mstr"].requests if r.path.endswith(sales.dossiers[0].id)]
    assert asked and asked[-1].headers["x-mstr-projectid"] == sales.id
    await driver.click_unfurl("alice", message, url, "mstr_project_use")
    await driver.wait_for(lambda: showing(slack, "alice", "Sales Analytics"))
    reply = await reply_to(driver, slack, "alice", "/mstr", "status", expect="Default project")
    assert "*Sales Analytics*" in texts(reply.blocks)


async def test_a_link_to_a_dossier_that_is_not_there_is_one_line(driver, slack, bot, world):
    await link_as(driver, slack, "alice", "mstr")
    url = mstr_link(world, "MicroStrategy Tutorial", "B" * 32)
    message = await preview(driver, slack, bot, "alice", "C0OPS", url)
    found = await driver.wait_for(unfurled(slack, message))
    [line] = found[url]["blocks"]
    assert line["type"] == "context"
    assert "that dossier is not in MicroStrategy Tutorial" in texts([line])
