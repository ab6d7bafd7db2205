"""``hpf goals``: performance goals (绩效目标) — import a goal table, bind its indicators to the
books, record manual actuals with evidence, and the self-evaluation report (绩效自评表)."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

import typer

from hpf.clitools import domain_errors, fail, print_json
from hpf.db.engine import unit_of_work
from hpf.goals import registry, report, service
from hpf.goals.parse import parse_file
from hpf.policy.loader import get_policy

app = typer.Typer(help="绩效目标 Performance goals", no_args_is_help=True)
ACTOR = "cli"
SAMPLE = "linyi_2023.txt"


def sample_bytes() -> bytes:
    """The seed's table shipped with the package (临沂 2023)."""
    return resources.files("hpf.goals").joinpath("samples", SAMPLE).read_bytes()


def _as_of(year: int, text: str | None) -> date:
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            fail(f"日期格式应为 YYYY-MM-DD：{text}")
    return min(date.today(), date(year, 12, 31))  # the entry point owns "today"


@app.command("import")
def import_(
    file: str = typer.Argument(
        ..., help="目标表文件（.txt 制表符分隔 / .xlsx）；sample = 内置临沂 2023"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Parse and print only; store nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the parsed table as JSON."),
) -> None:
    """Import a goal table (绩效目标表): tab-separated text (UTF-8/GBK) or .xlsx.

    导入绩效目标表；同一年度、同一单位再次导入时整体替换。
    """
    with domain_errors():
        if file == "sample":
            data, name = sample_bytes(), SAMPLE
        else:
            path = Path(file)
            if not path.is_file():
                fail(f"文件不存在 no such file: {file}")
            data, name = path.read_bytes(), path.name
        table = parse_file(data, name)
        stored: service.Stored | None = None
        if not dry_run:
            with unit_of_work() as session:
                stored = service.import_table(session, table, source_name=name, actor=ACTOR)
    if as_json:
        print_json(table.as_json())
        return
    typer.echo(f"{table.title}：{table.year} 年 {table.organisation}，{len(table.rows)} 项指标")
    for n, row in enumerate(table.rows, 1):
        binding = registry.recognise(row.texts["name"], row.texts["explanation"])
        typer.echo(f"  {n:>2}. {row.texts['name']}  目标 {row.texts['target']}  [{binding}]")
    if stored is not None:
        typer.echo("已替换原有目标表 replaced" if stored.replaced else "已导入 imported")
    else:
        typer.echo("试运行，未保存 dry run: nothing stored")


@app.command("bindings")
def bindings(
    year: int = typer.Option(..., "--year"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the year's indicators and how each actual is computed (指标绑定)."""
    with domain_errors(), unit_of_work() as session:
        table = service.table_of(session, year)
        rows = [
            {
                "seq": i.seq,
                "name": i.name,
                "binding": service.binding_code(i),
                "set_by_hand": i.binding is not None,
                "source": registry.binding(service.binding_code(i)).source,
            }
            for i in service.indicators(session, table)
        ]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        hand = "（手工指定）" if r["set_by_hand"] else ""
        typer.echo(f"{r['seq']:>2}. {r['name']} → {r['binding']}{hand}  {r['source']}")


@app.command("bind")
def bind(
    year: int = typer.Option(..., "--year"),
    indicator: str = typer.Option(..., "--indicator", help="序号或指标名称"),
    binding: str = typer.Option(
        ..., "--binding", help="绑定代码；auto = 按名称识别；manual = 手工录入"
    ),
) -> None:
    """Bind an indicator by hand (手工指定指标的数据来源)."""
    with domain_errors(), unit_of_work() as session:
        ind = service.find_indicator(session, service.table_of(session, year), indicator)
        code = service.set_binding(session, ind, binding)
        typer.echo(f"{ind.seq}. {ind.name} → {code}")


@app.command("actual")
def actual(
    year: int = typer.Option(..., "--year"),
    indicator: str = typer.Option(..., "--indicator", help="序号或指标名称"),
    value: str = typer.Option(..., "--value", help="实际值，如 85亿元、5万人、93%、达成"),
    evidence: str = typer.Option(..., "--evidence", help="佐证材料说明"),
    as_of: str | None = typer.Option(None, "--as-of", help="截至日期 YYYY-MM-DD（默认今天或年末）"),
) -> None:
    """Record an actual value by hand, with its evidence (手工录入实际完成值及佐证)."""
    day = _as_of(year, as_of)
    with domain_errors(), unit_of_work() as session:
        ind = service.find_indicator(session, service.table_of(session, year), indicator)
        service.record_actual(session, ind, value, evidence, as_of=day, actor=ACTOR)
        typer.echo(f"已录入 recorded: {ind.seq}. {ind.name} = {value}（{day.isoformat()}）")


@app.command("report")
def report_(
    year: int = typer.Option(..., "--year"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    xlsx: str | None = typer.Option(None, "--xlsx", help="Write the 绩效自评表 workbook."),
    as_of: str | None = typer.Option(None, "--as-of", help="截至日期 YYYY-MM-DD（默认今天或年末）"),
) -> None:
    """The self-evaluation report (绩效自评表): actual, completion, projection, status.

    绩效自评：实际完成值、完成率、全年预计、状态（达成/进度正常/有风险/未达成）。
    """
    if not (as_json or xlsx):
        fail("请选择输出 choose --json and/or --xlsx FILE")
    day = _as_of(year, as_of)
    with domain_errors(), unit_of_work() as session:
        data = report.evaluate(session, year, as_of=day, policy=get_policy())
        table = service.as_table(session, service.table_of(session, year))
    if xlsx is not None:
        report.write_xlsx(table, data, Path(xlsx))
    if as_json:
        print_json(data)
