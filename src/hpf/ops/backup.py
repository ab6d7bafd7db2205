"""Backups (数据备份): create, verify and restore, with a manifest and a restore drill.

A backup is a directory ``hpf-backup-<UTC time>/`` holding the database copy (SQLite: the online
backup API's copy ``hpf.sqlite3``; PostgreSQL: ``pg_dump -Fc`` as ``hpf.dump``) and
``manifest.json``: the copy's SHA-256 and size, and every table's row count and checksum, taken
from the same snapshot as the copy (PostgreSQL: ``pg_export_snapshot`` shared with pg_dump).
Restoring checks the SHA-256 first, then runs the drill: every table's rows and checksum against
the manifest, ledger verification and the audit trail's hash chain. ``keep`` old backups are
kept (retention), the rest removed, oldest first. domain.md §9 (data security: regular backups).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hpf.auth.audit import verify_trail
from hpf.db.engine import make_engine, normalise_url
from hpf.errors import DomainError
from hpf.ledger.verify import verify_ledger
from hpf.ops.checksums import TableSum, file_sha256, table_sums

PREFIX = "hpf-backup-"
MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(DomainError):
    code = "backup_error"


@dataclass(frozen=True)
class Manifest:
    created_at: str
    backend: str
    file: str
    sha256: str
    size_bytes: int
    tables: dict[str, TableSum]

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "created_at": self.created_at,
                "backend": self.backend,
                "file": self.file,
                "sha256": self.sha256,
                "size_bytes": self.size_bytes,
                "tables": {
                    n: {"rows": t.rows, "sha256": t.sha256} for n, t in sorted(self.tables.items())
                },
            },
            ensure_ascii=False,
            indent=2,
        )


def read_manifest(backup_dir: Path) -> Manifest:
    path = backup_dir / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(
            data["created_at"],
            data["backend"],
            data["file"],
            data["sha256"],
            int(data["size_bytes"]),
            {n: TableSum(int(t["rows"]), t["sha256"]) for n, t in data["tables"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(
            f"备份清单无法读取：{path}（{exc}）", f"cannot read the backup manifest {path}: {exc}"
        ) from None


def backend_of(url: str) -> str:
    return "sqlite" if normalise_url(url).startswith("sqlite") else "postgresql"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份", "an in-memory database cannot be backed up")
    return Path(database)


def _libpq(url: str, database: str | None = None) -> str:
    parsed = make_url(normalise_url(url)).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _readonly_sums(path: Path, on_table: Callable[[str], None] | None) -> dict[str, TableSum]:
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    )
    try:
        with engine.connect() as conn:
            return table_sums(conn, on_table)
    finally:
        engine.dispose()


def create_backup(
    url: str,
    dest: Path,
    *,
    keep: int | None = None,
    now: datetime | None = None,
    on_table: Callable[[str], None] | None = None,
) -> tuple[Path, Manifest]:
    """Back up the database at ``url`` into a new directory under ``dest``; apply retention."""
    at = now or datetime.now(UTC)
    folder = dest / f"{PREFIX}{at:%Y%m%dT%H%M%S%fZ}"
    folder.mkdir(parents=True, exist_ok=False)
    backend = backend_of(url)
    try:
        if backend == "sqlite":
            target = folder / "hpf.sqlite3"
            source = _sqlite_path(url)
            if not source.is_file():
                raise BackupError(f"数据库文件不存在：{source}", f"no database file: {source}")
            src = sqlite3.connect(source)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal
            finally:
                dst.close()
                src.close()
            sums = _readonly_sums(target, on_table)
        else:
            target = folder / "hpf.dump"
            sums = _pg_dump(url, target, on_table)
        manifest = Manifest(
            at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            backend,
            target.name,
            file_sha256(str(target)),
            target.stat().st_size,
            sums,
        )
        (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if keep is not None:
        prune(dest, keep)
    return folder, manifest


def _pg_dump(url: str, target: Path, on_table: Callable[[str], None] | None) -> dict[str, TableSum]:
    engine = make_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            sums = table_sums(conn, on_table)
            _run(
                [
                    "pg_dump",
                    "-Fc",
                    f"--snapshot={snapshot}",
                    "-f",
                    str(target),
                    f"--dbname={_libpq(url)}",
                ]
            )
            conn.rollback()
    finally:
        engine.dispose()
    return sums


def _run(args: list[str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"找不到程序 {args[0]}", f"{args[0]} is not installed") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.split())[:300]
        raise BackupError(f"{args[0]} 失败：{message}", f"{args[0]} failed: {message}")


def backups(dest: Path) -> list[Path]:
    """Backup directories under ``dest``, newest first."""
    if not dest.is_dir():
        return []
    found = [
        p
        for p in dest.iterdir()
        if p.is_dir() and p.name.startswith(PREFIX) and (p / MANIFEST).is_file()
    ]
    return sorted(found, key=lambda p: p.name, reverse=True)


def prune(dest: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest backups; returns those removed."""
    if keep < 1:
        raise BackupError("至少保留 1 份备份", "keep at least one backup")
    removed = backups(dest)[keep:]
    for old in removed:
        shutil.rmtree(old)
    return removed


@dataclass
class VerifyResult:
    manifest: Manifest
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_backup(backup_dir: Path) -> VerifyResult:
    """Check the copy's SHA-256 and size, and that it opens (SQLite: integrity and checksums)."""
    manifest = read_manifest(backup_dir)
    result = VerifyResult(manifest)
    copy = backup_dir / manifest.file
    if not copy.is_file():
        result.problems.append(f"备份文件缺失 missing: {copy.name}")
        return result
    if copy.stat().st_size != manifest.size_bytes or file_sha256(str(copy)) != manifest.sha256:
        result.problems.append(
            f"备份文件 SHA-256 不符（已损坏或被改动） checksum mismatch: {copy.name}"
        )
        return result
    if manifest.backend == "sqlite":
        con = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            status = con.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            con.close()
        if status != "ok":
            result.problems.append(f"SQLite 完整性检查失败 integrity_check: {status}")
            return result
        result.problems.extend(compare(manifest.tables, _readonly_sums(copy, None)))
    else:
        _run(["pg_restore", "--list", str(copy)])
    return result


def compare(expected: dict[str, TableSum], actual: dict[str, TableSum]) -> list[str]:
    """Every table's difference in rows or checksum, one line each (empty when equal)."""
    problems: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None or got is None:
            problems.append(
                f"表 {name} {'多出' if want is None else '缺失'} table {name} "
                f"{'unexpected' if want is None else 'missing'}"
            )
        elif want != got:
            problems.append(
                f"表 {name} 行数 {got.rows}/{want.rows} 或校验和不符 table {name} differs"
            )
    return problems


@dataclass
class DrillReport:
    """What the restore drill found: tables compared, ledger and audit-trail verification."""

    tables: int
    rows: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def restore_backup(
    backup_dir: Path,
    url: str,
    *,
    force: bool = False,
    on_table: Callable[[str], None] | None = None,
) -> DrillReport:
    """Restore the backup into the database at ``url`` (refused if it exists, unless ``force``),
    then run the drill and return its report.
    """
    checked = verify_backup(backup_dir)
    if not checked.ok:
        raise BackupError(
            "备份校验失败，未恢复：" + "；".join(checked.problems),
            "the backup failed verification; nothing restored",
        )
    manifest = checked.manifest
    if manifest.backend != backend_of(url):
        raise BackupError(
            f"备份为 {manifest.backend}，目标为 {backend_of(url)}",
            f"a {manifest.backend} backup cannot be restored into {backend_of(url)}",
        )
    copy = backup_dir / manifest.file
    if manifest.backend == "sqlite":
        target = _sqlite_path(url)
        if target.exists() and not force:
            raise BackupError(
                f"目标数据库已存在：{target}（确认覆盖请加 --force）",
                f"the target database exists: {target} (use --force)",
            )
        for extra in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
            extra.unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copy, target)
    else:
        _pg_recreate(url, force)
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={_libpq(url)}",
                str(copy),
            ]
        )
    return drill(url, manifest, on_table)


def _pg_recreate(url: str, force: bool) -> None:
    name = make_url(normalise_url(url)).database
    if not name:
        raise BackupError("目标 URL 未指明数据库", "the target URL names no database")
    admin = make_engine(_libpq(url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists and not force:
                raise BackupError(
                    f"目标数据库已存在：{name}（确认覆盖请加 --force）",
                    f"the target database exists: {name} (use --force)",
                )
            quoted = '"' + name.replace('"', '""') + '"'
            if exists:
                conn.execute(text(f"DROP DATABASE {quoted} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()


def drill(
    url: str, manifest: Manifest, on_table: Callable[[str], None] | None = None
) -> DrillReport:
    """Compare the database at ``url`` with ``manifest`` table by table; verify ledger and trail."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            actual = table_sums(conn, on_table)
            report = DrillReport(len(actual), sum(t.rows for t in actual.values()))
            report.problems.extend(compare(manifest.tables, actual))
            report.problems.extend(_verify_books(conn))
    finally:
        engine.dispose()
    return report


def _verify_books(conn: Connection) -> list[str]:
    problems: list[str] = []
    with Session(bind=conn) as session:
        ledger = verify_ledger(session)
        problems.extend(f"账本校验 ledger: {p.message}" for p in ledger.problems)
        trail = verify_trail(session)
        problems.extend(f"审计留痕 audit trail: {p.message}" for p in trail.problems)
        session.rollback()
    return problems
