""" "Open in <platform>" link buttons, and where each platform's UI shows a thing.

A link button opens the platform's own page for what a message is about, so a person can go
on from there. The base URL is the instance's `ui_url` setting, or derived by the platform
when its UI lives beside its API (`Platform.ui_url`); without one, no button is drawn.

The page paths below are the platforms' browser routes. Those not read from a platform's own
code are marked INFERRED, all in this one block, so checking them against a real UI is one edit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from bot.blocks import common as b

# Slack still sends a click on a link button to the app (block_actions); handlers/open_in.py
# acknowledges every action id starting with this, and does nothing else.
ACTION_PREFIX = "open_in"
URL_LIMIT = 3000  # Slack's limit for a button URL

# ---- Page paths per platform ------------------------------------------------------------------
# Dataiku DSS: the design node's own routes (as its UI shows them in the address bar).
DSS_JOB = "/projects/{project}/jobs/{job}/"
DSS_SCENARIO = "/projects/{project}/scenarios/{scenario}/runs/list/"
DSS_NOTEBOOK = "/projects/{project}/notebooks/jupyter/{notebook}/"
# Atoti Limits: routes of the Atoti UI extension (@activeviam/limits-sdk 6.1.23,
# dist/extension/getLimitRoutes.js) and their search parameters (dist/limits.types.js:
# LimitEvaluationsSearchParamsSchema `incidentIds`, LimitsViewerSearchParamsSchema `limitIds`).
LIMITS_STATUS = "/limits/status"
LIMITS_STRUCTURE = "/limits/structure/{structure}"
# INFERRED: Squonk2 Data Manager UI pages (the UI's code is not available here).
SQUONK_INSTANCE = "/results/instance/{instance}"
SQUONK_PROJECT = "/project/{project}"
# Synnefo Astakos: pages under the UI prefix (`SNF:uiURL` of the account service,
# /work/shared/protocols/astakos.md "ui prefix", e.g. `https://accounts.example.org/ui`),
# routes of synnefo's snf-astakos-app/astakos/im/urls.py (grnet/synnefo, projects by uuid):
# `project_detail`, `project_pending_members` (join and leave requests) and `project_app`.
# Astakos has no page for a commission (an API-only exchange with a service, seed
# 004_8fde15646c55ab76.txt): its card opens the project the resources are drawn from.
ASTAKOS_PROJECT = "/projects/{project}"
ASTAKOS_PENDING_MEMBERS = "/projects/{project}/members/pending"
ASTAKOS_APPLICATION = "/projects/{project}/app/{app}"
# -----------------------------------------------------------------------------------------------


def page(
    base: str | None, path: str, query: dict[str, Any] | None = None, **parts: str
) -> str | None:
    """The UI URL of a page (each path part quoted as one segment); None without a base."""
    if not base:
        return None
    url = base.rstrip("/") + path.format(**{k: quote(str(v), safe="") for k, v in parts.items()})
    if query:
        url += "?" + urlencode(query, doseq=True)
    return url if len(url) <= URL_LIMIT else None


def button(title: str, url: str | None, *, index: int = 0) -> dict[str, Any] | None:
    """`Open in <title>`; None when the URL is unknown. `index` keeps action ids unique when
    one block holds several."""
    if not url:
        return None
    element = b.button(f"Open in {title}", f"{ACTION_PREFIX}_{index}")
    element["url"] = url
    return element


def actions_row(*elements: dict[str, Any] | None) -> list[b.Block]:
    """An actions block of the elements that exist, or nothing."""
    present = [e for e in elements if e]
    return [b.actions(*present)] if present else []
