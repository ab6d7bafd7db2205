"""``hpf policy``: show the policy parameters (政策参数) in force on a day, check a center's file.

domain.md §3–§7. Amounts are shown in yuan, rates in percent, labels in Chinese with English.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from hpf.clitools import domain_errors, print_json
from hpf.dates import parse_date
from hpf.money import format_yuan
from hpf.policy.loader import SECTIONS, Policy, PolicySnapshot, load_policy
from hpf.policy.schema import SECTION_LABELS

app = typer.Typer(help="政策参数 Policy parameters", no_args_is_help=True)


_WORDS = {
    "fen": "分 (fen)",
    "yuan": "元 (yuan)",
    "next-january-1": "次年1月1日 (January 1 of the following year)",
    "immediately": "立即 (immediately)",
}


def _percent(fraction: Decimal) -> str:
    """A fraction as a percentage without trailing zeros: 0.60 → "60%"."""
    return f"{(fraction * 100).normalize():f}%"


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


def _display(name: str, value: Any) -> str:
    """One field's value for people: yuan amounts, rates as percent, yes/no, dates."""
    if value is None:
        return "未设置 (not set)"
    if isinstance(value, bool):
        return "是 (yes)" if value else "否 (no)"
    if name.endswith("_fen") and isinstance(value, int):
        return f"{format_yuan(value, grouping=True)} 元"
    if isinstance(value, Decimal):
        if name.endswith("_pct"):
            return f"{value}%"
        if name.endswith(("_share", "_of_loans")):
            return _percent(value)
        if name.endswith("_factor"):
            return f"{_plain(value)} 倍 (x)"
        return _plain(value)
    if isinstance(value, date):
        return value.isoformat()
    return _WORDS.get(str(value), str(value))


def entry_values(entry: BaseModel) -> dict[str, Any]:
    """An entry as the file writes it: TOML keys, amounts as yuan strings, Decimals as strings.

    Nested tables (the withdrawal types) become nested dicts, lists of text stay lists.
    """
    out: dict[str, Any] = {}
    for name, info in type(entry).model_fields.items():
        value = getattr(entry, name)
        key = info.alias or name
        if isinstance(value, BaseModel):
            out[key] = entry_values(value)
        elif isinstance(value, tuple):
            out[key] = list(value)
        elif name.endswith("_fen") and isinstance(value, int):
            out[key] = format_yuan(value)
        elif isinstance(value, Decimal):
            out[key] = str(value)
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


def _entry_lines(entry: BaseModel, indent: str = "  ") -> list[str]:
    lines: list[str] = []
    for name, info in type(entry).model_fields.items():
        if name == "effective":
            continue
        value = getattr(entry, name)
        if isinstance(value, BaseModel):
            lines.append(f"{indent}{info.title or name}:")
            lines.extend(_entry_lines(value, indent + "  "))
        elif isinstance(value, tuple):
            lines.append(f"{indent}{info.title or name}: {'、'.join(map(str, value)) or '无'}")
        else:
            lines.append(f"{indent}{info.title or name}: {_display(name, value)}")
    return lines


def render_text(snapshot: PolicySnapshot) -> str:
    """The snapshot as text, section by section."""
    lines = [
        f"政策参数 (policy parameters) — {snapshot.day.isoformat()}",
        f"来源 (source): {snapshot.source}",
    ]
    for section, entry in snapshot.in_force().items():
        lines.append("")
        if entry is None:
            lines.append(f"{SECTION_LABELS[section]}: 当日无生效条目 (nothing in force)")
            continue
        lines.append(
            f"{SECTION_LABELS[section]} — 自 {entry.effective.isoformat()} 起生效 (effective)"
        )
        lines.extend(_entry_lines(entry))
        if section == "loan_rate":
            existing = snapshot.loan_rate.existing_loans_from().isoformat()
            lines.append(f"  存量贷款自 {existing} 起执行 (existing loans repriced from)")
    return "\n".join(lines)


def render_json(snapshot: PolicySnapshot) -> dict[str, Any]:
    """The snapshot as JSON data: TOML key names, amounts as yuan strings, rates as strings."""
    sections: dict[str, Any] = {}
    for section, entry in snapshot.in_force().items():
        sections[section] = None if entry is None else entry_values(entry)
    return {"on": snapshot.day.isoformat(), "source": snapshot.source, "sections": sections}


def _load(path: Path | None) -> Policy:
    return load_policy(path)


@app.command("show")
def show(
    on: Annotated[
        str | None, typer.Option("--on", help="日期 YYYY-MM-DD (default: today). 查询日期。")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON. 输出 JSON。")] = False,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="A policy TOML instead of the configured one. 指定政策文件。"),
    ] = None,
) -> None:
    """Print the policy parameters in force on a day. 显示某日生效的政策参数。"""
    with domain_errors():
        day = date.today() if on is None else parse_date(on)
        snapshot = _load(file).on(day)
    if as_json:
        print_json(render_json(snapshot))
    else:
        typer.echo(render_text(snapshot))


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The center's policy TOML. 中心的政策文件。")],
) -> None:
    """Validate a center's policy file. 校验政策文件。"""
    with domain_errors():
        policy = _load(file)
    counts = ", ".join(f"{section} {len(policy.history(section))}" for section in SECTIONS)
    typer.echo(f"政策文件有效 (policy file OK): {file} — {counts}")
