"""`switchboard demo --script`: the README's demo, driven the way a person types it."""

from __future__ import annotations

import subprocess
import sys


def test_demo_links_accounts_and_answers_commands_and_buttons(tmp_path):
    script = tmp_path / "demo.txt"
    script.write_text(
        "\n".join(
            [
                "# comments and blank lines are skipped",
                "/ops links",
                "/dss futures",
                "click 1",
                "/ops audit 3",
                "/dss nonsense",
                "/ops digest add all every 5m",
                "/ops digest now 1",
                "as bob",
                "/dss keys",
                "quit",
                "/ops links",  # after quit: never run
            ]
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "demo",
            "--script",
            str(script),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    for line in (
        "alice: dss linked",
        "alice: mstr linked",
        "alice: squonk linked",
        "alice: astakos linked",
        "alice: limits linked",
        "bob: dss linked",
    ):
        assert line in out
    assert "*Dataiku DSS* (design)  as *alice* · API key" in out
    assert "[1: Abort]" in out
    assert "aborted `" in out  # the list was re-drawn after the confirmed click
    assert "*dss.abort*" in out  # and the audit trail shows it
    assert "I don't know `nonsense`" in out
    # The digest goes out at once, one section per platform, with its approval buttons.
    for section in (
        "Dataiku DSS",
        "Strategy One",
        "Squonk2 Data Manager",
        "Synnefo Astakos",
        "Atoti Limits",
    ):
        assert out.count(section) >= 2, section
    assert "[DM]" in out and "Accept" in out
    assert "needs a DSS *admin* key" in out  # bob's key is not admin
    assert out.count("alice> /ops links") == 1
    assert "Traceback" not in result.stderr
