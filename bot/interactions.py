"""Button clicks: one wrapper acks first (and returns at once: the work runs in a task of our
own, as for commands), parses the button's value into a model, and routes
every error through `guarded`. The clicker's identity always comes from Slack's payload, and
work always runs with the clicker's own credentials, whoever posted the message.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import errors
from bot.commands import ACKS_AT_ONCE, guarded

if TYPE_CHECKING:
    from bot.services import Services

M = TypeVar("M", bound=BaseModel)

STALE_BUTTON = "That button is out of date. Run the command again to get a fresh one."


@dataclass
class Click:
    services: Services
    user_id: str
    action_id: str
    value: str
    respond: AsyncRespond
    client: AsyncWebClient
    body: dict[str, Any]

    @property
    def trigger_id(self) -> str:
        return str(self.body.get("trigger_id", ""))

    def parse(self, model: type[M]) -> M:
        try:
            return model.model_validate(json.loads(self.value))
        except (ValueError, ValidationError):
            raise errors.UserError(STALE_BUTTON) from None


def on_click(handler: Callable[[Click], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    async def listener(
        ack: Any,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: Any,
    ) -> None:
        await ack()
        services = context["services"]
        if body.get("response_url"):
            respond = services.responder.to(body["response_url"])
        else:  # a click on the Home tab or in a modal: nothing to reply to, so a DM
            respond = dm(client, body["user"]["id"])
        click = Click(
            services=services,
            user_id=body["user"]["id"],
            action_id=action.get("action_id", ""),
            value=action.get("value") or (action.get("selected_option") or {}).get("value", ""),
            respond=respond,
            client=client,
            body=body,
        )
        services.background.spawn(guarded(respond, handler(click), replace=False))

    listener.__name__ = f"on_{handler.__name__}"
    setattr(listener, ACKS_AT_ONCE, True)
    return listener


def dm(client: AsyncWebClient, user_id: str) -> Any:
    """A `respond` stand-in where Slack gave no response_url: a direct message."""

    async def send(text: str = "", blocks: list[dict[str, Any]] | None = None, **_: Any) -> None:
        await client.chat_postMessage(channel=user_id, text=text, blocks=blocks)

    return send


def ref(model: BaseModel) -> str:
    """A button value: the model as compact JSON (Slack allows 2,000 characters)."""
    return model.model_dump_json(exclude_none=True)
