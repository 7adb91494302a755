"""`db copy` refuses what would lose or mix data, and checks what it copied."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.store import Store, audit, links
from bot.store import subscriptions as subs
from bot.store.copy import CopyError, copy_database, count
from bot.store.db import connect
from bot.vault import Vault


def populate(target, vault: Vault, users: int = 3) -> None:
    store = Store(target)
    try:
        for i in range(users):
            store.run_sync(
                links.save,
                {
                    "user_id": f"U{i}",
                    "platform": "dss",
                    "instance": "prod",
                    "account": f"a{i}",
                    "kind": "API key",
                    "secret": vault.encrypt(f"secret-{i}"),
                    "details": "{}",
                    "linked_at": "t",
                    "verified_at": "t",
                },
            )
            store.run_sync(
                audit.record,
                {
                    "at": "t",
                    "user_id": f"U{i}",
                    "action": "link",
                    "platform": "dss",
                    "instance": "prod",
                    "target": f"a{i}",
                    "result": "ok",
                    "detail": "",
                },
            )
        store.run_sync(
            subs.add,
            {
                "owner": "U0",
                "kind": "digest",
                "trigger": "daily 09:00",
                "tz": "UTC",
                "channel": "C1",
                "skip_empty": 0,
                "created_at": "t",
            },
        )
    finally:
        store.close()


def table_count(target, table: str) -> int:
    db = connect(target, upgrade=False)
    try:
        return count(db, table)
    finally:
        db.close()


def test_copy_there_and_back_keeps_every_row_and_the_numbering(tmp_path, postgres_url):
    vault = Vault([Fernet.generate_key()])
    source = tmp_path / "sb.db"
    populate(source, vault)
    report = copy_database(source, postgres_url, vault)
    assert report.rows["links"] == 3 and report.rows["audit"] == 3 and report.credentials == 3
    store = Store(postgres_url)  # new rows are numbered after the copied ones
    try:
        row = store.run_sync(
            subs.add,
            {
                "owner": "U1",
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
    back = tmp_path / "back" / "sb.db"
    assert copy_database(postgres_url, back, vault).rows["subscriptions"] == 2


def test_copy_refuses_a_target_that_holds_data(tmp_path, postgres_url):
    vault = Vault([Fernet.generate_key()])
    populate(tmp_path / "sb.db", vault)
    populate(postgres_url, vault, users=1)
    held = (
        r"already holds data \(audit \(1\), counters \(1\), links \(1\),"
        r" subscriptions \(1\)\)"
    )
    with pytest.raises(CopyError, match=held):
        copy_database(tmp_path / "sb.db", postgres_url, vault)
    assert table_count(postgres_url, "links") == 1


def test_a_credential_that_does_not_decrypt_rolls_the_copy_back(tmp_path, postgres_url):
    populate(tmp_path / "sb.db", Vault([Fernet.generate_key()]))
    with pytest.raises(CopyError, match="3 of 3 credential"):
        copy_database(tmp_path / "sb.db", postgres_url, Vault([Fernet.generate_key()]))
    assert table_count(postgres_url, "links") == 0
    assert table_count(postgres_url, "audit") == 0
