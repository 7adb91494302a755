"""The platform descriptors: every reference in the catalog names something that imports, the
names people type find their platform, and the typed lookup gives the configured platform or a
reply saying it is not configured."""

from __future__ import annotations

import pytest

from bot import errors
from bot.config import Settings
from bot.filters import FIELDS, PROJECT
from bot.platforms.base import Platform
from bot.platforms.catalog import DESCRIPTORS
from bot.platforms.dss.client import DSSClient
from bot.platforms.dss.platform import DSSPlatform
from bot.platforms.registry import Platforms
from bot.platforms.squonk.platform import SquonkPlatform


def test_every_reference_of_every_descriptor_imports_and_is_what_it_says():
    assert len({d.key for d in DESCRIPTORS}) == len(DESCRIPTORS)
    for d in DESCRIPTORS:
        cls = d.platform_class()
        assert issubclass(cls, Platform) and (cls.key, cls.title) == (d.key, d.title)
        module = d.command_module()
        assert module is not None and module.family.key == d.key
        assert module.family.title == d.title and callable(module.register)
        assert callable(d.section_source())
        assert all(name.startswith(f"{d.key}.") for name in d.alert_sources())
        assert all(k.platform == d.key for k in d.kinds())
        # The subscription filters it declares: known fields, for sources it has.
        assert d.section_filters() and set(d.section_filters()) <= set(FIELDS)
        assert set(d.alert_filter_fields()) <= set(d.alert_sources())
        assert all(set(f) <= set(FIELDS) for f in d.alert_filter_fields().values())
        lister = d.project_lister()
        assert (lister is not None) == (PROJECT in d.section_filters())
        seed = d.demo_seed()
        assert seed is not None and seed.links and callable(seed.start)
        unfurl = d.unfurler()
        assert unfurl is None or (unfurl.shapes and callable(unfurl.card))
        assert len(f"Link {d.short_title or d.title}") <= 24  # a modal's title


def test_aliases_and_titles_come_from_the_descriptors():
    platforms = Platforms({})
    assert [platforms.key_for(w) for w in ("Dataiku", "strategyone", "atoti", "squonk2")] == [
        "dss",
        "mstr",
        "limits",
        "squonk",
    ]
    assert platforms.key_for("jira") == "jira"
    assert platforms.title("astakos") == "Synnefo Astakos"


async def test_the_typed_lookup_gives_the_configured_platform_or_says_it_is_not():
    settings = Settings(
        _env_file=None, platforms={"dss": [{"name": "prod", "url": "http://127.0.0.1:9"}]}
    )
    platforms = Platforms.from_settings(settings)
    try:
        dss = platforms.get(DSSPlatform)
        assert dss is platforms["dss"]
        client = dss.client()
        assert isinstance(client, DSSClient) and dss.client("prod") is client  # kept
        with pytest.raises(errors.UserError) as refused:
            platforms.get(SquonkPlatform)
        assert "Squonk2 Data Manager (`squonk`) is not configured" in str(refused.value)
        assert "`dss`" in str(refused.value)
    finally:
        await platforms.aclose()
