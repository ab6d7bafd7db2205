"""``hpf backup``: create (with retention), verify and restore (with the drill) backups.

Output in Chinese; a failed verification or drill exits 1; bad input exits 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from hpf.auth import audit
from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail, progress
from hpf.config import get_settings
from hpf.db.engine import unit_of_work
from hpf.ops import backup
from hpf.ops.models import BackupRecord

app = typer.Typer(help="数据备份 Backups", no_args_is_help=True)


def _tables() -> int:
    """Tables to checksum, for the progress bar: the model's tables and alembic_version."""
    from hpf.db.registry import metadata

    return len(metadata.tables) + 1


def _url(url: str | None) -> str:
    return url or get_settings().database_url


@app.command("create")
def create(
    to: Annotated[Path, typer.Option("--to", help="备份目录")],
    keep: Annotated[
        int | None, typer.Option("--keep", help="保留最近几份（默认 HPF_BACKUP_KEEP）")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="数据库 URL（默认当前配置）")] = None,
) -> None:
    """备份数据库：副本、SHA-256 与逐表行数和校验和清单；按保留份数清理旧备份。"""
    source = _url(url)
    keep = get_settings().backup_keep if keep is None else keep
    if keep < 1:
        fail("--keep 至少为 1 (keep at least one backup)")
    with domain_errors(), progress() as bar:
        task = bar.add_task("备份 backup", total=_tables())
        folder, manifest = backup.create_backup(
            source, to, keep=keep, on_table=lambda _n: bar.advance(task)
        )
    with domain_errors(), unit_of_work(source) as session:
        session.add(
            BackupRecord(
                created_at=datetime.now(UTC),
                backend=manifest.backend,
                path=str(folder)[:500],
                sha256=manifest.sha256,
                size_bytes=manifest.size_bytes,
                tables=len(manifest.tables),
                total_rows=manifest.total_rows,
            )
        )
        audit.record(
            session,
            actor=system_principal(),
            action="backup.create",
            object_type="backup",
            object_id=folder.name,
            detail={"sha256": manifest.sha256},
        )
    typer.echo(
        f"已备份到 {folder}：{len(manifest.tables)} 张表 {manifest.total_rows} 行，"
        f"SHA-256 {manifest.sha256}"
    )


@app.command("verify")
def verify(path: Annotated[Path, typer.Argument(help="备份目录")]) -> None:
    """校验备份：文件 SHA-256、大小、可读性（SQLite 另校验完整性和逐表校验和）。"""
    if not path.is_dir():
        fail(f"备份目录不存在：{path} (no such backup)")
    with domain_errors():
        result = backup.verify_backup(path)
    if not result.ok:
        for p in result.problems:
            typer.echo(p, err=True)
        typer.echo("备份校验失败 backup verification failed", err=True)
        raise typer.Exit(1)
    typer.echo(f"备份完好：{len(result.manifest.tables)} 张表 {result.manifest.total_rows} 行")


@app.command("restore")
def restore(
    path: Annotated[Path, typer.Argument(help="备份目录")],
    url: Annotated[str | None, typer.Option("--to", help="目标数据库 URL（默认当前配置）")] = None,
    force: Annotated[bool, typer.Option("--force", help="覆盖已存在的目标数据库")] = False,
) -> None:
    """恢复备份并演练：逐表比对行数与校验和，校验账本与审计留痕。"""
    if not path.is_dir():
        fail(f"备份目录不存在：{path} (no such backup)")
    target = _url(url)
    with domain_errors(), progress() as bar:
        task = bar.add_task("恢复演练 restore drill", total=_tables())
        report = backup.restore_backup(
            path, target, force=force, on_table=lambda _n: bar.advance(task)
        )
    if not report.ok:
        for p in report.problems:
            typer.echo(p, err=True)
        typer.echo("恢复演练未通过 restore drill failed", err=True)
        raise typer.Exit(1)
    typer.echo(f"已恢复并演练通过：{report.tables} 张表 {report.rows} 行一致，账本校验通过")
