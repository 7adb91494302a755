"""The README an operator and a newcomer read: tables that render, every setting named, every
Slack scope explained, the command reference shipped beside it."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import ApprovalRule, Settings
from bot.demo import DEMO_LINKS
from bot.manifest import BOT_SCOPES

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def tables(text: str) -> list[list[str]]:
    """Markdown tables as lists of rows; a table ends at the first line not starting `|`."""
    out: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            out.append(current)
            current = []
    return out + ([current] if current else [])


def test_every_table_has_a_header_and_rows_of_the_same_width():
    for table in tables(README):
        assert len(table) >= 3, table  # header, separator, at least one row
        assert re.fullmatch(r"\|(---\|)+", table[1]), table[:2]
        width = table[0].count("|") - table[0].count("\\|")
        for row in table:
            assert row.count("|") - row.count("\\|") == width, row


def test_the_command_table_is_one_table_with_digests_and_alerts():
    command_table = next(t for t in tables(README) if t[0].startswith("| command |"))
    body = "\n".join(command_table)
    for command in (
        "`/ops help [topic]`",
        "`/ops digest add",
        "`/ops digest list",
        "`/ops alert add",
        "`/dss whoami",
        "`/limits status",
    ):
        assert command in body, command


def test_every_setting_is_named():
    names = []
    for name, field in Settings.model_fields.items():
        if name in ("platforms", "approvers", "approval_rules", "commands", "descriptors"):
            # from the TOML file, documented with it; commands: SWITCHBOARD_CMD_*;
            # descriptors: the platforms the code knows, not a setting
            continue
        alias = field.validation_alias
        names.append(alias.choices[0] if alias else f"SWITCHBOARD_{name.upper()}")
    missing = [n for n in names if f"`{n}`" not in README]
    assert missing == []
    line = next(x for x in README.splitlines() if "`SWITCHBOARD_CMD_<KEY>`" in x)
    assert "`SWITCHBOARD_CMD_OPS`" in line
    assert all(f"`{d.slash}`" in line for d in Settings(_env_file=None).descriptors)
    assert "`127.0.0.1`: only this machine" in README


def test_every_approvers_key_is_explained():
    """`[approvers."<action>"]` tables (bot.config.ApprovalRule): each key has its row."""
    rows = [line for line in README.splitlines() if line.startswith("| `")]
    for key in ApprovalRule.model_fields:
        assert any(line.startswith(f"| `{key}` |") for line in rows), key


def test_every_slack_scope_says_why():
    scope_table = next(t for t in tables(README) if t[0].startswith("| scope |"))
    explained = {s.strip("` ") for row in scope_table[2:] for s in row.split("|")[1].split(",")}
    assert explained == set(BOT_SCOPES)
    for row in scope_table[2:]:
        assert len(row.split("|")[2].strip()) > 10, row


def test_the_command_reference_ships_in_the_repository_and_is_linked():
    assert "[docs/COMMANDS.md](docs/COMMANDS.md)" in README
    assert (ROOT / "docs" / "COMMANDS.md").is_file()
    assert "../shared" not in README


def test_the_demo_people_and_console_basics_are_there():
    for user, _platform, values in DEMO_LINKS:
        assert f"| {user}" in README
        for value in values.values():
            if value not in ("1",):  # the login mode's code: shown by name
                assert f"`{value}`" in README or f"/ `{value}`" in README, (user, value)
    assert "`click N` presses button N **of the latest output**" in README
    demo = README[README.index("## On a fresh machine") : README.index("## Running for real")]
    # No destructive first click is suggested (Abort is the first button of /dss futures).
    assert "`/dss futures`, then\n`click 1`" not in demo and "then `click 1`" not in demo
