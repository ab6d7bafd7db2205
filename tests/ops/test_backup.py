"""Acceptance: backup → delete the database → restore → every table and the ledger check out.

Runs on SQLite and PostgreSQL (fresh databases of their own, with real books posted through the
withdrawal and contribution services).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import make_url

from conftest import PG_ADMIN_URL
from hpf.auth import passwords
from hpf.db.engine import make_engine, unit_of_work
from hpf.ops import backup
from withdrawal_books import make_withdrawal_books


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def _books(url: str) -> None:
    with unit_of_work(url) as session:
        wb = make_withdrawal_books(session)
        for balance in (1_000_000, 2_500_000):
            person = wb.person(balance)
        outcome = wb.apply(person, "rent", rent_months=2, cost_fen=300_000)
        wb.approve(outcome.withdrawal_id)


def _delete_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        return
    name = make_url(url).database
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _exists(url: str) -> bool:
    if url.startswith("sqlite"):
        return Path(make_url(url).database or "").exists()
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": make_url(url).database}
        ).first()
    admin.dispose()
    return found is not None


def test_backup_delete_restore_drill(fresh_db_url: str, tmp_path: Path) -> None:
    _books(fresh_db_url)
    folder, manifest = backup.create_backup(fresh_db_url, tmp_path)
    assert manifest.tables["ledger_journal"].rows > 0
    assert manifest.tables["deposit_depositor"].rows == 2
    assert backup.verify_backup(folder).ok
    _delete_database(fresh_db_url)
    assert not _exists(fresh_db_url)
    report = backup.restore_backup(folder, fresh_db_url)
    assert report.ok, report.problems
    assert report.tables == len(manifest.tables) and report.rows == manifest.total_rows
    # restoring over an existing database needs --force; then the drill passes again
    with pytest.raises(backup.BackupError, match="exists"):
        backup.restore_backup(folder, fresh_db_url)
    assert backup.restore_backup(folder, fresh_db_url, force=True).ok


def test_drill_and_verify_catch_changes(fresh_db_url: str, tmp_path: Path) -> None:
    _books(fresh_db_url)
    folder, manifest = backup.create_backup(fresh_db_url, tmp_path)
    engine = make_engine(fresh_db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE deposit_depositor SET phone = '13900000000'"))
    engine.dispose()
    problems = backup.drill(fresh_db_url, manifest).problems
    assert problems == [
        "表 deposit_depositor 行数 2/2 或校验和不符 table deposit_depositor differs"
    ]
    copy = folder / manifest.file
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    checked = backup.verify_backup(folder)
    assert not checked.ok and "SHA-256" in checked.problems[0]
    with pytest.raises(backup.BackupError, match="failed verification"):
        backup.restore_backup(folder, fresh_db_url, force=True)


def test_retention_keeps_the_newest(fresh_db_url: str, tmp_path: Path) -> None:
    made = []
    for day in (1, 2, 3, 4):
        folder, _ = backup.create_backup(
            fresh_db_url, tmp_path, keep=2, now=datetime(2023, 5, day, tzinfo=UTC)
        )
        made.append(folder)
    assert backup.backups(tmp_path) == [made[3], made[2]]
    with pytest.raises(backup.BackupError):
        backup.prune(tmp_path, 0)
