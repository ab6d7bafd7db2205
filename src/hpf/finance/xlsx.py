"""Writing statement grids to an XLSX workbook (openpyxl) and to a plain HTML page.

Amount cells that look like yuan strings are written as numbers with two decimals.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from hpf.finance.statements import Table
from hpf.tabular_safety import neutralise

_AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


def _cell(value: object) -> object:
    if isinstance(value, str) and _AMOUNT.match(value):
        return Decimal(value)
    return neutralise(value)


def write_xlsx(tables: Iterable[Table], path: Path) -> None:
    """One sheet per table, titled; header row bold; amounts as numbers (0.00)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = Workbook()
    book.remove(book.active)
    for n, table in enumerate(tables, start=1):
        sheet = book.create_sheet(f"{n}")
        sheet.append([neutralise(table.title)])
        sheet["A1"].font = Font(bold=True)
        sheet.append([neutralise(c) for c in table.columns])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
        for letter, width in zip("ABCDEFGH", (10, 34, 16, 16, 16, 16, 16, 16), strict=False):
            sheet.column_dimensions[letter].width = width
    book.save(path)


def write_html(tables: Iterable[Table], path: Path, title: str) -> None:
    """A self-contained HTML page with one table per statement (for printing and mail)."""
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #999;padding:2px 8px}td.n{text-align:right}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
    ]
    for table in tables:
        parts.append(f"<h2>{html.escape(table.title)}</h2><table><tr>")
        parts.extend(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
        parts.append("</tr>")
        for row in table.rows:
            parts.append("<tr>")
            for v in row:
                text = "" if v is None else str(v)
                cls = " class='n'" if _AMOUNT.match(text) or text.isdigit() else ""
                parts.append(f"<td{cls}>{html.escape(text)}</td>")
            parts.append("</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")
