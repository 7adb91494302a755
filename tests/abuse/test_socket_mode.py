"""Socket Mode: one connection carries the envelopes of every workspace the app is installed
in, and none of them passes the HTTP checks in bot.web. A request naming another workspace or
organisation is refused there too: acked (so Slack does not deliver it again), audited, and no
listener runs.

The Slack emulator has no Socket Mode server, so the envelopes (Slack's shapes: envelope_id,
type, payload) are handed to the same Bolt Socket Mode handler `switchboard run --socket-mode`
uses, with a client that records what it would send back over the socket."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.app import create_app
from tests.abuse.test_requests import block_actions, command_form, quiet
from tests.abuse.test_slack_edges import audit_rows, event
from tests.e2e.helpers import replies_since, texts
from tests.support.bot import on_bot

__all__ = ["quiet"]  # the fixture


class RecordingSocket(AsyncBaseSocketModeClient):
    """The Socket Mode client's sending side: what would go back to Slack over the socket."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("tests.socket_mode")
        self.sent: list[dict[str, Any]] = []

    async def send_message(self, message: str) -> None:
        self.sent.append(json.loads(message))


def envelope(kind: str, payload: dict[str, Any], number: int) -> SocketModeRequest:
    found = SocketModeRequest.from_dict(
        {
            "envelope_id": f"env-{number}",
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            **({"retry_attempt": 0, "retry_reason": ""} if kind == "events_api" else {}),
        }
    )
    assert found is not None
    return found


def command(slack: Any, **fields: str) -> dict[str, Any]:
    """A slash command's Socket Mode payload: the HTTP form's fields, as an object."""
    return dict(parse_qsl(command_form(slack, **fields).decode()))


async def deliver(bot: Any, requests: list[SocketModeRequest]) -> list[dict[str, Any]]:
    """Hand envelopes to Bolt's Socket Mode handler on the bot's loop; what went back."""

    async def run() -> list[dict[str, Any]]:
        handler = AsyncSocketModeHandler(create_app(bot.services), "xapp-1-A0TEST-1-socket")
        socket = RecordingSocket()
        try:
            for request in requests:
                await handler.handle(socket, request)  # type: ignore[arg-type]  # a recorder
        finally:
            await handler.client.close()
        return socket.sent

    return await on_bot(bot, run())


async def test_in_socket_mode_a_request_from_another_workspace_is_acked_refused_and_audited(
    bot, slack, driver, quiet, settings
):
    other_team = {"team": {"id": "T0OTHER", "domain": "elsewhere"}}
    home = json.loads(event("app_home_opened", user="U0ALICE", tab="home"))
    uninstalled = json.loads(event("app_uninstalled"))
    foreign = [
        envelope("slash_commands", command(slack, team_id="T0OTHER"), 1),
        envelope("slash_commands", command(slack, enterprise_id="E0OTHER"), 2),
        envelope(
            "interactive", {**block_actions(slack, "sub_pause", '{"id": 1}'), **other_team}, 3
        ),
        envelope(
            "events_api",
            {**home, "team_id": "T0OTHER", "authorizations": [{"team_id": "T0OTHER"}]},
            4,
        ),
        envelope(
            "events_api",
            {**uninstalled, "team_id": "T0OTHER", "authorizations": [{"team_id": "T0OTHER"}]},
            5,
        ),
    ]
    sent = await deliver(bot, foreign)

    # Each envelope acked once, with nothing in it: Slack will not deliver it again.
    assert sent == [{"envelope_id": f"env-{n}"} for n in range(1, 6)]
    assert bot.services.installation.paused is None  # another workspace's uninstall
    refused = [r for r in audit_rows(settings) if r[1] == "slack.request"]
    assert [r[2] for r in refused] == ["refused"] * 5
    assert "T0OTHER" in refused[0][3] and "E0OTHER" in refused[1][3]
    await quiet.assert_nothing_happened()


async def test_in_socket_mode_our_own_workspace_is_served(bot, slack, driver):
    since = slack.last_seq
    sent = await deliver(
        bot, [envelope("slash_commands", command(slack, user="carol", text="help"), 1)]
    )
    assert [s["envelope_id"] for s in sent] == ["env-1"]

    def answered() -> str | None:
        found = [f"{m.text}\n{texts(m.blocks)}" for m in replies_since(slack, "carol", since)]
        return next((t for t in found if "Switchboard commands" in t), None)

    assert await driver.wait_for(answered)
    assert not [r for r in audit_rows(bot.settings) if r[1] == "slack.request"]
