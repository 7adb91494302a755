"""The one-time web link in a real headless browser (Debian's chromium, driven by Selenium):
open the link from Slack, fill the form, submit, see the success page, then the same link
again refused."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.dss import DEMO
from tests.e2e.helpers import seen_by
from tests.weblink.conftest import web_link

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} is absent: apt-get install chromium chromium-driver", allow_module_level=True
    )
if not os.path.exists(CHROMEDRIVER):
    pytest.skip("chromedriver is absent: apt-get install chromium-driver", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402 (after the skips above)
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402 (after the skips above)
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402 (after the skips above)

ALICE_KEY = DEMO["alice"]["api_key"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="switchboard-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(15)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _fill_and_submit(browser: Any, key: str) -> None:
    field = browser.find_element(By.ID, "field_api_key")
    assert field.get_attribute("type") == "password"
    field.clear()
    field.send_keys(key)
    browser.find_element(By.ID, "submit").click()


def _text_of(browser: Any, element_id: str) -> str:
    return (
        WebDriverWait(browser, 10).until(ec.visibility_of_element_located((By.ID, element_id))).text
    )


async def test_open_fill_submit_then_the_same_link_is_refused(
    driver, slack, bot, settings, browser
):
    url = await web_link(driver, slack, bot, "alice", "link dss prod")

    def first_visit() -> tuple[str, str, str]:
        browser.get(url)
        assert browser.title == "Link Dataiku DSS · Switchboard"
        # A wrong key first: the form comes back with the platform's reason, empty.
        _fill_and_submit(browser, "not-a-real-key")
        refused = _text_of(browser, "field_api_key-error")
        assert browser.find_element(By.ID, "field_api_key").get_attribute("value") == ""
        _fill_and_submit(browser, ALICE_KEY)
        linked = _text_of(browser, "linked")
        path = browser.current_url.removeprefix(bot.url)
        return refused, linked, path

    refused, linked, path = await asyncio.to_thread(first_visit)
    assert refused == "Dataiku DSS refused this credential. Check it and try again."
    assert linked == "Linked Dataiku DSS (prod) as alice (API key)."
    assert path == "/link"  # the page after the POST: the token is not in its URL

    def second_visit() -> str:
        browser.get(url)
        return _text_of(browser, "refused")

    again = await asyncio.to_thread(second_visit)
    assert "This link has already been used" in again
    rows = (
        sqlite3.connect(settings.db_path).execute("select user_id, account from links").fetchall()
    )
    assert rows == [("U0ALICE", "alice")]
    await driver.wait_for(lambda: "Linked Dataiku DSS (prod) as *alice*" in seen_by(slack, "alice"))
