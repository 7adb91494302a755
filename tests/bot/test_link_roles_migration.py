"""Migration 11 (links keyed by role) on a database that already holds links, on both
engines: every row is kept with its ciphertext untouched, an Astakos service token linked
before roles existed takes the `service` role, and a second role can then be linked beside
the first."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import links, migrations
from bot.store.db import connect
from tests.engines import ENGINES

BEFORE = [
    # user, platform, instance, account, kind, secret (ciphertext as stored)
    ("U1", "dss", "design", "alice", "API key", "gAAAA-dss"),
    ("U1", "astakos", "prod", "alice@example.org", "user token", "gAAAA-user"),
    ("U2", "astakos", "prod", "cyclades", "service token", "gAAAA-service"),
]


@pytest.fixture(params=ENGINES)
def old_database(request, tmp_path: Path, monkeypatch) -> str | Path:
    """A database at the schema before migration 11, holding links."""
    if request.param == "sqlite":
        target: str | Path = tmp_path / "switchboard.db"
    else:
        target = request.getfixturevalue("postgres_server").new_database(migrated=False)
    with monkeypatch.context() as m:
        m.setattr(
            migrations, "MIGRATIONS", tuple(x for x in migrations.MIGRATIONS if x.version < 11)
        )
        db = connect(target)
        for user, platform, instance, account, kind, secret in BEFORE:
            db.execute(
                "insert into links (user_id, platform, instance, account, kind, secret,"
                " details, linked_at, verified_at) values (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
                [user, platform, instance, account, kind, secret, "2026-01-01", "2026-01-02"],
            )
        if db.engine == "sqlite":
            db.sqlite.conn.commit()
        db.close()
    return target


def test_migration_keeps_links_and_gives_service_tokens_their_role(old_database):
    db = connect(old_database)  # applies 11 (and whatever else is pending)
    try:
        assert 11 in migrations.applied(db)
        got = sorted(
            tuple(r.values())
            for r in db.query(
                "select user_id, platform, instance, role, account, kind, secret, linked_at"
                " from links"
            )
        )
        assert got == [
            (
                "U1",
                "astakos",
                "prod",
                "",
                "alice@example.org",
                "user token",
                "gAAAA-user",
                "2026-01-01",
            ),
            ("U1", "dss", "design", "", "alice", "API key", "gAAAA-dss", "2026-01-01"),
            (
                "U2",
                "astakos",
                "prod",
                "service",
                "cyclades",
                "service token",
                "gAAAA-service",
                "2026-01-01",
            ),
        ]
        # The key now holds the role: alice adds a service token beside her user token,
        # and re-linking one role replaces only that one.
        links.save(
            db,
            {
                "user_id": "U1",
                "platform": "astakos",
                "instance": "prod",
                "role": "service",
                "account": "cyclades",
                "kind": "service token",
                "secret": "gAAAA-2",
                "details": "{}",
                "linked_at": "2026-02-01",
                "verified_at": "2026-02-01",
            },
        )
        links.save(
            db, {"user_id": "U1", "platform": "astakos", "instance": "prod", "secret": "new"}
        )
        mine = links.find(db, "U1", "astakos", "prod")
        assert [(r["role"], r["secret"]) for r in mine] == [("", "new"), ("service", "gAAAA-2")]
        assert links.get(db, "U1", "astakos", "prod", "service")["account"] == "cyclades"
        assert links.delete(db, "U1", "astakos", "prod", "service") == 1
        assert [r["role"] for r in links.find(db, "U1", "astakos", None)] == [""]
    finally:
        db.close()
