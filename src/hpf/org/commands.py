"""``hpf org``: the organisation tree (中心 → 管理部 → 服务网点)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from hpf.clitools import domain_errors
from hpf.db.engine import unit_of_work
from hpf.org import service

app = typer.Typer(help="组织机构 Organisation", no_args_is_help=True)

KIND_ZH = {"center": "中心", "branch": "管理部", "service_point": "服务网点"}


@app.command("seed")
def seed() -> None:
    """Load the shipped Linyi organisation if none exists. 初始化临沂组织机构。"""
    with unit_of_work() as session:
        made = service.seed_linyi(session)
    typer.echo(f"已创建 {made} 个机构 created {made} organisation units")


@app.command("add")
def add(
    code: str = typer.Option(..., "--code"),
    name: str = typer.Option(..., "--name"),
    kind: str = typer.Option(..., "--kind", help="center | branch | service_point"),
    parent: str | None = typer.Option(None, "--parent", help="Parent unit code."),
    area_class: str = typer.Option("city", "--area-class", help="city | county"),
) -> None:
    """Add one organisation unit. 新增机构。"""
    with domain_errors(), unit_of_work() as session:
        unit = service.create_unit(
            session, code=code, name=name, kind=kind, parent_code=parent, area_class=area_class
        )
        typer.echo(f"已创建 created {unit.code} {unit.name}")


@app.command("list")
def list_units() -> None:
    """List all organisation units. 列出机构。"""
    with unit_of_work() as session:
        table = Table("代码 code", "名称 name", "类型 kind", "地区 area")
        for unit in service.list_units(session):
            table.add_row(unit.code, unit.name, KIND_ZH[unit.kind], unit.area_class)
    Console().print(table)
