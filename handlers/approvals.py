"""Approval buttons and the reason modal of every kind, translated to `bot.approval_flow`.

A button is routed here when its action id is one a registered kind's verbs use (asked at
click time, so a kind registered after the app was built is served too)."""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import approval_flow, approval_kinds
from bot.blocks import approvals as blocks
from bot.commands import guarded
from bot.interactions import dm, on_click
from bot.services import Services

log = logging.getLogger(__name__)


async def is_approval_button(body: dict[str, Any]) -> bool:
    actions = body.get("actions") or [{}]
    action_id = (actions[0] or {}).get("action_id")
    return action_id in (approval_flow.ACT, approval_flow.ASK_REASON) or (
        action_id in approval_kinds.action_ids()
    )


async def _quiet(**_: Any) -> None:
    """Nowhere to answer (a modal opened from a message whose response_url is unknown)."""


async def on_reason_submit(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    await ack()  # closes the modal; the card shows the outcome
    services: Services = context["services"]
    user_id = body["user"]["id"]  # the acting person comes from Slack, never the metadata
    view = body.get("view") or {}
    try:
        meta = blocks.ReasonMeta.model_validate_json(view.get("private_metadata") or "")
    except ValidationError:
        log.warning("reason submission with unusable private_metadata from %s", user_id)
        return
    if meta.response_url:
        respond: Any = services.responder.to(meta.response_url)
    else:  # opened from the Home tab: answers go by direct message, as for its buttons
        respond = dm(client, user_id) if meta.home else _quiet
    await guarded(
        respond,
        approval_flow.submit(services, client, user_id, meta, blocks.reason_of(view), respond),
        replace=False,
    )


def register(app: AsyncApp) -> None:
    app.action(re.compile(r".+"), matchers=[is_approval_button])(on_click(approval_flow.clicked))
    app.view(blocks.REASON_CALLBACK)(on_reason_submit)
