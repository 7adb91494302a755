"""manifest.yml and `switchboard manifest` validate against Slack's published schema, and
list every slash command the app registers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

from bot.config import Settings
from bot.manifest import build_manifest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"


def validator() -> jsonschema.Draft7Validator:
    top = json.loads((DATA / "slack-manifest.schema.json").read_text())
    resources = []
    for version in ("1.0.0", "2.0.0"):
        schema = json.loads((DATA / "schemas" / f"manifest.schema.{version}.json").read_text())
        resources.append(
            (
                f"{REMOTE}manifest.schema.{version}.json",
                Resource.from_contents(schema, default_specification=_draft7()),
            )
        )
    return jsonschema.Draft7Validator(top, registry=Registry().with_resources(resources))


def _draft7():
    from referencing.jsonschema import DRAFT7

    return DRAFT7


def errors_of(manifest: dict) -> list[str]:
    return [e.message for e in validator().iter_errors(manifest)]


def test_repository_manifest_is_valid_and_matches_the_generator():
    on_disk = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert errors_of(on_disk) == []
    generated = build_manifest(
        Settings(_env_file=None), url="https://switchboard.example.com", socket_mode=False
    )
    assert on_disk == generated


def test_schema_rejects_a_broken_manifest():
    broken = build_manifest(Settings(_env_file=None), url="https://x.example", socket_mode=False)
    broken["features"]["slash_commands"][0]["command"] = "no-slash"
    assert errors_of(broken)


@pytest.mark.parametrize("socket_mode", [False, True])
def test_cli_prints_a_valid_manifest_for_the_configured_command_names(socket_mode, monkeypatch):
    args = ["--socket-mode"] if socket_mode else ["--url", "https://bot.example.com"]
    env = {"SWITCHBOARD_CMD_DSS": "/dataiku", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "bot", "manifest", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    manifest = yaml.safe_load(out)
    assert errors_of(manifest) == []
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert "/dataiku" in commands and "/dss" not in commands
    assert manifest["settings"]["socket_mode_enabled"] is socket_mode
    if socket_mode:
        assert "request_url" not in manifest["settings"]["interactivity"]
    else:
        assert manifest["settings"]["interactivity"]["request_url"] == (
            "https://bot.example.com/slack/events"
        )


def test_every_registered_command_is_in_the_manifest():
    from handlers import slash_commands

    settings = Settings(_env_file=None)
    manifest = build_manifest(settings, url="https://x.example", socket_mode=False)
    listed = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert set(slash_commands(settings).values()) == listed


def test_unfurl_domains_are_the_configured_instance_hosts_and_links_scopes_are_asked():
    settings = Settings(
        _env_file=None,
        platforms={
            "dss": [
                {"name": "prod", "url": "https://dss.example.com:11200"},
                {"name": "dev", "url": "https://dss-dev.example.com"},
            ],
            "squonk": [
                {
                    "name": "im",
                    "url": "https://dm.example.org/data-manager-api",
                    "ui_url": "https://squonk.example.org/data-manager-ui",
                }
            ],
            "astakos": [
                {"name": "okeanos", "url": "https://accounts.okeanos.example/identity/v2.0"}
            ],
        },
    )
    manifest = build_manifest(settings, url="https://bot.example.com", socket_mode=False)
    assert errors_of(manifest) == []
    # Astakos has no pages to preview; ports and paths are not part of a domain.
    assert manifest["features"]["unfurl_domains"] == [
        "dss.example.com",
        "dss-dev.example.com",
        "dm.example.org",
        "squonk.example.org",
    ]
    assert {"links:read", "links:write"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert "link_shared" in manifest["settings"]["event_subscriptions"]["bot_events"]
