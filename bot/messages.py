"""The words the bot says in the core (errors, linking, the hub). Platform-specific wording
lives beside that platform's Block Kit builders in `bot/blocks/<platform>.py`."""

from __future__ import annotations

from bot import errors
from bot.blocks.common import escape

WORKING = ":hourglass_flowing_sand: Working on `{command}`…"
INTERNAL_ERROR = (
    "Something went wrong on our side and it has been logged (ref `{ref}`). "
    "Please try again; if it keeps happening, give that ref to your operators."
)
UNKNOWN_SUBCOMMAND = "I don't know `{word}`.{hint} Here is what `{command}` can do:"
DID_YOU_MEAN = " Did you mean `{suggestion}`?"
USAGE_WRONG = "I can't read `{typed}`: {reason}. Here is how it goes:"
BAD_QUOTES = (
    "Your command has an unclosed quote. Put quotes around a value with spaces, "
    'like `name="my run"`.'
)

LINK_MODAL_TITLE = "Link {title}"
LINK_VERIFYING = ":hourglass_flowing_sand: Checking your credential with {title} ({instance})…"
LINKED = ":white_check_mark: Linked {title} ({instance}) as *{account}*{kind}."
UNLINKED = "Unlinked {title} ({instance}){what}. The stored credential was deleted{revoked}.{kept}"
UNLINKED_KEPT = (
    " Your {kind} there stays linked (`/ops unlink {platform} {instance}{role}` removes it)."
)
NOT_LINKED_UNLINK = "You have no linked {title} ({instance}) account; nothing to unlink."
NOT_LINKED_ROLE = "You have no {title} ({instance}) {kind} linked; nothing to unlink.{kept}"
LINK_ROLE_MISMATCH = (
    "That is a {kind}, not a {wanted}. Paste a {wanted} here, or link this one with "
    "`/ops link {platform} {instance}`."
)
UNKNOWN_ROLE = "{title} has no second kind of link `{word}`.{roles}"
NO_LINKS = "You have no linked accounts yet. Run `/ops link <platform>`; platforms: {platforms}."
NO_INSTANCES = "No platform instance is configured. Operators list them in the TOML settings file."
UNKNOWN_PLATFORM = "`{word}` is not a platform I know. Use one of: {platforms}."
NOT_CONFIGURED = (
    "{title} (`{key}`) is not configured on this installation; configured here: "
    "{platforms}. Your operators add instances in the settings file."
)
UNKNOWN_TOPIC = "I have no help on `{word}`.{hint} Topics: {topics}."
OPERATORS_ONLY = "Only operators can see the audit trail."
LINK_FIELD_EMPTY = "Fill this in: {label} is needed to link your account."
LINK_FIELD_REFUSED = "{title} refused this credential. Check it and try again."
LINK_FIELD_UNREACHABLE = "{title} ({instance}) could not be reached: {detail}. Try again later."
LINK_FIELD_OTHER = "{title} said: {detail}"
BAD_ANSWER = (
    "{where} answered something Switchboard does not understand ({detail}); try "
    "again later or tell your operator."
)
# The circuit breaker's detail, shown after "<Platform> (<instance>) is unavailable: ".
CIRCUIT_OPEN = (
    "it is considered down after {failures} failures in a row, so I am not calling it "
    "for the next {seconds} s"
)
CIRCUIT_TRIAL = (
    "it is considered down after {failures} failures in a row; a trial call is "
    "checking whether it is back"
)


def for_error(error: errors.BotError) -> str:
    """The short ephemeral reply for an error: what happened and what to do next."""
    if isinstance(error, errors.NotLinked):
        title = _title(error.platform)
        instance = escape(error.instance or "")
        where = f" ({instance})" if instance else ""
        return (
            f"You have no linked {title}{where} account. "
            f"Run `/ops link {error.platform}{' ' + instance if instance else ''}` "
            "to link one."
        )
    if isinstance(error, errors.PlatformError):
        title = _title(error.platform)
        instance = escape(error.instance)
        where = f"{title} ({instance})"
        detail = escape(error.detail)  # the platform's own words: never mentions or links
        if isinstance(error, errors.Unauthorized):
            return (
                f"{where} refused your credential. Run "
                f"`/ops link {error.platform} {instance}` to link it again."
            )
        if isinstance(error, errors.Forbidden):
            return f"{where} says you are not allowed to do that: {detail}"
        if isinstance(error, errors.NotFound):
            # The platform's detail already says what was not found ("Project X not found").
            return f"{where}: {detail}" if detail else f"{where}: not found."
        if isinstance(error, errors.Conflict):
            return f"{where}: {detail}"
        if isinstance(error, errors.BadAnswer):
            return BAD_ANSWER.format(where=where, detail=detail)
        if isinstance(error, errors.Unavailable):
            return (
                f"{where} is unavailable: {detail}. Try again in a moment; "
                "`/ops status` shows every instance."
            )
        return f"{where} refused that: {detail}"
    return str(error) if error.markup else escape(error)


def _title(key: str) -> str:
    # Imported here: bot.platforms imports this module.
    from bot.platforms.catalog import title

    return title(key)
