"""The one-time web link (issue 7): where `public_url` is set (SWITCHBOARD_PUBLIC_URL),
`/ops link <platform>` answers with a link to a small form served by the bot, instead of the
modal. The form posts the credential to the bot, which verifies and stores it exactly as the
modal does (`handlers.link.verify_and_store`).

    GET  /link/{token}   the form; never consumes the token (link previews are harmless)
    POST /link           the token in a hidden field, and the values: verify, store, audit

Tokens. 32 random bytes, URL-safe; valid `TTL` (10 minutes) from issue; bound to the Slack
user who typed `/ops link`: the credential is stored for the user the token was issued to,
and the form carries no other identity. Only a SHA-256 of the token is kept (table
`weblink_tokens`, in bot/store/weblink_tokens.py), and logs name a token by `hash_prefix`
(8 hex digits of that hash), never by the token or the URL that carries it.

Consumption. A token is spent by a successful link, claimed atomically after the platform
accepted the credential and before anything is stored, so two concurrent submissions cannot
both store. A refused credential puts the form back with the platform's reason under the
field (like the modal); after `MAX_FAILURES` refusals the token is spent too, so a leaked link
cannot be used to try credentials at length. An unreachable platform or an empty field does
not count as a try. A spent, expired or unknown token gets a page saying so and what to do.

The POST is CSRF-safe through the token itself: a cross-site page cannot know it. Pages are
`no-store`, `no-referrer`, framed by nobody, and under a strict Content-Security-Policy;
everything shown is HTML-escaped.
"""

from __future__ import annotations

import hashlib
import html
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import errors, messages
from bot import weblink_pages as pages
from bot.linking import LINK_ALREADY_USED, field_errors, tell_linked, verify_and_store
from bot.platforms.base import Platform
from bot.services import Services
from bot.store import weblink_tokens as tokens

log = logging.getLogger(__name__)

TTL = timedelta(minutes=10)
MAX_FAILURES = 5
# Rows are kept a day after they expire (for the "already used" page), then pruned on issue.
KEEP_AFTER_EXPIRY = timedelta(days=1)
MAX_FORM_BYTES = 64_000
FORM_PATH = "/link"

LINKED = tokens.LINKED
LOCKED = tokens.LOCKED


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_prefix(token_hash: str) -> str:
    """How logs name a token."""
    return token_hash[:8]


@dataclass(frozen=True)
class Issued:
    url: str
    minutes: int


# -- issuing ---------------------------------------------------------------------------------


async def issue(
    services: Services,
    *,
    user_id: str,
    platform: str,
    instance: str | None,
    response_url: str | None = None,
) -> Issued:
    """A fresh one-time link for `user_id` to link `platform` (and `instance`, if named)."""
    base = (services.settings.public_url or "").rstrip("/")
    if not base:
        raise errors.UserError("The web link is not enabled here (no public URL is set).")
    token = secrets.token_urlsafe(32)
    token_hash = hash_token(token)
    now = services.now()
    await services.store.run(
        tokens.insert,
        {
            "token_hash": token_hash,
            "user_id": user_id,
            "platform": platform,
            "instance": instance or "",
            "response_url": response_url or "",
            "created_at": now.isoformat(timespec="seconds"),
            "expires_at": (now + TTL).timestamp(),
            "used_at": None,
            "outcome": "",
            "failures": 0,
        },
        (now - KEEP_AFTER_EXPIRY).timestamp(),
    )
    log.info("web link %s issued to %s for %s", hash_prefix(token_hash), user_id, platform)
    return Issued(url=f"{base}{FORM_PATH}/{token}", minutes=int(TTL.total_seconds() // 60))


# -- the pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Live:
    """A token that may still be used, with what it was issued for."""

    token_hash: str
    row: dict[str, Any]
    platform: Platform[Any]


async def _live(services: Services, token: str) -> _Live | Response:
    """The token's row if it may be used now, else the page that says why not."""
    if not token or len(token) > 200:
        return pages.refused(pages.UNKNOWN, status=404)
    token_hash = hash_token(token)
    row = await services.store.run(tokens.get, token_hash)
    if row is None:
        log.info("web link %s: unknown", hash_prefix(token_hash))
        return pages.refused(pages.UNKNOWN, status=404)
    if row["outcome"] == LINKED:
        log.info("web link %s: already used", hash_prefix(token_hash))
        return pages.refused(pages.USED, status=410)
    if row["outcome"] == LOCKED:
        return pages.refused(pages.LOCKED.format(tries=MAX_FAILURES), status=410)
    if services.now().timestamp() >= row["expires_at"]:
        log.info("web link %s: expired", hash_prefix(token_hash))
        return pages.refused(
            pages.EXPIRED.format(minutes=int(TTL.total_seconds() // 60)), status=410
        )
    platform = services.platforms.get(row["platform"])
    if platform is None or (row["instance"] and row["instance"] not in platform.instances):
        return pages.refused(pages.GONE, status=410)
    return _Live(token_hash, row, platform)


def _form_page(
    live: _Live,
    token: str,
    *,
    instance: str | None = None,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    platform = live.platform
    fixed = live.row["instance"] or None
    chosen = fixed or instance or next(iter(platform.instances))
    choices = [] if fixed or len(platform.instances) < 2 else list(platform.instances)
    # The messages are Slack mrkdwn, escaped for Slack; the page escapes for HTML itself.
    return pages.form(
        title=platform.title,
        token=token,
        action=f"..{FORM_PATH}",
        instance=chosen,
        instances=choices,
        fields=platform.link_fields(platform.instance(chosen)),
        values=values or {},
        notice=html.unescape(notice),
        status=status,
        errors={k: html.unescape(v) for k, v in (field_errors or {}).items()},
    )


def routes(services: Services) -> list[Route]:
    """The form's routes, for `bot.web.create_web_app` (only where public_url is set)."""

    async def show(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            live = await _live(services, token)
            if isinstance(live, Response):
                return live
            return _form_page(live, token)
        except Exception:
            return _internal(token)

    async def submit(request: Request) -> Response:
        token = ""
        try:
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > MAX_FORM_BYTES:
                return pages.refused(pages.TOO_BIG, status=413)
            body = await request.body()
            if len(body) > MAX_FORM_BYTES:
                return pages.refused(pages.TOO_BIG, status=413)
            form = {
                k: v[0]
                for k, v in parse_qs(
                    body.decode("utf-8", "replace"), keep_blank_values=True
                ).items()
            }
            token = form.get("token", "")
            return await _submit(services, token, form)
        except Exception:
            return _internal(token)

    return [
        Route(f"{FORM_PATH}/{{token}}", show, methods=["GET"]),
        Route(FORM_PATH, submit, methods=["POST"]),
    ]


async def _submit(services: Services, token: str, form: dict[str, str]) -> Response:
    live = await _live(services, token)
    if isinstance(live, Response):
        return live
    platform, row = live.platform, live.row
    user_id = row["user_id"]  # identity from the token, never from the form
    instance = row["instance"] or form.get("instance", "")
    if instance not in platform.instances:
        instance = next(iter(platform.instances))
    fields = platform.link_fields(platform.instance(instance))
    secret = {f.name for f in fields if f.secret}
    values: dict[str, str] = {}
    for f in fields:
        raw = form.get(f"field_{f.name}", "")
        values[f.name] = raw if f.name in secret else raw.strip()
    keep = {k: v for k, v in values.items() if k not in secret}  # never echo a secret

    async def claim() -> bool:
        return await services.store.run(tokens.claim, live.token_hash, services.now().timestamp())

    try:
        linked = await verify_and_store(
            services,
            user_id=user_id,
            platform=platform,
            instance=instance,
            values=values,
            claim=claim,
        )
    except errors.PlatformError as error:
        reasons = field_errors(platform, instance, error)
        if isinstance(error, errors.Unavailable | errors.BadAnswer):  # not the credential
            return _form_page(
                live, token, instance=instance, values=keep, field_errors=reasons, status=503
            )
        failures = await services.store.run(
            tokens.fail, live.token_hash, services.now().timestamp(), MAX_FAILURES
        )
        log.info(
            "web link %s: credential refused (%d of %d tries)",
            hash_prefix(live.token_hash),
            failures,
            MAX_FAILURES,
        )
        if failures >= MAX_FAILURES:
            return pages.refused(pages.LOCKED.format(tries=MAX_FAILURES), status=410)
        left = MAX_FAILURES - failures
        return _form_page(
            live,
            token,
            instance=instance,
            values=keep,
            field_errors=reasons,
            notice=pages.TRIES_LEFT.format(left=left, tries="try" if left == 1 else "tries"),
            status=400,
        )
    except errors.BotError as error:
        text = messages.for_error(error)
        if text == LINK_ALREADY_USED:
            return pages.refused(pages.USED, status=410)
        return _form_page(live, token, instance=instance, values=keep, notice=text, status=400)
    log.info(
        "web link %s: used, linked %s for %s", hash_prefix(live.token_hash), platform.key, user_id
    )
    try:
        await tell_linked(
            services,
            services.slack,
            user_id=user_id,
            text=linked.text,
            response_url=row["response_url"] or None,
        )
    except Exception:  # the link is stored; Slack being unreachable must not hide that
        log.warning(
            "web link %s: could not tell %s in Slack", hash_prefix(live.token_hash), user_id
        )
    return pages.linked(
        title=linked.title, instance=linked.instance, account=linked.account, kind=linked.kind
    )


def _internal(token: str) -> Response:
    ref = uuid.uuid4().hex[:8]
    # The token is named by its hash prefix; a traceback carries no locals, and no
    # exception text of ours contains the token or the submitted values.
    log.exception(
        "web link %s: unhandled error (ref %s)",
        hash_prefix(hash_token(token)) if token else "-",
        ref,
    )
    return pages.refused(messages.INTERNAL_ERROR.replace("`", "").format(ref=ref), status=500)


__all__ = ["MAX_FAILURES", "TTL", "Issued", "hash_prefix", "hash_token", "issue", "routes"]
