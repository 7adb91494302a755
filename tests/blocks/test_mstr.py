"""bot/blocks/mstr.py: /mstr status, whoami, projects per node and the default project."""

from __future__ import annotations

from bot.blocks import mstr
from bot.platforms.mstr.models import Project, ProjectNode, SessionStatus, UserInfo
from tests.blocks.kit import buttons, message_text

SALES = Project(
    id="B7CA92F04B9FAE8D941C3E9B7E0CD754",
    name="Sales <Analytics>",
    alias="sales",
    description="Quarterly sales & margins",
    nodes=(ProjectNode("node-1", "loaded"), ProjectNode("node-2", "unloaded")),
)
TUTORIAL = Project(
    id="2A6E8B0D", name="MicroStrategy Tutorial", nodes=(ProjectNode("node-1", "loaded"),)
)


def test_status_shows_versions_the_session_in_words_and_a_relogin_note():
    status = SessionStatus("11.4.0600", "11.4.0600", True, 1800, 1740.0, reopened=True)
    shown = message_text(mstr.status("prod", status, "Sales <Analytics>"))
    assert "*Your session*\n:large_green_circle: alive" in shown
    assert "*Session timeout*\n30m 00s idle" in shown
    assert "*Expires in*\n29m 00s (renewed as you use it)" in shown
    assert "*Default project*\n*Sales &lt;Analytics&gt;*" in shown
    assert "I logged you in again to answer" in shown


def test_whoami_says_in_words_which_credential_is_kept():
    info = UserInfo(
        id="54F3D26011D2896560009A8E67019608",
        full_name="Alice <A.>",
        initials="AA",
        username="alice",
    )
    shown = message_text(
        mstr.whoami("prod", info, login_mode="standard", kept="token", default=None)
    )
    assert "*Name*\nAlice &lt;A.&gt;" in shown
    assert (
        "Standard login; I keep an API token instead of your password, which is not stored" in shown
    )
    assert "none (`/mstr use <project>` sets one)" in shown
    assert mstr.linked_with("ldap", "password").startswith(
        "Ldap login; I keep your password, encrypted"
    )


def test_projects_show_each_nodes_status_the_default_first_and_use_buttons_for_the_others():
    blocks = mstr.projects("prod", [TUTORIAL, SALES], default_id=TUTORIAL.id, filter_="a")
    shown = message_text(blocks)
    assert shown.index("MicroStrategy Tutorial") < shown.index("Sales &lt;Analytics&gt;")
    assert ":star: _your default_" in shown
    assert ":large_green_circle: node-1: loaded · :white_circle: node-2: unloaded" in shown
    assert "· Quarterly sales &amp; margins" in shown
    assert "Only projects matching “a”." in shown
    [use] = buttons(blocks)  # none on the default
    assert mstr.ProjectRef.model_validate_json(use["value"]) == mstr.ProjectRef(
        instance="prod", id=SALES.id, filter="a"
    )


def test_without_the_monitor_privilege_the_list_says_what_it_shows():
    mine = Project(id="P1", name="Finance")
    shown = message_text(mstr.projects("prod", [mine], default_id=None))
    assert "Per-node status needs the project monitor privilege" in shown
    assert ":large_green_circle: loaded for you" in shown
    assert message_text(mstr.projects("prod", [], default_id=None, filter_="zz")).endswith(
        "No project matching “zz”."
    )


def test_default_project_replies_escape_names_and_say_how_to_go_on():
    assert "is *Sales &lt;Analytics&gt;*. `/mstr use none` clears it." in mstr.use_current(
        "prod", SALES.name
    )
    assert "Set one with `/mstr use <project>`" in mstr.use_current("prod", None)
    assert f"now *Sales &lt;Analytics&gt;* (`{SALES.id}`)" in mstr.use_set("prod", SALES)
    assert "(it was *Finance*)" in mstr.use_cleared("prod", "Finance")
    missing = mstr.no_such_project("prod", "<!here>", ["Sales", "Salaries"])
    assert "is called `&lt;!here&gt;`. Close names: *Sales*, *Salaries*." in missing
    assert "matches `sa`: *Sales*, *Salaries*." in mstr.ambiguous_project(
        "prod", "sa", ["Sales", "Salaries"]
    )
    refused = mstr.default_refused("prod", "Sales", "project <offline>")
    assert "refused your default project *Sales*: project &lt;offline&gt;." in refused
