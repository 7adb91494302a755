"""Each platform's digest section, alert sources and what waits on a person, from the
platforms' descriptors (`Settings.descriptors`), in the order people see platforms.

A platform's digest code is imported when first asked for; one that fails to import is left
out with a warning (once): its platform's section then says that no digest is available for
it, and the rest of the digest still goes out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.digests.base import AlertSource, SectionSource
from bot.platforms.descriptor import HomeCharts, PlatformDescriptor, ProjectLister, Waiting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    section: SectionSource | None = None
    waiting: Waiting | None = None
    alerts: Mapping[str, AlertSource] = field(default_factory=dict)
    filters: tuple[str, ...] = ()
    alert_filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    projects: ProjectLister | None = None
    home_charts: HomeCharts | None = None


# id(descriptor) -> (the descriptor, kept alive so its id stays its own; what it gave)
_loaded: dict[int, tuple[PlatformDescriptor, _Loaded]] = {}


def _load(descriptor: PlatformDescriptor) -> _Loaded:
    known = _loaded.get(id(descriptor))
    if known is not None and known[0] is descriptor:
        return known[1]
    try:
        loaded = _Loaded(
            descriptor.section_source(),
            descriptor.waiting_source(),
            descriptor.alert_sources(),
            descriptor.section_filters(),
            descriptor.alert_filter_fields(),
            descriptor.project_lister(),
            descriptor.home_chart_source(),
        )
    except Exception:
        log.exception("the digest code of %s failed to import", descriptor.key)
        loaded = _Loaded()
    _loaded[id(descriptor)] = (descriptor, loaded)
    return loaded


def waiting(descriptors: tuple[PlatformDescriptor, ...]) -> dict[str, Waiting]:
    """Per platform, what waits on an account (approval cards) for the App Home tab."""
    found = {d.key: _load(d).waiting for d in descriptors}
    return {key: source for key, source in found.items() if source is not None}


def sections(descriptors: tuple[PlatformDescriptor, ...]) -> dict[str, SectionSource]:
    found = {d.key: _load(d).section for d in descriptors}
    return {key: source for key, source in found.items() if source is not None}


def alerts(descriptors: tuple[PlatformDescriptor, ...]) -> dict[str, AlertSource]:
    """Every alert source by its name ("astakos.commissions"), in platform order."""
    out: dict[str, AlertSource] = {}
    for descriptor in descriptors:
        out.update(_load(descriptor).alerts)
    return out


def section_filters(descriptors: tuple[PlatformDescriptor, ...]) -> dict[str, tuple[str, ...]]:
    """Per platform with a digest section, the filter fields it applies (bot.filters)."""
    return {d.key: _load(d).filters for d in descriptors if _load(d).section is not None}


def alert_filters(descriptors: tuple[PlatformDescriptor, ...]) -> dict[str, tuple[str, ...]]:
    """Per alert source ("dss.futures"), the filter fields it applies, in platform order."""
    out: dict[str, tuple[str, ...]] = {}
    for descriptor in descriptors:
        loaded = _load(descriptor)
        out.update({name: tuple(loaded.alert_filters.get(name, ())) for name in loaded.alerts})
    return out


def project_names(descriptors: tuple[PlatformDescriptor, ...]) -> dict[str, ProjectLister]:
    """Per platform that filters by project, what lists the projects its owner can see."""
    found = {d.key: _load(d).projects for d in descriptors}
    return {key: lister for key, lister in found.items() if lister is not None}


def home_charts(descriptors: tuple[PlatformDescriptor, ...]) -> dict[str, HomeCharts]:
    """Per platform, the charts the App Home tab shows for an account of it."""
    found = {d.key: _load(d).home_charts for d in descriptors}
    return {key: source for key, source in found.items() if source is not None}
