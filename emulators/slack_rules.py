"""Slack's limits and the emulator's inferred choices, in one place so each is one edit away.

Sources: /work/shared/protocols/slack.md sections 1.4-1.7. Values marked INFERRED are not
confirmed by a primary Slack page (or the page was not retrievable); correct them here.
"""

from __future__ import annotations

# -- Block Kit (slack.md 1.6; primary: docs.slack.dev block-kit/blocks) ------------------------
MAX_MESSAGE_BLOCKS = 50  # slack_sdk does not check this one; Slack does
MAX_VIEW_BLOCKS = 100  # modals and Home tab
MAX_MESSAGE_TEXT = 40_000  # longer text is truncated, not refused (changelog 2018-04)

# -- response_url (slack.md 1.4) ---------------------------------------------------------------
RESPONSE_URL_MAX_USES = 5  # INFERRED: figure from seratch's article; primary page not retrieved
RESPONSE_URL_TTL = 30 * 60  # seconds
# What Slack answers once a response_url is spent: HTTP 404 with a short text body.
RESPONSE_URL_USED = "used_url"  # INFERRED body text
RESPONSE_URL_EXPIRED = "expired_url"
RESPONSE_URL_UNKNOWN = "invalid_url"  # INFERRED body text
RESPONSE_URL_GONE_STATUS = 404
# INFERRED: without replace_original, a response_url post is a new message (not a replace).
RESPONSE_URL_DEFAULT_REPLACE = False
# A slash command's response_url has no original message; `replace_original` there replaces
# the last message the app posted through that same URL (the "working…" → answer pattern).
RESPONSE_URL_REPLACES_OWN_LAST_POST = True

# -- trigger_id (slack.md 1.5) -----------------------------------------------------------------
TRIGGER_TTL = 3.0  # seconds of emulator clock
TRIGGER_EXPIRED = "expired_trigger_id"
TRIGGER_UNKNOWN = "invalid_trigger_id"
TRIGGER_USED = "trigger_exchanged"  # INFERRED: Slack's code for a trigger already used
MAX_VIEW_STACK = 3  # views.push beyond this: push_limit_reached
MAX_EXTERNAL_ID = 255
# INFERRED: a views.update whose view names no external_id keeps the one the view had.
VIEW_UPDATE_KEEPS_EXTERNAL_ID = True

# -- errors ------------------------------------------------------------------------------------
# chat.postMessage/update with neither text nor blocks/attachments. Slack's method pages list
# `no_text`; the brief suggested `invalid_arguments`. Change here if the bot must see the other.
NO_TEXT_ERROR = "no_text"
# INFERRED: with only `chat:write` (no `chat:write.public`) the bot must be a channel member
# to post there, else not_in_channel. Set False to emulate chat:write.public.
BOT_MUST_BE_MEMBER_TO_POST = True

# -- rate limits (slack.md 1.7) ----------------------------------------------------------------
RATELIMITED_ERROR = "ratelimited"
DEFAULT_RATE_LIMITED_METHODS = ("chat.postMessage",)  # enforced mode applies to these
