"""The HTML of the one-time web link (bot.weblink): pure functions returning responses.

Everything shown is escaped with `html.escape` (quotes too). Every page carries the same
headers: not cached (`no-store`), no Referer sent from it (the URL carries the token), not
framed, no script at all (CSP `default-src 'none'`, the one style block allowed by its hash),
and the form may post only back to this origin.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from string import Template

from starlette.responses import HTMLResponse

from bot.platforms.base import LinkField

PRODUCT = "Switchboard"

UNKNOWN = (
    "This link is not valid. Links from Switchboard work once, for 10 minutes. "
    "Run /ops link <platform> in Slack for a new one."
)
USED = "This link has already been used. Run /ops link <platform> in Slack for a new one."
EXPIRED = (
    "This link has expired: links work for {minutes} minutes. "
    "Run /ops link <platform> in Slack for a new one."
)
LOCKED = (
    "This link was refused {tries} times and no longer works. Check your credential, "
    "then run /ops link <platform> in Slack for a new link."
)
GONE = "That platform is no longer configured here. Ask your operators."
TOO_BIG = "That form was too large."
TRIES_LEFT = "{left} more {tries} with this link."
FOOT = "This page works once and expires 10 minutes after Switchboard made it."

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f6f7;
color:#1d1c1d;margin:0}
main{max-width:30rem;margin:3rem auto;background:#fff;border:1px solid #ddd;
border-radius:8px;padding:1.5rem 2rem}
h1{font-size:1.3rem;margin-top:0}
label{display:block;font-weight:600;margin-top:1rem}
input,select{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;margin-top:.3rem}
.hint,.foot{color:#616061;font-size:.85rem;margin:.3rem 0 0}
.error{color:#b00020;font-size:.9rem;margin:.3rem 0 0}
.notice{background:#fff4e5;border-left:4px solid #e8912d;padding:.5rem .8rem}
.ok{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.5rem .8rem}
button{margin-top:1.5rem;padding:.6rem 1.4rem;font-size:1rem;background:#007a5a;
color:#fff;border:0;border-radius:4px;cursor:pointer}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>$title</title><style>$style</style></head>
<body><main>
$body
</main></body></html>
""")


def _page(title: str, body: str, status: int) -> HTMLResponse:
    html = PAGE.substitute(title=escape(f"{title} · {PRODUCT}"), style=STYLE, body=body)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def refused(text: str, *, status: int) -> HTMLResponse:
    """A spent, expired or unknown link (or an error): what happened and what to do."""
    return _page(
        "Link not available",
        f'<h1>Link not available</h1>\n<p class="notice" id="refused">{escape(text)}</p>',
        status,
    )


def linked(*, title: str, instance: str, account: str, kind: str) -> HTMLResponse:
    kind_text = f" ({escape(kind)})" if kind else ""
    body = (
        f'<h1>Linked</h1>\n<p class="ok" id="linked">Linked {escape(title)} '
        f"({escape(instance)}) as <strong>{escape(account)}</strong>{kind_text}.</p>\n"
        "<p>You can close this page and go back to Slack.</p>"
    )
    return _page(f"Linked {title}", body, 200)


def form(
    *,
    title: str,
    token: str,
    action: str,
    instance: str,
    instances: list[str],
    fields: list[LinkField],
    values: dict[str, str],
    errors: dict[str, str],
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The link form. `instances` non-empty offers a choice; `errors` maps a field name (or
    "instance") to the reason shown under it; secret fields are never filled in."""
    parts = [
        f"<h1>Link your {escape(title)} account</h1>",
        f'<p class="hint">Your credential is checked with {escape(title)} before it is '
        "saved, then kept encrypted. It never appears in Slack, a log or a message.</p>",
    ]
    if notice:
        parts.append(f'<p class="notice" id="notice" role="alert">{escape(notice)}</p>')
    parts.append(f'<form method="post" action="{escape(action)}" autocomplete="off">')
    parts.append(f'<input type="hidden" name="token" value="{escape(token)}">')
    if instances:
        options = "".join(
            f'<option value="{escape(n)}"{" selected" if n == instance else ""}>'
            f"{escape(n)}</option>"
            for n in instances
        )
        parts.append(
            '<label for="instance">Instance</label>'
            f'<select id="instance" name="instance">{options}</select>'
        )
    else:
        parts.append(f'<p>Instance: <strong id="instance">{escape(instance)}</strong></p>')
    parts.append(_error("instance", errors))
    for field in fields:
        parts.append(_field(field, values.get(field.name, field.initial), errors))
    parts.append('<button type="submit" id="submit">Link</button>\n</form>')
    parts.append(f'<p class="foot">{escape(FOOT)}</p>')
    return _page(f"Link {title}", "\n".join(p for p in parts if p), status)


def _field(field: LinkField, value: str, errors: dict[str, str]) -> str:
    fid = f"field_{field.name}"
    label = f'<label for="{escape(fid)}">{escape(field.label)}</label>'
    required = "" if field.optional else " required"
    described = f' aria-describedby="{escape(fid)}-error"' if field.name in errors else ""
    if field.choices:
        options = "".join(
            f'<option value="{escape(v)}"{" selected" if v == value else ""}>{escape(lbl)}</option>'
            for v, lbl in field.choices
        )
        element = f'<select id="{escape(fid)}" name="{escape(fid)}"{described}>{options}</select>'
    elif field.secret:
        element = (
            f'<input type="password" id="{escape(fid)}" name="{escape(fid)}" '
            f'autocomplete="off" spellcheck="false"{required}{described}>'
        )
    else:
        element = (
            f'<input type="text" id="{escape(fid)}" name="{escape(fid)}" '
            f'value="{escape(value or "")}" autocomplete="off" spellcheck="false"'
            f"{required}{described}>"
        )
    hint = f'<p class="hint">{escape(field.hint)}</p>' if field.hint else ""
    return "\n".join(p for p in (label, element, hint, _error(field.name, errors)) if p)


def _error(name: str, errors: dict[str, str]) -> str:
    if name not in errors:
        return ""
    return (
        f'<p class="error" id="{escape(f"field_{name}")}-error" role="alert">'
        f"{escape(errors[name])}</p>"
    )
