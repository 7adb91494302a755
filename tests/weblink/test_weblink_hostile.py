"""The web link form when the platform answers something of the wrong shape: one clear line
naming the instance, no try used up, and the link still works once the instance behaves.
(issue 11, "Hostile or broken platforms")"""

from __future__ import annotations

import httpx

from emulators.dss import DEMO
from tests.weblink.conftest import web_link
from tests.weblink.test_weblink_flow import _links, _submit

ALICE_KEY = DEMO["alice"]["api_key"]


async def test_a_login_page_with_200_is_a_clear_message_and_costs_no_try(
    driver, slack, dss, bot, settings
):
    url = await web_link(driver, slack, bot, "alice", "link dss prod")
    async with httpx.AsyncClient() as http:
        for _ in range(4):  # more than the tries a wrong credential gets
            dss.faults.set(answer="html")
            try:
                page = await _submit(http, url, field_api_key=ALICE_KEY)
            finally:
                dss.faults.clear()
            assert page.status_code == 503
            assert (
                "Dataiku DSS (prod) answered something Switchboard does not understand "
                "(text/html instead of JSON for GET /public/api/auth/info); try again later "
                "or tell your operator."
            ) in page.text
            assert "more tries" not in page.text and "Sign in" not in page.text
        done = await _submit(http, url, field_api_key=ALICE_KEY)
    assert done.status_code == 200
    assert _links(settings) == [("U0ALICE", "dss", "prod", "alice")]
