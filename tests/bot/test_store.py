"""The store: migrations, WAL, the one store thread, atomic first-time keys."""

from __future__ import annotations

import sqlite3

from bot.store import Store, audit, seen


def test_file_database_is_in_wal_mode_with_every_table(tmp_path):
    store = Store(tmp_path / "sb.db")
    try:
        tables = set(store.run_sync(lambda db: db.table_names()))
        assert {"links", "audit", "approvals", "approval_messages", "subscriptions",
                "deliveries", "seen"} <= tables
        mode = store.run_sync(lambda db: db.execute("pragma journal_mode").fetchone()[0])
        assert mode == "wal"
    finally:
        store.close()
    # Migrations are applied once: opening again changes nothing and loses nothing.
    store = Store(tmp_path / "sb.db")
    store.close()


async def test_store_work_runs_on_its_own_thread_from_async_code(tmp_path):
    store = Store(tmp_path / "sb.db")
    try:
        await store.run(audit.record, {"at": "2026-01-01T00:00:00", "user_id": "U1",
                                       "action": "link", "platform": "dss", "instance": "p",
                                       "target": "alice", "result": "ok", "detail": ""})
        rows = await store.run(audit.latest, 5)
        assert [(r["user_id"], r["action"]) for r in rows] == [("U1", "link")]
    finally:
        store.close()
    # Another process (here: a plain connection) reads the same file.
    rows = sqlite3.connect(tmp_path / "sb.db").execute("select action from audit").fetchall()
    assert rows == [("link",)]


async def test_first_time_is_true_once_per_key(tmp_path):
    store = Store(None)
    try:
        results = [await store.run(seen.first_time, "event:Ev1", "t") for _ in range(3)]
        assert results == [True, False, False]
    finally:
        store.close()


def test_unlink_and_a_new_secret_are_committed_at_once(tmp_path):
    """Another process reading the file sees an unlink straight away (regression: the delete
    stayed in an open transaction until some later write)."""
    from bot.store import links

    path = tmp_path / "sb.db"
    store = Store(path)
    try:
        row = {"user_id": "U1", "platform": "dss", "instance": "p", "account": "a",
               "kind": "API key", "secret": "ct-1", "details": "{}", "linked_at": "t",
               "verified_at": "t"}
        store.run_sync(links.save, row)
        store.run_sync(links.update_secret, "U1", "dss", "p", "ct-2", "t2")
        other = sqlite3.connect(path)
        assert other.execute("select secret from links").fetchall() == [("ct-2",)]
        assert store.run_sync(links.delete, "U1", "dss", "p") == 1
        assert other.execute("select count(*) from links").fetchall() == [(0,)]
    finally:
        store.close()
