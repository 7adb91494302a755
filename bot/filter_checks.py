"""A digest's or alert's filters against the platforms: checked when given (fields the
section or source applies, instances configured, projects that exist for the owner, with
close names), and changed by `/ops digest edit` / `/ops alert edit`. The grammar itself is
bot.filters (pure); applying the filters is each section's and source's (bot.digests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot import errors, filters, suggest
from bot.digests import compose, registry
from bot.digests.base import DigestContext
from bot.filters import Filters
from bot.store import subscriptions as subs

if TYPE_CHECKING:
    from bot.services import Services


async def check_filters(
    services: Services, owner: str, row: dict[str, Any], given: Filters
) -> Filters:
    """The filters of a digest or alert (`row` has its kind, platforms or source and
    instance), checked before they are saved: each field must be one that every named section
    or source applies, `instance=` must be configured, and each `project=` must be a project
    the owner's account can see (asked of the platform; close names are offered). Returns the
    filters with projects spelt as the platform spells them. Raises UserError saying what to
    write instead."""
    if not given:
        return given
    descriptors = services.settings.descriptors
    if row["kind"] == subs.ALERT:
        source = row["source"]
        platform = source.split(".", 1)[0]
        supported = {f"`{source}`": registry.alert_filters(descriptors).get(source, ())}
        targets = [compose.Target(platform, row.get("instance") or given.instance or None)]
    else:
        targets = await compose.resolve_targets(services, owner, row["platforms"], given)
        named = {t.platform for t in targets} or {
            t.platform for t in compose.parse_targets(row["platforms"]) if row["platforms"] != "all"
        }
        sections = registry.section_filters(descriptors)
        supported = {
            services.platforms.title(d.key): sections.get(d.key, ())
            for d in descriptors
            if d.key in named
        }
        if not targets and given.instance:
            raise errors.UserError(
                f"None of your accounts on `{row['platforms']}` is on an instance "
                f"`{given.instance}`. `/ops link` shows your accounts."
            )
    try:
        filters.check(given, supported)
    except filters.FilterError as error:
        hint = ""
        if row["kind"] != subs.ALERT:
            sections = registry.section_filters(descriptors)
            able = [
                d.key
                for d in descriptors
                if d.key in services.platforms and set(given.used()) <= set(sections.get(d.key, ()))
            ]
            hint = f" Name the platforms that can: `{','.join(able)}`." if able else ""
        raise errors.UserError(str(error) + hint) from None
    if given.instance:
        for target in targets:
            services.platforms[target.platform].instance(target.instance)
    if not given.projects:
        return given
    return Filters(
        projects=tuple(await _known_projects(services, owner, targets, given.projects)),
        owner=given.owner,
        instance=given.instance,
        kind=given.kind,
        name=given.name,
    )


async def _known_projects(
    services: Services, owner: str, targets: list[compose.Target], wanted: tuple[str, ...]
) -> list[str]:
    """Each wanted project as a platform spells it, asked with the owner's credentials; an
    unknown one is refused, naming it and the closest names."""
    listers = registry.project_names(services.settings.descriptors)
    seen: list[str] = []
    checked = False
    for target in targets:
        lister = listers.get(target.platform)
        if lister is None:
            continue
        credential = await services.accounts.credential(owner, target.platform, target.instance)
        names = await lister(
            DigestContext(services=services, credential=credential, now=services.now(), since=None)
        )
        if names is None:
            continue  # this account cannot list projects (an Astakos service token)
        checked = True
        seen += names
    if not checked:
        return list(wanted)
    out = []
    for project in wanted:
        if project in seen:
            out.append(project)
        elif (same := suggest.same_name(project, seen)) is not None:
            out.append(same)
        else:
            where = " or ".join(
                dict.fromkeys(services.platforms.title(t.platform) for t in targets)
            )
            raise errors.UserError(
                f"{where} has no project {suggest.code(project)} that you can see."
                + (suggest.did_you_mean(project, seen) or " Check its key on the platform.")
            )
    return list(dict.fromkeys(out))


async def set_filters(services: Services, user_id: str, row: dict[str, Any], given: Filters) -> str:
    """`/ops digest edit <id> …`: check and store the new filters (empty: clear them); the
    next run applies them. Returns the note to show."""
    checked = await check_filters(services, user_id, row, given)
    # A run reads its row when it starts (bot.scheduler), so the next one sees these.
    await services.store.run(subs.set_filters, row["id"], checked.text())
    await services.audit.record(
        user_id=user_id,
        action=f"{row['kind']}.edit",
        target=f"#{row['id']}",
        detail=checked.text() or "filters cleared",
    )
    if not checked:
        return f"Cleared the filters of #{row['id']}: it shows everything again."
    return f"#{row['id']} is now filtered by `{checked.text()}`."
