"""``hpf exchange export``: the fund's data in JGJ/T 320 field names, one CSV per entity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, progress
from hpf.db.engine import unit_of_work
from hpf.ops import exchange

app = typer.Typer(help="数据交换 Data exchange (supervision platform)", no_args_is_help=True)


@app.command("export")
def export(to: Annotated[Path, typer.Option("--to", help="输出目录")]) -> None:
    """按住房公积金基础数据标准（JGJ/T 320）字段导出：DW、GR、GRMX、DK 四个 CSV 文件。"""
    with domain_errors(), unit_of_work() as session, progress() as bar:
        task = bar.add_task("导出 export", total=len(exchange.ENTITIES))
        counts = exchange.export(
            session, to, system_principal(), on_file=lambda _f: bar.advance(task)
        )
    for e in exchange.ENTITIES:
        typer.echo(f"{e.file}（{e.name_zh}）：{counts[e.file]} 行")
    typer.echo(f"已导出到 {to}")
