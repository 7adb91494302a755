"""The errors the bot raises, and nothing else reaches Slack.

    BotError                     anything the bot can explain to a person
    ├── UserError                bad input: the message says how to do it right
    ├── NotLinked                no linked account for that platform: say how to link
    ├── NotAllowed               the caller may not do this (not an operator, restricted action)
    ├── NotSaved                 the database refused a write (disk full, read-only): nothing kept
    └── PlatformError            a platform call failed (carries platform and instance)
        ├── Unauthorized         the credential was refused (401): re-link
        ├── Forbidden            the credential works but lacks the right (403, admin-only)
        ├── NotFound             the named thing does not exist (404)
        ├── Conflict             already done / state changed elsewhere (409, Astakos 404 on a
        │                        resolved commission)
        ├── Rejected             any other refusal with the platform's reason (400, 413 ...)
        ├── Unavailable          timeout, connection refused, 5xx, circuit open
        └── BadAnswer            it answered, but not in a shape the bot understands (not
                                 JSON, HTML with 200, `{}` or a list for an object, a body
                                 past the size limit, a redirect elsewhere)

`bot.app` maps each class to a short ephemeral reply in one place (`bot.messages.for_error`).
Texts carried here must never contain a secret: clients build them from status codes and the
platform's own error message, never from request headers or bodies.
"""

from __future__ import annotations


class BotError(Exception):
    """Base class: `str(error)` is safe to show to the person who asked.

    It is shown literally (escaped: it often quotes what the person typed or what a platform
    said); `markup` says it is Slack mrkdwn built from trusted parts, a channel mention say.
    """

    def __init__(self, *args: object, markup: bool = False) -> None:
        super().__init__(*args)
        self.markup = markup


class UserError(BotError):
    """Bad input. The message says how to do it right."""


class NotLinked(BotError):
    def __init__(self, platform: str, instance: str | None = None) -> None:
        self.platform = platform
        self.instance = instance
        where = f" ({instance})" if instance else ""
        super().__init__(f"no linked {platform}{where} account")


class NotAllowed(BotError):
    """The caller may not do this. The message says why."""


class NotSaved(BotError):
    """The bot's own database could not be written; the bot keeps serving."""

    def __init__(self) -> None:
        super().__init__(
            "Nothing was saved: the bot's database cannot be written right now "
            "(its disk is full or read-only). Your Switchboard operator has been "
            "told in the bot's log; try again later."
        )


class PlatformError(BotError):
    """A platform call failed. `detail` is the platform's own (secret-free) reason."""

    def __init__(
        self, detail: str, *, platform: str, instance: str, status: int | None = None
    ) -> None:
        self.detail = detail
        self.platform = platform
        self.instance = instance
        self.status = status
        super().__init__(f"{platform} {instance}: {detail}")


class Unauthorized(PlatformError):
    pass


class Forbidden(PlatformError):
    pass


class NotFound(PlatformError):
    pass


class Conflict(PlatformError):
    pass


class Rejected(PlatformError):
    pass


class Unavailable(PlatformError):
    pass


class BadAnswer(PlatformError):
    """The platform answered something the bot cannot use. `detail` says what, in words
    (never the answer itself: it may be anything, and is logged, not shown)."""
