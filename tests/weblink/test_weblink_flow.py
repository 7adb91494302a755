"""`/ops link` with a public URL: the one-time link, its form, and every way it is refused,
driven over HTTP as a browser would (the real browser is in test_browser.py)."""

from __future__ import annotations

import logging
import re
import sqlite3

import httpx

from bot.weblink import MAX_FAILURES, hash_prefix, hash_token
from emulators.dss import DEMO
from tests.e2e.helpers import reply_to, seen_by
from tests.weblink.conftest import TWO_INSTANCES, web_link

ALICE_KEY = DEMO["alice"]["api_key"]
BOB_KEY = DEMO["bob"]["api_key"]
TOKEN_FIELD = re.compile(r'<input type="hidden" name="token" value="([^"]+)">')


def _token(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _form_url(url: str) -> str:
    return url.rsplit("/", 1)[0]  # POST /link: the token goes in the form, not the URL


async def _submit(http: httpx.AsyncClient, url: str, **fields: str) -> httpx.Response:
    page = await http.get(url)
    assert page.status_code == 200, page.text
    token = TOKEN_FIELD.search(page.text)
    assert token, page.text
    return await http.post(_form_url(url), data={"token": token.group(1), **fields})


def _links(settings) -> list[tuple[str, str, str, str]]:
    return (
        sqlite3.connect(settings.db_path)
        .execute("select user_id, platform, instance, account from links order by user_id")
        .fetchall()
    )


def _audit(settings) -> list[tuple[str, str, str, str, str]]:
    return (
        sqlite3.connect(settings.db_path)
        .execute("select user_id, action, instance, target, result from audit order by id")
        .fetchall()
    )


async def test_link_replies_with_an_ephemeral_one_time_link_instead_of_the_modal(
    driver, slack, bot
):
    reply = await reply_to(driver, slack, "alice", "/ops", "link dss prod", expect="works once")
    assert "expires in 10 minutes and works once" in reply.text
    assert reply in slack.ephemerals("alice") and not slack.ephemerals("bob")
    assert slack.views_opened("alice") == []
    assert "link your Dataiku DSS account (prod)" in seen_by(slack, "alice")
    # Asking to share it does not post it in the channel.
    shared = await reply_to(driver, slack, "alice", "/ops", "link dss share", expect="works once")
    assert shared in slack.ephemerals("alice")
    assert not any("works once" in (m.text or "") for m in slack.messages())


async def test_the_form_links_for_the_token_owner_and_works_once(driver, slack, bot, settings):
    url = await web_link(driver, slack, bot, "alice")
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert '<input type="password" id="field_api_key" name="field_api_key"' in page.text
        assert 'method="post" action="../link"' in page.text
        # A form field naming another user is ignored: the token says who this is.
        done = await http.post(
            _form_url(url),
            data={"token": _token(url), "field_api_key": ALICE_KEY, "user_id": "U0BOB"},
        )
        assert done.status_code == 200
        assert "Linked Dataiku DSS (prod) as <strong>alice</strong> (API key)." in done.text
        assert ALICE_KEY not in done.text and done.headers["cache-control"] == "no-store"
        # The same link again: refused, whether opened or posted.
        again = await http.get(url)
        posted = await http.post(
            _form_url(url), data={"token": _token(url), "field_api_key": ALICE_KEY}
        )
    assert again.status_code == 410 and "already been used" in again.text
    assert posted.status_code == 410 and "already been used" in posted.text
    assert _links(settings) == [("U0ALICE", "dss", "prod", "alice")]
    assert _audit(settings) == [("U0ALICE", "link", "prod", "alice", "ok")]
    # Told in Slack too, where /ops link was typed; and /ops links agrees.
    await driver.wait_for(lambda: "Linked Dataiku DSS (prod) as *alice*" in seen_by(slack, "alice"))
    await reply_to(driver, slack, "alice", "/ops", "links", expect="linked accounts")
    await reply_to(driver, slack, "bob", "/ops", "links", expect="no linked accounts")


async def test_a_token_stores_for_the_user_it_was_issued_to_only(driver, slack, bot, settings):
    alices = await web_link(driver, slack, bot, "alice")
    bobs = await web_link(driver, slack, bot, "bob")
    async with httpx.AsyncClient() as http:
        # Whoever holds alice's link and whatever key is pasted, the link is alice's.
        done = await _submit(http, alices, field_api_key=BOB_KEY)
        assert "as <strong>bob</strong>" in done.text
        # Bob's own link is still his, and unused.
        mine = await _submit(http, bobs, field_api_key=BOB_KEY)
        assert mine.status_code == 200
    assert _links(settings) == [("U0ALICE", "dss", "prod", "bob"), ("U0BOB", "dss", "prod", "bob")]


async def test_the_link_expires_after_ten_minutes(driver, slack, bot, settings, bot_now):
    url = await web_link(driver, slack, bot, "alice")
    async with httpx.AsyncClient() as http:
        bot_now.advance(minutes=9, seconds=59)
        assert (await http.get(url)).status_code == 200
        bot_now.advance(seconds=1)
        late = await http.get(url)
        posted = await http.post(
            _form_url(url), data={"token": _token(url), "field_api_key": ALICE_KEY}
        )
    assert late.status_code == 410 and "expired" in late.text and "10 minutes" in late.text
    assert posted.status_code == 410 and "expired" in posted.text
    assert _links(settings) == [] and _audit(settings) == []


async def test_unknown_or_missing_tokens_get_a_clear_page(bot, settings):
    async with httpx.AsyncClient() as http:
        opened = await http.get(f"{bot.url}/link/not-a-token")
        posted = await http.post(
            f"{bot.url}/link", data={"token": "not-a-token", "field_api_key": ALICE_KEY}
        )
        empty = await http.post(f"{bot.url}/link", data={"field_api_key": ALICE_KEY})
    for page in (opened, posted, empty):
        assert page.status_code == 404
        assert "This link is not valid" in page.text
        assert "Run /ops link &lt;platform&gt; in Slack for a new one." in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
    assert _links(settings) == []


async def test_a_wrong_credential_shows_the_form_again_with_the_reason(
    driver, slack, bot, settings
):
    url = await web_link(driver, slack, bot, "alice")
    async with httpx.AsyncClient() as http:
        wrong = await _submit(http, url, field_api_key="not-a-real-key")
        assert wrong.status_code == 400
        assert "Dataiku DSS refused this credential. Check it and try again." in wrong.text
        assert f"{MAX_FAILURES - 1} more tries with this link." in wrong.text
        assert "not-a-real-key" not in wrong.text  # the secret is never echoed
        assert _token(url) in wrong.text  # the form still works: the token is not spent
        done = await _submit(http, url, field_api_key=ALICE_KEY)
    assert done.status_code == 200 and "as <strong>alice</strong>" in done.text
    assert [row[4] for row in _audit(settings)] == ["refused", "ok"]


async def test_after_too_many_refusals_the_link_is_spent(driver, slack, bot, settings):
    url = await web_link(driver, slack, bot, "alice")
    async with httpx.AsyncClient() as http:
        for _ in range(MAX_FAILURES - 1):
            page = await _submit(http, url, field_api_key="wrong")
            assert page.status_code == 400
        last = await _submit(http, url, field_api_key="wrong")
        assert last.status_code == 410 and f"refused {MAX_FAILURES} times" in last.text
        right = await http.post(
            _form_url(url), data={"token": _token(url), "field_api_key": ALICE_KEY}
        )
    assert right.status_code == 410 and _links(settings) == []


async def test_an_unreachable_platform_is_a_field_error_and_not_a_try(
    driver, slack, dss, bot, settings
):
    url = await web_link(driver, slack, bot, "alice", "link dss prod")
    async with httpx.AsyncClient() as http:
        dss.faults.set(hang=True)
        try:
            down = await _submit(http, url, field_api_key=ALICE_KEY)
        finally:
            dss.faults.clear()
        assert down.status_code == 503 and "could not be reached" in down.text
        assert "more tries" not in down.text
        done = await _submit(http, url, field_api_key=ALICE_KEY)
    assert done.status_code == 200 and _links(settings) == [("U0ALICE", "dss", "prod", "alice")]


async def test_instance_names_are_escaped_and_can_be_chosen(driver, slack, bot, settings):
    url = await web_link(driver, slack, bot, "alice")
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert "<prod>" not in page.text
        assert '<option value="pre&lt;prod&gt;&amp;&quot;&#x27;">' in page.text
        done = await http.post(
            _form_url(url),
            data={"token": _token(url), "instance": TWO_INSTANCES, "field_api_key": ALICE_KEY},
        )
    assert "Linked Dataiku DSS (pre&lt;prod&gt;&amp;&quot;&#x27;)" in done.text
    assert _links(settings) == [("U0ALICE", "dss", TWO_INSTANCES, "alice")]


async def test_a_link_for_a_named_instance_offers_no_other(driver, slack, bot, settings):
    url = await web_link(driver, slack, bot, "alice", "link dss prod")
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert "<select" not in page.text and '<strong id="instance">prod</strong>' in page.text
        done = await http.post(
            _form_url(url),
            data={"token": _token(url), "instance": TWO_INSTANCES, "field_api_key": ALICE_KEY},
        )
    assert done.status_code == 200
    assert _links(settings) == [("U0ALICE", "dss", "prod", "alice")]


async def test_logs_name_the_token_by_its_hash_prefix_only(driver, slack, bot, caplog):
    # As `switchboard run` sets logging up (bot.__main__.setup_logging), at DEBUG. (Root
    # last: caplog.set_level also sets its handler's level.)
    for name in ("slack_bolt", "slack_sdk"):
        caplog.set_level(logging.INFO, logger=name)
    for name in ("httpx", "httpcore"):  # also this test's own client, which logs its URLs
        caplog.set_level(logging.WARNING, logger=name)
    caplog.set_level(logging.DEBUG)
    url = await web_link(driver, slack, bot, "alice")
    async with httpx.AsyncClient() as http:
        await _submit(http, url, field_api_key="wrong")
        await _submit(http, url, field_api_key=ALICE_KEY)
        await http.get(url)
    token = _token(url)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert hash_prefix(hash_token(token)) in logged
    assert token not in logged and token[:12] not in logged
    assert ALICE_KEY not in logged
