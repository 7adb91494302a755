"""The store's contract, on both engines (`db_target`: a SQLite file, then a PostgreSQL
database): migrations, commits seen by other connections at once, atomic first-time keys, the
delivery ledger claim, upserts, and the tables that used to be created on first use."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from bot.store import Store, audit, links, migrations, mstr_defaults, seen
from bot.store import deliveries as ledger
from bot.store import subscriptions as subs
from bot.store import weblink_tokens as tokens
from bot.store.db import connect

TABLES = {
    "links",
    "audit",
    "approvals",
    "approval_messages",
    "subscriptions",
    "deliveries",
    "seen",
    "posted",
    "mstr_defaults",
    "weblink_tokens",
    "alert_threads",
}


def race(n: int, work) -> list:
    """Run `work(i)` on n threads released together; their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def one(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_every_table_exists_and_the_version_is_recorded(db_target):
    store = Store(db_target)
    try:
        assert TABLES <= set(store.run_sync(lambda db: db.table_names()))
        assert store.run_sync(migrations.applied) == {m.version for m in migrations.MIGRATIONS}
    finally:
        store.close()
    # Migrations are applied once: opening again changes nothing and loses nothing.
    Store(db_target).close()


def test_file_database_is_in_wal_mode(tmp_path):
    store = Store(tmp_path / "sb.db")
    try:
        mode = store.run_sync(lambda db: db.execute("pragma journal_mode").fetchone()[0])
        assert mode == "wal"
    finally:
        store.close()


async def test_store_work_runs_off_the_loop_and_other_connections_see_it(db_target):
    store = Store(db_target)
    try:
        await store.run(
            audit.record,
            {
                "at": "2026-01-01T00:00:00",
                "user_id": "U1",
                "action": "link",
                "platform": "dss",
                "instance": "p",
                "target": "alice",
                "result": "ok",
                "detail": "",
            },
        )
        rows = await store.run(audit.latest, 5)
        assert [(r["user_id"], r["action"]) for r in rows] == [("U1", "link")]
        other = connect(db_target)  # another process would see the same
        try:
            assert [r["action"] for r in other.query("select action from audit")] == ["link"]
        finally:
            other.close()
    finally:
        store.close()


async def test_a_read_sees_every_write_committed_before_it_and_cannot_write(db_target):
    """`Store.read` (the per-command credential lookup) answers from the latest committed
    state, a changed and a deleted link included, and refuses to write."""
    store = Store(db_target)
    row = {
        "user_id": "U1",
        "platform": "dss",
        "instance": "prod",
        "account": "alice",
        "kind": "api_key",
        "secret": "ciphertext-1",
        "details": "{}",
        "linked_at": "2026-01-01T00:00:00",
        "verified_at": "2026-01-01T00:00:00",
    }
    try:
        assert await store.read(links.get, "U1", "dss", "prod") is None
        await store.run(links.save, row)
        assert (await store.read(links.get, "U1", "dss", "prod"))["secret"] == "ciphertext-1"
        await store.run(links.save, {**row, "secret": "ciphertext-2"})
        assert (await store.read(links.get, "U1", "dss", "prod"))["secret"] == "ciphertext-2"
        # A write committed by another connection (another process, a replica) is seen too.
        other = connect(db_target)
        try:
            other.execute("update links set account = 'alice2' where user_id = 'U1'")
            if hasattr(other, "conn"):
                other.conn.commit()
        finally:
            other.close()
        assert (await store.read(links.get, "U1", "dss", "prod"))["account"] == "alice2"
        await store.run(links.delete, "U1", "dss", "prod")
        assert await store.read(links.get, "U1", "dss", "prod") is None
        if store.engine == "sqlite":
            with pytest.raises(sqlite3.OperationalError):
                await store.read(links.save, row)
    finally:
        store.close()


async def test_first_time_is_true_once_per_key(db_target):
    store = Store(db_target)
    try:
        results = [await store.run(seen.first_time, "event:Ev1", "t") for _ in range(3)]
        assert results == [True, False, False]
    finally:
        store.close()


def test_first_time_is_atomic_across_processes(db_target):
    """Replicas on one database: a retried event is handled by exactly one of them."""
    stores = [Store(db_target) for _ in range(4)]
    try:
        won = race(4, lambda i: stores[i].run_sync(seen.first_time, "event:Ev9", f"t{i}"))
        assert sorted(won) == [False, False, False, True]
    finally:
        for s in stores:
            s.close()


def test_the_ledger_claim_is_atomic_across_processes(db_target):
    stores = [Store(db_target) for _ in range(4)]
    try:
        row = stores[0].run_sync(ledger.open_run, 7, "2026-11-29T09:00:00+00:00", "scheduled")
        assert row["state"] == ledger.PENDING
        again = stores[1].run_sync(ledger.open_run, 7, "2026-11-29T09:00:00+00:00", "catch-up")
        assert again["reason"] == "scheduled"  # the first row stands
        won = race(
            4,
            lambda i: stores[i].run_sync(
                ledger.begin_posting, 7, "2026-11-29T09:00:00+00:00", "C1", f"t{i}"
            ),
        )
        assert sorted(won) == [False, False, False, True]
        assert stores[0].run_sync(ledger.unfinished)[0]["state"] == ledger.POSTING
        stores[0].run_sync(
            ledger.finish, 7, "2026-11-29T09:00:00+00:00", ledger.DELIVERED, ts="1.2", at="t"
        )
        assert stores[0].run_sync(ledger.unfinished) == []
        assert not stores[0].run_sync(
            ledger.record, 7, "2026-11-29T09:00:00+00:00", ledger.SKIPPED, "late"
        )
        assert stores[0].run_sync(
            ledger.record, 7, "2026-11-30T09:00:00+00:00", ledger.SKIPPED, "late"
        )
        stores[0].run_sync(ledger.record, 7, "item:x", ledger.DELIVERED, "alert")
        assert stores[0].run_sync(ledger.latest_runs) == {7: "2026-11-30T09:00:00+00:00"}
    finally:
        for s in stores:
            s.close()


def test_unlink_and_a_new_secret_are_committed_at_once(db_target):
    """Another process sees an unlink straight away (regression: the delete stayed in an
    open transaction until some later write)."""
    store = Store(db_target)
    other = connect(db_target)
    try:
        row = {
            "user_id": "U1",
            "platform": "dss",
            "instance": "p",
            "account": "a",
            "kind": "API key",
            "secret": "ct-1",
            "details": "{}",
            "linked_at": "t",
            "verified_at": "t",
        }
        store.run_sync(links.save, row)
        store.run_sync(links.save, {**row, "account": "b"})  # saved again: replaced
        assert store.run_sync(links.count) == 1
        assert store.run_sync(links.get, "U1", "dss", None)["account"] == "b"
        store.run_sync(links.update_secret, "U1", "dss", "p", "ct-2", "t2")
        assert [r["secret"] for r in other.query("select secret from links")] == ["ct-2"]
        assert store.run_sync(links.delete, "U1", "dss", "p") == 1
        assert [r["n"] for r in other.query("select count(*) as n from links")] == [0]
    finally:
        other.close()
        store.close()


def test_subscriptions_numbered_by_the_database_and_last_run_never_moves_back(db_target):
    store = Store(db_target)
    try:
        row = {
            "owner": "U1",
            "kind": subs.DIGEST,
            "platforms": "dss",
            "trigger": "daily 09:00",
            "tz": "UTC",
            "channel": "C1",
            "skip_empty": 0,
            "created_at": "2026-11-29T08:00:00",
        }
        first, second = store.run_sync(subs.add, row), store.run_sync(subs.add, row)
        assert second["id"] == first["id"] + 1 and first["paused"] == 0
        store.run_sync(subs.ran, first["id"], "2026-11-29T09:00:00")
        store.run_sync(subs.ran, first["id"], "2026-11-28T09:00:00")
        store.run_sync(subs.ran, first["id"], "", "boom")
        got = store.run_sync(subs.get, first["id"])
        assert (got["last_run_at"], got["last_error"]) == ("2026-11-29T09:00:00", "boom")
        store.run_sync(subs.set_paused, first["id"], True, "t")
        assert [r["id"] for r in store.run_sync(subs.all_active)] == [second["id"]]
        assert store.run_sync(subs.remove, second["id"]) == 1
        assert store.run_sync(subs.count) == 1
    finally:
        store.close()


def test_a_subscription_keeps_its_filters_and_an_edit_is_seen_by_the_scheduler(db_target):
    store = Store(db_target)
    try:
        row = {
            "owner": "U1",
            "kind": subs.ALERT,
            "source": "limits.breaches",
            "trigger": "",
            "tz": "UTC",
            "channel": "",
            "skip_empty": 0,
            "created_at": "2026-11-29T08:00:00",
        }
        plain = store.run_sync(subs.add, row)
        narrowed = store.run_sync(subs.add, {**row, "filters": "kind=warning name~VaR"})
        assert (plain["filters"], narrowed["filters"]) == ("", "kind=warning name~VaR")
        before = store.run_sync(subs.version)
        store.run_sync(subs.set_filters, plain["id"], "project=A project=B")
        assert store.run_sync(subs.get, plain["id"])["filters"] == "project=A project=B"
        assert store.run_sync(subs.version) > before
        store.run_sync(subs.set_filters, narrowed["id"], "")
        assert store.run_sync(subs.get, narrowed["id"])["filters"] == ""
    finally:
        store.close()


def test_mstr_defaults_and_web_link_tokens_live_in_the_schema(db_target):
    store = Store(db_target)
    try:
        assert store.run_sync(mstr_defaults.get, "U1", "lib") is None
        for name in ("Tutorial", "Finance"):
            store.run_sync(
                mstr_defaults.save,
                {
                    "user_id": "U1",
                    "instance": "lib",
                    "project_id": name.upper(),
                    "project_name": name,
                    "set_at": "t",
                },
            )
        assert store.run_sync(mstr_defaults.get, "U1", "lib")["project_name"] == "Finance"
        store.run_sync(mstr_defaults.clear, "U1", "lib")
        assert store.run_sync(mstr_defaults.get, "U1", "lib") is None

        base = {
            "user_id": "U1",
            "platform": "dss",
            "instance": "",
            "response_url": "",
            "created_at": "t",
            "used_at": None,
            "outcome": "",
            "failures": 0,
        }
        store.run_sync(tokens.insert, {**base, "token_hash": "old", "expires_at": 10.0}, 5.0)
        store.run_sync(tokens.insert, {**base, "token_hash": "h1", "expires_at": 200.5}, 5.0)
        assert store.run_sync(tokens.get, "old") is not None
        store.run_sync(tokens.insert, {**base, "token_hash": "h2", "expires_at": 300.0}, 50.0)
        assert store.run_sync(tokens.get, "old") is None  # pruned on the next issue
        assert store.run_sync(tokens.fail, "h1", 100.0, 2) == 1
        assert store.run_sync(tokens.fail, "h1", 101.0, 2) == 2
        assert store.run_sync(tokens.get, "h1")["outcome"] == tokens.LOCKED
        won = race(3, lambda i: store.run_sync(tokens.claim, "h2", 150.0))
        assert sorted(won) == [False, False, True]
        assert store.run_sync(tokens.get, "h2")["expires_at"] == 300.0
    finally:
        store.close()


def test_a_database_newer_than_the_code_is_refused_in_one_line(db_target):
    store = Store(db_target)
    try:
        store.run_sync(
            lambda db: (
                db.execute(
                    "insert into schema_migrations (version, name, applied_at) values (?, ?, ?)",
                    [999, "m999_future", "t"],
                ).rowcount
            )
        )
    finally:
        store.close()
    with pytest.raises(migrations.SchemaTooNew) as info:
        Store(db_target)
    assert "schema version 999" in str(info.value) and "\n" not in str(info.value)


def test_replicas_starting_together_migrate_an_empty_database_once(postgres_server):
    url = postgres_server.new_database(migrated=False)
    stores = race(4, lambda i: Store(url, pool_size=2))
    try:
        rows = stores[0].run_sync(
            lambda db: list(db.query("select version from schema_migrations order by version"))
        )
        assert [r["version"] for r in rows] == [m.version for m in migrations.MIGRATIONS]
    finally:
        for s in stores:
            s.close()


def test_an_unreachable_postgresql_is_one_line_without_the_password():
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as info:
        Store("postgresql://sb:hunter2-secret@127.0.0.1:1/switchboard")
    text = str(info.value)
    assert "cannot connect to PostgreSQL" in text and "hunter2" not in text
    assert "\n" not in text


def test_an_old_sqlite_file_upgrades_with_nothing_lost(tmp_path):
    """A database made by the previous release (sqlite-utils' Migrations, and the two tables
    it created on first use) is adopted: versions recorded, rows kept, new tables there."""
    from tests.bot.legacy_schema import build_legacy_database

    path = tmp_path / "old.db"
    build_legacy_database(path)
    store = Store(path)
    try:
        assert store.run_sync(migrations.applied) == {m.version for m in migrations.MIGRATIONS}
        assert store.run_sync(links.get, "U0ALICE", "dss", "prod")["secret"] == "ct-alice"
        assert store.run_sync(mstr_defaults.get, "U0ALICE", "lib")["project_name"] == "Tutorial"
        assert store.run_sync(tokens.get, "hash-1")["failures"] == 1
        assert store.run_sync(subs.get, 1)["instance"] == "prod"
        assert store.run_sync(seen.first_time, "event:old", "t") is False
        row = store.run_sync(
            subs.add,
            {
                "owner": "U2",
                "kind": "digest",
                "trigger": "daily",
                "tz": "UTC",
                "channel": "C",
                "skip_empty": 0,
                "created_at": "t",
            },
        )
        assert row["id"] == 2
    finally:
        store.close()
    legacy = sqlite3.connect(path).execute("select count(*) from _sqlite_migrations").fetchone()[0]
    assert legacy == 3  # sqlite-utils' own record is left as it was
