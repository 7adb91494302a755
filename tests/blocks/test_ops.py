"""bot/blocks/ops.py: the hub's link modal, linked accounts, status, audit, help and the App
Home tab."""

from __future__ import annotations

import pytest

from bot import errors
from bot.accounts import LinkedAccount
from bot.blocks import ops
from bot.blocks.time import slack_date
from bot.platforms.base import InstanceStatus, LinkField
from tests.blocks.kit import buttons, home_text, message_text, modal_text

LINKED = "2026-11-29T08:15:00+00:00"
VERIFIED = "2026-11-29T10:40:00+00:00"
TITLES = {"dss": "Dataiku DSS", "limits": "Atoti Limits"}


def account(**changes) -> LinkedAccount:
    values = {
        "platform": "dss",
        "instance": "pre<prod>",
        "account": "alice <!here>",
        "kind": "personal key",
        "linked_at": LINKED,
        "verified_at": VERIFIED,
        "details": {},
    }
    return LinkedAccount(**(values | changes))


FIELDS = [
    LinkField(name="username", label="Username", initial="alice"),
    LinkField(name="password", label="Password", secret=True, initial="never-shown"),
    LinkField(
        name="mode",
        label="Login mode",
        choices=(("standard", "Standard"), ("ldap", "LDAP")),
        initial="ldap",
        hint="As on the Strategy One login page",
    ),
]


def test_the_link_modal_offers_the_instances_and_never_prefills_a_secret():
    meta = ops.LinkMetadata(platform="mstr", response_url="https://hooks.slack.com/x")
    view = ops.link_modal(
        title="Strategy One",
        platform="mstr",
        instances=["prod", "test"],
        fields=FIELDS,
        metadata=meta,
    )
    shown = modal_text(view)
    assert shown.startswith("Link Strategy One")
    assert "checked with Strategy One before it is saved, then kept encrypted" in shown
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    assert [o["value"] for o in blocks[ops.INSTANCE_BLOCK]["element"]["options"]] == [
        "prod",
        "test",
    ]
    assert blocks["field_username"]["element"]["initial_value"] == "alice"
    assert "initial_value" not in blocks["field_password"]["element"]
    assert blocks["field_mode"]["element"]["initial_option"]["value"] == "ldap"
    assert ops.LinkMetadata.model_validate_json(view["private_metadata"]) == meta


def test_a_named_instance_is_shown_escaped_and_errors_stand_under_their_field():
    view = ops.link_modal(
        title="Synnefo Astakos",
        platform="astakos",
        instances=["a<b>"],
        fields=FIELDS[:1],
        metadata=ops.LinkMetadata(platform="astakos", instance="a<b>"),
        errors={"username": "Astakos refused this token"},
    )
    shown = modal_text(view)
    assert shown.startswith("Link Synnefo Astakos\n")  # within Slack's 24 characters
    assert "Instance: *a&lt;b&gt;*" in shown
    ids = [block.get("block_id") for block in view["blocks"]]
    warning = view["blocks"][ids.index("field_username") + 1]
    assert warning["elements"][0]["text"] == ":warning: Astakos refused this token"


def test_linked_accounts_show_when_linked_and_verified_or_how_to_fix_a_broken_one():
    broken = account(
        platform="limits",
        instance="risk",
        account="bob",
        kind="",
        details={"broken": "the key was deleted", "broken_at": VERIFIED},
    )
    shown = message_text(ops.links_message([account(), broken], TITLES))
    assert "*Dataiku DSS* (pre&lt;prod&gt;)  as *alice &lt;!here&gt;* · personal key" in shown
    assert f"linked {slack_date(LINKED)} · last verified {slack_date(VERIFIED)}" in shown
    assert f":warning: *broken* since {slack_date(VERIFIED)}: the key was deleted." in shown
    assert "Run `/ops link limits risk` to link it again." in shown


def test_status_says_reachable_with_latency_and_version_or_why_not():
    rows = [
        ("Dataiku DSS", InstanceStatus("prod", True, 12.4, "15.2.0")),
        ("Atoti Limits", InstanceStatus("risk", False, detail="no answer within 2 s <boom>")),
    ]
    shown = message_text(ops.status_message(rows, version="1.4.0", extra=["2 replicas"]))
    assert ":large_green_circle: *Dataiku DSS* (prod)  12 ms · version 15.2.0" in shown
    assert (
        ":red_circle: *Atoti Limits* (risk)  unreachable: no answer within 2 s &lt;boom&gt;"
        in shown
    )
    assert "Switchboard 1.4.0" in shown and "2 replicas" in shown


def test_the_audit_shows_who_did_what_when_with_the_escaped_detail():
    row = {
        "at": VERIFIED,
        "user_id": "U0ALICE",
        "action": "limits.reject",
        "platform": "limits",
        "instance": "risk",
        "target": "L-42",
        "result": "ok",
        "detail": "reason: <!channel> too risky",
    }
    shown = message_text(ops.audit_message([row] * 25))
    assert shown.startswith("Last 25 changes")
    assert (
        f"{slack_date(VERIFIED)} <@U0ALICE> *limits.reject* limits risk L-42 → ok"
        " · reason: &lt;!channel&gt; too risky"
    ) in shown
    assert message_text(ops.audit_message([])) == "The audit trail is empty."


def test_help_lists_each_family_and_the_topics():
    overview = [
        ("/ops", "Switchboard", ["`/ops links` your linked accounts"]),
        ("/dss", "Dataiku DSS", ["`/dss futures [all]` running tasks"]),
    ]
    shown = message_text(ops.help_message(overview, topics=["link", "digest"]))
    assert "*Dataiku DSS* · `/dss`\n`/dss futures [all]` running tasks" in shown
    assert (
        "`/ops help <topic>` shows one with its forms and examples; topics: `link`, `digest`"
        in shown
    )
    topic = ops.help_topic("Digests", ["`/ops digest add`"], ["daily HH:MM"], ["/ops digest list"])
    assert "*Accepted forms*\n• daily HH:MM" in message_text(topic)


def test_home_offers_link_or_relink_and_a_confirmed_unlink_per_instance():
    view = ops.home_view(
        platforms=[("dss", "Dataiku DSS", ["pre<prod>"]), ("limits", "Atoti Limits", ["risk"])],
        accounts=[account()],
    )
    shown = home_text(view)
    assert f"Linked as *alice &lt;!here&gt;* · personal key · since {slack_date(LINKED)}" in shown
    assert "*Atoti Limits* (risk)\nNot linked." in shown
    relink, unlink, link = buttons(view["blocks"])
    assert ops.parse_ref(relink["value"]) == ops.PlatformRef(platform="dss", instance="pre<prod>")
    assert unlink["confirm"]["text"]["text"] == (
        "Delete your stored Dataiku DSS (pre&lt;prod&gt;) credential?"
    )
    assert ops.parse_ref(link["value"]).platform == "limits"


def test_an_old_button_value_is_a_clear_message():
    with pytest.raises(errors.UserError, match="out of date"):
        ops.parse_ref("not json")
