"""``hpf db``: migrate the database and show its revision."""

from __future__ import annotations

import typer

from hpf.config import get_settings, mask_url_password
from hpf.db import migrate

app = typer.Typer(help="数据库 Database migrations", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the database to the latest schema. 升级数据库结构。"""
    url = get_settings().database_url
    migrate.upgrade(url, revision)
    current, head = migrate.current(url)
    typer.echo(
        f"数据库已升级 database upgraded: {mask_url_password(url)} @ {current} (head {head})"
    )


@app.command("current")
def current() -> None:
    """Print the database's revision and the code's head revision. 显示当前版本。"""
    url = get_settings().database_url
    rev, head = migrate.current(url)
    state = "最新 up to date" if rev == head else "需要升级 upgrade needed (hpf db upgrade)"
    typer.echo(f"current: {rev or '(none)'}\nhead: {head}\n{state}")
