"""bot/blocks/open_in.py: "Open in <platform>" link buttons to the platform's own page."""

from __future__ import annotations

from bot.blocks import open_in
from tests.blocks.kit import buttons, message_text


def test_a_page_url_quotes_each_part_as_one_segment():
    url = open_in.page(
        "https://dss.example.com/",
        open_in.DSS_SCENARIO,
        project="SALES",
        scenario="nightly/props a",
    )
    assert url == "https://dss.example.com/projects/SALES/scenarios/nightly%2Fprops%20a/runs/list/"


def test_no_base_or_a_url_over_slacks_limit_means_no_button():
    assert open_in.page(None, open_in.DSS_JOB, project="P", job="J") is None
    assert open_in.page("https://x.test", open_in.DSS_JOB, project="P" * 3000, job="J") is None
    assert open_in.button("DSS", None) is None
    assert open_in.actions_row(None, None) == []


def test_the_button_opens_the_page_and_its_row_is_valid_block_kit():
    url = open_in.page(
        "https://limits.example.com", open_in.LIMITS_STATUS, query={"incidentIds": ["i1", "i2"]}
    )
    row = open_in.actions_row(
        open_in.button("Atoti Limits", url), open_in.button("DSS", None, index=1)
    )
    message_text(row)
    [link] = buttons(row)
    assert link["text"]["text"] == "Open in Atoti Limits"
    assert link["url"] == "https://limits.example.com/limits/status?incidentIds=i1&incidentIds=i2"
    assert link["action_id"].startswith(open_in.ACTION_PREFIX)
