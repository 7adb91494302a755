"""Linking: the modal that asks for a credential, verifies it, and stores it encrypted.

The submission is acked at once with a "checking…" view (Slack's 3-second rule), then the
platform is asked; a refused credential or an unreachable instance puts the form back with the
reason under the field it concerns. The secret is never echoed: the form comes back empty.

Verifying and storing (`bot.linking.verify_and_store`) and the reasons under the fields
(`field_errors`) are shared with the one-time web form (`bot.weblink`), so both ways of linking
behave the same.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import errors, messages
from bot.blocks import ops as blocks
from bot.linking import field_errors, tell_linked, verify_and_store
from bot.platforms.base import Platform
from bot.services import Services

log = logging.getLogger(__name__)


def platform_for(services: Services, word: str) -> Platform[Any]:
    configured = ", ".join(f"`{k}`" for k in services.platforms) or "none configured"
    key = services.platforms.key_for(word)
    if key not in services.platforms and key in services.platforms.descriptors:
        raise errors.UserError(
            messages.NOT_CONFIGURED.format(
                title=services.platforms.title(key), key=key, platforms=configured
            )
        )
    if key not in services.platforms:
        raise errors.UserError(
            messages.UNKNOWN_PLATFORM.format(word=word.replace("`", "'")[:40], platforms=configured)
        )
    return services.platforms[key]


async def open_link_modal(
    *,
    services: Services,
    client: AsyncWebClient,
    trigger_id: str,
    platform: Platform[Any],
    instance: str | None,
    response_url: str | None = None,
    from_home: bool = False,
    role: str = "",
) -> None:
    if instance is not None:
        platform.instance(instance)  # raises a UserError naming the configured ones
    metadata = blocks.LinkMetadata(
        platform=platform.key,
        instance=instance,
        response_url=response_url,
        from_home=from_home,
        role=role,
        role_words=platform.link_roles.get(role, ""),
    )
    await client.views_open(trigger_id=trigger_id, view=_form(platform, metadata))


def _form(
    platform: Platform[Any],
    metadata: blocks.LinkMetadata,
    field_errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    instance = platform.instance(metadata.instance)
    return blocks.link_modal(
        title=platform.short_title or platform.title,
        platform=platform.key,
        instances=list(platform.instances),
        fields=platform.link_fields(instance),
        metadata=metadata,
        errors=field_errors,
    )


def _values(view: dict[str, Any], secret: set[str]) -> tuple[str | None, dict[str, str]]:
    """The chosen instance and the field values; secrets keep their spaces (a password may
    begin or end with one), other fields are trimmed."""
    instance = None
    values: dict[str, str] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        for state in actions.values():
            value = state.get("value")
            if value is None and state.get("selected_option"):
                value = state["selected_option"].get("value")
            if block_id == blocks.INSTANCE_BLOCK:
                instance = value
            elif block_id.startswith("field_"):
                name = block_id.removeprefix("field_")
                values[name] = (value or "") if name in secret else (value or "").strip()
    return instance, values


async def on_link_submit(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    services: Services = context["services"]
    view = body["view"]
    user_id = body["user"]["id"]  # identity from Slack, never from private_metadata
    try:
        metadata = blocks.LinkMetadata.model_validate_json(view.get("private_metadata") or "")
        platform = services.platforms[metadata.platform]
        secret = {
            f.name for f in platform.link_fields(platform.instance(metadata.instance)) if f.secret
        }
    except (ValidationError, KeyError, errors.UserError):
        await ack()
        log.warning("link submission with unusable private_metadata from %s", user_id)
        return
    chosen, values = _values(view, secret)
    instance = metadata.instance or chosen or next(iter(platform.instances), "")
    # A required field left empty (or only spaces) is marked under that field, in the same
    # form, before anything is checked with the platform.
    empty = {
        blocks.field_block_id(f.name): messages.LINK_FIELD_EMPTY.format(label=f.label)
        for f in platform.link_fields(platform.instance(instance))
        if not f.optional and not f.choices and not values.get(f.name, "").strip()
    }
    if empty:
        await ack(response_action="errors", errors=empty)
        return
    # The "checking" view gets its own external_id, and every later update names it: Slack
    # applies the ack's view when it reads our HTTP answer, which can be after a fast platform
    # answered, so updating by view id could be overwritten by "checking…".
    checking = f"link-{uuid.uuid4().hex}"
    await ack(
        response_action="update",
        view={
            **blocks.notice_modal(
                "Checking…", messages.LINK_VERIFYING.format(title=platform.title, instance=instance)
            ),
            "external_id": checking,
        },
    )
    try:
        linked = await verify_and_store(
            services,
            user_id=user_id,
            platform=platform,
            instance=instance,
            values=values,
            role=metadata.role if metadata.role in platform.link_roles else "",
        )
    except errors.PlatformError as error:
        metadata = metadata.model_copy(update={"instance": instance})
        await _update(
            client, checking, _form(platform, metadata, field_errors(platform, instance, error))
        )
        return
    except errors.BotError as error:
        # Input the platform module refused (a missing part, a bad format): back in the form,
        # under the secret, so the person can fix it there.
        metadata = metadata.model_copy(update={"instance": instance})
        fields = platform.link_fields(platform.instance(instance))
        where = next((f.name for f in fields if f.secret), fields[-1].name if fields else "")
        await _update(
            client, checking, _form(platform, metadata, {where: messages.for_error(error)})
        )
        return
    await _update(client, checking, blocks.notice_modal("Linked", linked.text))
    await tell_linked(
        services,
        client,
        user_id=user_id,
        text=linked.text,
        response_url=metadata.response_url,
        from_home=metadata.from_home,
    )


async def _update(client: AsyncWebClient, external_id: str, view: dict[str, Any]) -> None:
    """views.update by external_id, waiting (up to ~5 s) until Slack shows the acked view."""
    for _ in range(50):
        try:
            await client.views_update(external_id=external_id, view=view)
            return
        except SlackApiError as error:
            if error.response.get("error") != "not_found":
                raise
        await asyncio.sleep(0.1)
    log.warning("link modal %s never appeared; the person closed it?", external_id)


def register(app: AsyncApp) -> None:
    app.view(blocks.LINK_CALLBACK)(on_link_submit)
