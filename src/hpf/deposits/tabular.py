"""Reading an uploaded table (上传表格): a CSV or .xlsx file into numbered rows of raw cells.

Pure: bytes in, rows out; no database. Used by the remittance list (汇缴清册) upload. The format is
decided by the file name's extension and confirmed by the content's magic bytes; CSV text is
decoded as UTF-8 (with or without BOM), else as GBK/GB18030 (a superset of GBK). Line numbers are
those a person sees in Excel: the first row is 1, blank rows count but are not returned.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Literal

from hpf.errors import DomainError

TableFormat = Literal["csv", "xlsx"]
Cell = object
"""A raw cell: ``str`` from CSV; ``str``, ``int``, ``float``, ``Decimal``, ``None``... from xlsx."""

MAX_COLUMNS = 64
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the legacy binary .xls (and .et) container
_DELIMITERS = (",", "\t", ";")


class UnreadableTable(DomainError):
    """The uploaded file cannot be read as a table (格式、编码或内容无法识别)."""

    code = "file_unreadable"


@dataclass(frozen=True)
class TableRows:
    """The non-blank rows of a table's first sheet, at most ``limit`` of them."""

    format: TableFormat
    rows: tuple[tuple[int, tuple[Cell, ...]], ...]
    """(line number, cells) of each non-blank row, in file order."""
    truncated: bool
    """True when the file holds more non-blank rows than were read."""


def table_format(data: bytes, filename: str) -> TableFormat:
    """The table format named by the extension, refused when the content says otherwise."""
    name = (filename or "").strip().lower()
    is_zip = data.startswith(_ZIP_MAGIC)
    if data.startswith(_OLE_MAGIC) and name.endswith(".xlsx"):  # how Excel stores encrypted xlsx
        raise UnreadableTable(
            "Excel 文件设置了打开密码或是旧版格式，请取消密码并另存为 .xlsx 后再上传",
            "the Excel file is password-protected or in the legacy format; "
            "remove the password and save as .xlsx",
            code="file_format",
        )
    if data.startswith(_OLE_MAGIC) or name.endswith((".xls", ".et")):
        raise UnreadableTable(
            "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再上传",
            "legacy Excel (.xls) files are not supported; save as .xlsx or CSV and upload again",
            code="file_format",
        )
    if name.endswith(".xlsx"):
        if not is_zip:
            raise UnreadableTable(
                "文件扩展名为 .xlsx，但内容不是 Excel 工作簿",
                "the file is named .xlsx but is not an Excel workbook",
                code="file_format",
            )
        return "xlsx"
    if name.endswith(".csv"):
        if is_zip:
            raise UnreadableTable(
                "文件扩展名为 .csv，但内容是压缩包或 Excel 工作簿；请改为 .xlsx 或另存为 CSV",
                "the file is named .csv but holds a zip archive or workbook; rename it .xlsx or save as CSV",
                code="file_format",
            )
        return "csv"
    raise UnreadableTable(
        "仅支持 .xlsx 或 .csv 文件", "only .xlsx or .csv files are accepted", code="file_format"
    )


def decode_text(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (BOM optional) first, then GBK/GB18030; refused otherwise."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # NULs: UTF-16 without a BOM, or a binary file named .csv
            return text
    raise UnreadableTable(
        "文件编码无法识别，请使用 UTF-8 或 GBK 编码",
        "the file's encoding is not recognised; use UTF-8 or GBK",
        code="file_encoding",
    )


def read_table(data: bytes, filename: str, *, limit: int) -> TableRows:
    """The first ``limit`` non-blank rows of the file's (first) sheet, with their line numbers."""
    fmt = table_format(data, filename)
    source = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(decode_text(data))
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    truncated = False
    try:
        for line_no, cells in source:
            if not any(_present(c) for c in cells):
                continue
            if len(rows) >= limit:
                truncated = True
                break
            rows.append((line_no, tuple(cells[:MAX_COLUMNS])))
    finally:
        source.close()  # an xlsx workbook keeps its archive open until the generator ends
    return TableRows(fmt, tuple(rows), truncated)


def _present(cell: Cell) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _csv_rows(text: str) -> Generator[tuple[int, list[Cell]], None, None]:
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, delimiter=_sniff_delimiter(lines))
    try:
        yield from enumerate(reader, start=1)  # one record = one row in Excel, blank lines too
    except csv.Error as exc:
        raise UnreadableTable(
            f"CSV 文件格式错误（第 {reader.line_num} 行附近）：{exc}",
            f"malformed CSV near line {reader.line_num}: {exc}",
            code="file_unreadable",
        ) from None


def _sniff_delimiter(lines: Iterable[str]) -> str:
    """Comma unless the first lines plainly use tabs (Excel "Unicode text") or semicolons."""
    sample = []
    for line in lines:
        if line.strip():
            sample.append(line)
        if len(sample) >= 5:
            break
    joined = "".join(sample)
    return max(_DELIMITERS, key=joined.count) if joined else ","


def _xlsx_rows(data: bytes) -> Generator[tuple[int, list[Cell]], None, None]:
    import openpyxl  # type: ignore[import-untyped]  # imported late: only xlsx uploads need it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # zip, XML and openpyxl's own errors all mean the same thing to the user
        raise UnreadableTable(
            "无法读取 Excel 文件，文件可能已损坏或被加密",
            "the Excel file cannot be read; it may be damaged or password-protected",
            code="file_unreadable",
        ) from None
    try:
        if not book.worksheets:
            return
        sheet = book.worksheets[0]
        for line_no, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line_no, list(values)
    except Exception as exc:
        if isinstance(exc, DomainError):
            raise
        raise UnreadableTable(
            "读取 Excel 工作表时出错，文件可能已损坏",
            "error while reading the Excel sheet; the file may be damaged",
            code="file_unreadable",
        ) from None
    finally:
        book.close()
