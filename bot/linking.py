"""Linking and unlinking an account, whatever asked for it: verify a credential with its
platform, store it encrypted, audit, and tell the person; unlink (revoke where the platform
can, delete, audit). The modal (handlers.link), the one-time web form (bot.weblink), `/ops
unlink` and the Home tab's Unlink button all go through here, so every way behaves the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import errors, messages
from bot.blocks import common as b
from bot.home import publish_home
from bot.platforms.base import Platform

if TYPE_CHECKING:
    from bot.services import Services

LINK_ALREADY_USED = "This link has already been used. Run `/ops link <platform>` for a new one."


@dataclass(frozen=True)
class Linked:
    """A stored link, as the person is told about it (no secret)."""

    text: str
    title: str
    instance: str
    account: str
    kind: str = ""


async def verify_and_store(
    services: Services,
    *,
    user_id: str,
    platform: Platform[Any],
    instance: str,
    values: dict[str, str],
    claim: Callable[[], Awaitable[bool]] | None = None,
    role: str = "",
) -> Linked:
    """The one path from a submitted credential to a stored link, shared by the modal and
    the web form (bot.weblink): verify with the platform, store encrypted, audit. Returns
    what to tell the person (`Linked.text` is the "Linked …" mrkdwn line).

    A refusal by the platform is audited and re-raised (`PlatformError`: the caller shows
    it under the field); other `BotError`s (bad input) are re-raised as they are. `claim`,
    when given, runs after a successful verification and before anything is stored; if it
    answers False nothing is stored and `UserError(LINK_ALREADY_USED)` is raised (the web
    form's one-time token, taken by a concurrent submission).

    The link's role is what the credential turns out to be (`VerifiedAccount.role`): an
    Astakos service token is kept beside a user token, not over it. `role`, when asked for
    (`/ops link astakos <instance> service`), refuses a credential of the other kind.
    """
    try:
        platform.instance(instance)
        verified = await platform.verify(instance, values)
    except errors.PlatformError as error:
        await services.audit.record(
            user_id=user_id,
            action="link",
            platform=platform.key,
            instance=instance,
            result="refused",
            detail=type(error).__name__,
        )
        raise
    if role and verified.role != role:
        raise errors.UserError(
            messages.LINK_ROLE_MISMATCH.format(
                kind=verified.kind or "credential",
                wanted=platform.link_roles.get(role, role),
                platform=platform.key,
                instance=instance,
            )
        )
    if claim is not None and not await claim():
        raise errors.UserError(LINK_ALREADY_USED)
    account = await services.accounts.link(user_id, platform.key, instance, verified)
    await services.audit.record(
        user_id=user_id,
        action="link",
        platform=platform.key,
        instance=instance,
        target=account.account,
    )
    kind = f" ({verified.kind})" if verified.kind else ""
    text = messages.LINKED.format(
        title=platform.title, instance=instance, account=account.account, kind=kind
    )
    return Linked(
        text=text,
        title=platform.title,
        instance=instance,
        account=account.account,
        kind=verified.kind,
    )


# The reason under the field it concerns; the modal and the web form (bot.weblink) share it.
def field_errors(
    platform: Platform[Any], instance: str, error: errors.PlatformError
) -> dict[str, str]:
    fields = platform.link_fields(platform.instance(instance))
    secret = next((f.name for f in fields if f.secret), fields[-1].name if fields else "instance")
    if isinstance(error, errors.BadAnswer):  # the instance's fault, not the credential's
        return {"instance": messages.for_error(error)}
    if isinstance(error, errors.Unavailable):
        return {
            "instance": messages.LINK_FIELD_UNREACHABLE.format(
                title=platform.title, instance=b.escape(instance), detail=b.escape(error.detail)
            )
        }
    if isinstance(error, errors.Unauthorized | errors.Forbidden):
        hint = platform.refused_hint(platform.instance(instance))
        refused = messages.LINK_FIELD_REFUSED.format(title=platform.title)
        return {secret: f"{refused} {hint}" if hint else refused}
    return {
        secret: messages.LINK_FIELD_OTHER.format(
            title=platform.title, detail=b.escape(error.detail)
        )
    }


async def tell_linked(
    services: Services,
    client: AsyncWebClient,
    *,
    user_id: str,
    text: str,
    response_url: str | None = None,
    from_home: bool = False,
) -> None:
    """After a link: the ephemeral note where `/ops link` was typed, and a fresh Home tab."""
    if response_url:
        await services.responder.to(response_url)(text=text, response_type="ephemeral")
    if from_home:
        await publish_home(services, client, user_id)


async def unlink_account(
    services: Services, user_id: str, key: str, instance: str, role: str | None = None
) -> str:
    """Revoke where the platform can, delete the row, audit. Returns the reply text.

    `role` None (no role word given): the usual link, or the only one the person has there.
    Whatever other role stays linked on the instance is said in the reply."""
    platform = services.platforms[key]
    linked = await services.accounts.credentials(user_id, key, instance)
    if role is None:
        role = "" if any(c.role == "" for c in linked) or len(linked) != 1 else linked[0].role
    credential = next((c for c in linked if c.role == role), None)
    others = [c for c in linked if c.role != role]
    kept = "".join(
        messages.UNLINKED_KEPT.format(
            kind=c.kind or "other link",
            platform=key,
            instance=instance,
            role=f" {c.role}" if c.role else "",
        )
        for c in others
    )
    if credential is None:
        if not role:
            return messages.NOT_LINKED_UNLINK.format(title=platform.title, instance=instance)
        return messages.NOT_LINKED_ROLE.format(
            title=platform.title,
            instance=instance,
            kind=platform.link_roles.get(role, role),
            kept=kept,
        )
    revoked = ""
    try:
        await platform.revoke(credential)
    except errors.PlatformError:
        revoked = " (the platform could not be told to revoke it; it may stay valid there)"
    await services.accounts.unlink(user_id, key, instance, role)
    await services.audit.record(
        user_id=user_id, action="unlink", platform=key, instance=instance, target=credential.account
    )
    what = f" {credential.kind}" if platform.link_roles and credential.kind else ""
    return messages.UNLINKED.format(
        title=platform.title, instance=instance, what=what, revoked=revoked, kept=kept
    )
