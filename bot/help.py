"""What `/ops help <topic>` teaches beyond the registry: for each command, the forms it
accepts and two or three examples. Usage lines and summaries come from the command registry
(bot.commands), so they never drift from what is registered; a test checks that every
registered command has its examples here.

Examples are written without the slash command (`"futures all"` is shown as `/dss futures
all`, or with whatever name the operator gave the command).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services

from bot.digests import registry
from bot.platforms.catalog import DESCRIPTORS


@dataclass(frozen=True)
class Topic:
    forms: tuple[str, ...] = ()  # mrkdwn lines: the accepted forms, aliases and options
    examples: tuple[str, ...] = ()  # arguments after the slash command


# Forms every platform command accepts; {instances} is filled with the configured ones.
PLATFORM_FORMS = (
    "`@<instance>` anywhere picks an instance (configured here: {instances}); without it, "
    "your first linked one",
    "`share` at the end posts the answer in the channel instead of only to you",
    "`{ops} {key} …` works like `{slash} …`",
)

# Topics that are not a command: shown by `/ops help <name>`.
GUIDES: dict[str, tuple[str, str]] = {}

TOPICS: dict[str, dict[str, Topic]] = {
    "ops": {
        "help": Topic(
            (
                "`help` alone: every command",
                "`help <command>`: one command or platform, with "
                "examples; `help <platform> <command>` for one platform command",
            ),
            ("help", "help digest", "help dss futures"),
        ),
        "link": Topic(
            (
                "`<platform>`: one of {configured} (or its full name, like `dataiku`)",
                "`[instance]`: which instance, when several are configured",
                "`service` after the instance (Astakos): a service token, kept beside your user "
                "token; each command uses the one it needs",
                "The form checks the credential with the platform before keeping it encrypted",
            ),
            ("link {platform}", "link {platform} {instance}", "link {platform2}"),
        ),
        "unlink": Topic(
            (
                "`<platform> [instance]` as for `link` ({configured}); the platform is told to "
                "revoke the token where it can",
                "`service` after the instance (Astakos): only the service token; without it, "
                "the user token (or the only one linked)",
            ),
            ("unlink {platform}", "unlink {platform2} {instance2}"),
        ),
        "links": Topic(
            ("No arguments: your accounts, when linked and last verified",),
            ("links", "links share"),
        ),
        "approvals": Topic(
            (
                "No arguments: every approval waiting on you, from each platform you linked "
                "that has them (Astakos commissions, project applications and memberships; "
                "Atoti Limits workflow tasks), with their buttons; only you see it",
                "`[platform]`: only that platform's ({configured})",
                "The same cards are in the platforms' commands, in digests and alerts, and on "
                "your App Home tab. A click runs with *your* linked credential after a confirm "
                "dialog; the first click wins and every copy of the card is updated (a later "
                "click is told who acted and when). Reject asks for an optional reason, shown "
                "on the card and in `/ops audit`",
                "Accept (Astakos commissions) and Approve (Atoti Limits) dialogs show what "
                "changes: each quota's usage before → after against its limit, the limit's "
                "value before → after. If the figures changed since the card was drawn, nothing "
                "runs: you are shown the new ones and asked again",
                "Each card says when it expires: past it, it has no buttons and acts on "
                "nothing. Your operators may require several approvers (the card shows who "
                "approved so far; the last one's click acts, any rejection ends it) and "
                "forbid approving your own request",
            ),
            ("approvals", "approvals {platform}"),
        ),
        "status": Topic(
            (
                "No arguments: every configured instance, whether it answers, how fast, its "
                "version; and the scheduler's jobs",
            ),
            ("status", "status share"),
        ),
        "audit": Topic(
            ("`[n]`: how many changes, 1 to 200 (default 20); operators only",),
            ("audit", "audit 50"),
        ),
        "digest": Topic(
            (
                "`add <platforms|all> <when> [to #channel] [tz=Area/City] [skip-empty]`: "
                "`<platforms>` is `all` or a comma list like `dss,limits` (`dss@design` for one "
                "instance)",
                "`<when>`: `daily 09:00`, `weekdays 08:30`, `weekly mon 09:00`, `every 30m`, "
                '`every 2h`, or `cron "0 9 * * 1-5"`; your Slack time zone unless `tz=` says',
                "`to #channel` posts there (you confirm once that its members will see what your "
                "credentials can see); without it, to your DMs",
                "`list`, then `remove <id>`, `pause <id>`, `resume <id>`, `now <id>` with the "
                "number `list` shows",
                "filters narrow it: `project=KEY` (several allowed), `owner=me|@login`, "
                "`instance=name`, `kind=breach|warning`, `name~text` (contains; quote spaces)",
                "each platform applies its own: {section_filters}",
                "`edit <id> <filters…>` replaces the filters; `edit <id> clear` removes them",
            ),
            (
                "digest add all weekdays 08:30",
                "digest add {platform} every 30m to #ops instance={instance}",
                "digest edit 3 clear",
            ),
        ),
        "alert": Topic(
            (
                "`add <source> [@instance] [every <N>m] [to #channel] [filters…]`: post only what "
                "is new from that source; `add` alone lists the sources",
                "filters as for digests (`/ops help digest`); each source applies its own: "
                "{alert_filters}",
                "`list`, then `edit <id> <filters…|clear>`, `remove <id>`, `pause <id>`, "
                "`resume <id>`, `now <id>`",
                "each alert message has Snooze (1 hour, 1 day, until a day you pick) and Mute "
                "(this item, or every item of its kind) buttons; `list` shows the snoozes and "
                "mutes, `unmute <id> [all|<item or kind>]` lifts them",
            ),
            (
                "alert add limits.breaches kind=warning name~VaR",
                "alert add astakos.commissions to #approvals",
                "alert unmute 3 breach",
            ),
        ),
    },
    "dss": {
        "whoami": Topic(("No arguments",), ("whoami", "whoami @design")),
        "futures": Topic(
            ("`all`: every user's tasks (needs an admin key)",),
            ("futures", "futures all", "futures share"),
        ),
        "future": Topic(
            ("`<id>`: the task id shown by `/dss futures`", "`watch`: a DM when it ends"),
            ("future Fm7pQ2rL", "future Fm7pQ2rL watch"),
        ),
        "jobs": Topic(
            ("`[project]`: a project key; without it, every project",), ("jobs", "jobs SALES")
        ),
        "job": Topic(
            (
                "`<project> <job>`: a project key and a job id as `/dss jobs` or the job's "
                "page shows it, running or finished",
            ),
            ("job SALES build_orders_2026-11-29T08-00-00.000", "job churn train_scores share"),
        ),
        "scenarios": Topic(
            ("`<project>`: a project key (case does not matter)",),
            ("scenarios SALES", "scenarios churn share"),
        ),
        "run": Topic(
            ("`<project> <scenario>`: keys as `/dss scenarios` shows them",),
            ("run SALES nightly", "run CHURN retrain @design"),
        ),
        "notebooks": Topic(
            (
                "`<project>`: a project key",
                "`all`: every project's (admin); "
                "`idle>2h` keeps only notebooks idle that long (`30m`, `1d`)",
            ),
            ("notebooks SALES", "notebooks all", "notebooks all idle>2h"),
        ),
        "keys": Topic(
            (
                "No arguments: the global keys (admin)",
                "`personal`: every user's personal keys (admin); `personal <user>`: one user's",
            ),
            ("keys", "keys personal", "keys personal bob"),
        ),
        "mykeys": Topic(("No arguments",), ("mykeys", "mykeys @design")),
        "usage": Topic(("No arguments; needs an admin key",), ("usage", "usage share")),
        "vars": Topic(
            (
                "No arguments: list them",
                "`set k=v …`: change one or more (admin)",
                "`unset name …`: remove one or more (admin)",
            ),
            ("vars", "vars set env=prod", "vars unset env"),
        ),
        "impersonation": Topic(
            ("No arguments; needs an admin key",), ("impersonation", "impersonation share")
        ),
    },
    "mstr": {
        "status": Topic(("No arguments",), ("status", "status @library")),
        "whoami": Topic(("No arguments",), ("whoami", "whoami share")),
        "projects": Topic(
            ("`[part of a name]`: only projects whose name contains it",),
            ("projects", "projects sales"),
        ),
        "use": Topic(
            (
                "`<project name>`: a name (any case) or id; `none` clears it; nothing: "
                "show the current one",
            ),
            ("use Sales Analysis", "use none", "use"),
        ),
    },
    "squonk": {
        "projects": Topic(("No arguments",), ("projects", "projects share")),
        "instances": Topic(
            ("`[project]`: a project id or name; without it, all yours",),
            ("instances", "instances project-1234"),
        ),
        "instance": Topic(
            ("`<id>`: an instance id from `/squonk instances`", "`watch`: a DM when it ends"),
            ("instance instance-0001", "instance instance-0001 watch"),
        ),
        "watch": Topic(
            ("`<instance>`: an instance id",), ("watch instance-0001", "watch instance-0002")
        ),
        "run": Topic(
            (
                "`<collection>/<job>@<version>` from `/squonk jobs`, `in <project>`",
                "`name=...` names the instance; other `k=v` are the job's options",
            ),
            (
                "run im-test/nop@1.0.0 in project-1234",
                "run im-test/sleep@1.0.0 in project-1234 name=nap seconds=30",
            ),
        ),
        "tasks": Topic(
            ("`running` (or `live`, `active`): only the running ones",), ("tasks", "tasks running")
        ),
        "jobs": Topic(
            ("`[part of a name]`: only jobs whose collection or name contains it",),
            ("jobs", "jobs rdkit"),
        ),
    },
    "astakos": {
        "whoami": Topic(("No arguments",), ("whoami", "whoami @okeanos")),
        "whois": Topic(
            ("`<uuid|username> …`: one or more; each is looked up both ways",),
            ("whois alice@example.org", "whois alice@example.org bob@example.org"),
        ),
        "quotas": Topic(
            (
                "`[project]`: a project id or name; without it, yours",
                "`all`: every member's and project's quotas on your service "
                "(service token); narrow with `user=` (name or uuid), `project=`",
            ),
            ("quotas physics", "quotas all", "quotas all user=alice@example.org"),
        ),
        "commissions": Topic(
            ("No arguments; needs a service token",), ("commissions", "commissions share")
        ),
        "commission": Topic(
            ("`<serial>`: the number `/astakos commissions` shows",),
            ("commission 42", "commission 42 share"),
        ),
        "projects": Topic(
            ("`[state]`: `pending`, `active`, `uninitialized`, `suspended`, `terminated`…",),
            ("projects", "projects pending"),
        ),
        "project": Topic(
            ("`<id|name>`: a project id or its name",), ("project physics", "project 3f2a…")
        ),
        "members": Topic(
            ("`<project>`: a project id or name",), ("members physics", "members physics share")
        ),
    },
    "limits": {
        "status": Topic(("No arguments",), ("status", "status @risk")),
        "breaches": Topic(
            (
                "`[YYYY-MM-DD]`: the as-of date (default: the latest)",
                "`[page N]`: the next page of a long list",
            ),
            ("breaches", "breaches 2024-06-10", "breaches 2024-06-10 page 2"),
        ),
        "limit": Topic(
            ("`<id>`: a limit id (`L-17`) from `/limits breaches` or `/limits pending`",),
            ("limit L-17", "limit L-17 share"),
        ),
        "pending": Topic(("No arguments",), ("pending", "pending share")),
    },
}


def topic(family: str, command: str, platforms: dict[str, list[str]] | None = None) -> Topic:
    """The topic, its `{platform}`-style slots filled from the configured platforms
    (key -> instance names), so examples only name what exists here."""
    found = TOPICS.get(family, {}).get(command, Topic())
    keys = list(platforms or {}) or ["dss"]
    second = keys[1] if len(keys) > 1 else keys[0]
    slots = {
        "section_filters": _supported(
            registry.section_filters(DESCRIPTORS), keys, by_platform=True
        ),
        "alert_filters": _supported(registry.alert_filters(DESCRIPTORS), keys, by_platform=False),
        "configured": ", ".join(f"`{k}`" for k in keys),
        "platform": keys[0],
        "platform2": second,
        "instance": next(iter((platforms or {}).get(keys[0], [])), "prod"),
        "instance2": next(iter((platforms or {}).get(second, [])), "prod"),
    }
    return Topic(
        tuple(f.format(**slots) if "{" in f else f for f in found.forms),
        tuple(e.format(**slots) for e in found.examples),
    )


def _supported(fields: dict[str, tuple[str, ...]], keys: list[str], *, by_platform: bool) -> str:
    """ "`dss`: project, instance, name; …" for the configured platforms (declared beside
    each digest section and alert source, named by each platform's descriptor)."""
    shown = [
        f"`{name}`: {', '.join(f) or 'none'}"
        for name, f in fields.items()
        if (name if by_platform else name.split(".", 1)[0]) in keys
    ]
    return "; ".join(shown) or "none here"


def configured(services: Services) -> dict[str, list[str]]:
    return {k: list(p.instances) for k, p in services.platforms.items()}


# `/ops alert add` with no source lists these, one line each (a test checks every registered
# source has its line). Each item is one message; what follows it goes in its thread.
ALERT_SOURCES: dict[str, str] = {
    "dss.futures": "a DSS long task of yours, then in its thread when it finished, failed or "
    "was aborted",
    "dss.runs": "a DSS scenario run that failed",
    "mstr.status": "Strategy One stopped answering, or answers again",
    "squonk.instances": "a Squonk2 job instance, then in its thread when it runs, finished, "
    "failed or was deleted",
    "astakos.commissions": "a new pending Astakos commission, with Accept / Reject; in its "
    "thread if resolved elsewhere",
    "astakos.applications": "a new Astakos project application, with Approve / Deny; in its "
    "thread if resolved elsewhere",
    "astakos.memberships": "a new request to join an Astakos project, with Accept / Reject; in "
    "its thread if resolved elsewhere",
    "limits.breaches": "a new Atoti Limits breach or warning, then in its thread its workflow "
    "status and when it cleared",
    "limits.pending": "a limit newly waiting for approval, with Approve / Reject; in its "
    "thread when settled on Atoti Limits",
    "limits.status": "Atoti Limits unreachable or restarted, or an Atoti server dropped off",
}
