"""Spreadsheet-safe export cells (表格导出防公式注入): one rule for every CSV and XLSX hpf writes.

A spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(CSV/formula injection, OWASP "CSV Injection"); a leading tab, carriage return or line feed
is stripped by some programs first, so it hides such a start. Every text cell of an export
goes through ``neutralise``: a dangerous text gets a leading apostrophe, which spreadsheets
show as text and never evaluate. Negative amounts (``-12.50``, as ``money.format_yuan`` writes
them) and texts whose start is harmless
(an ID number after a tab, which keeps Excel from rounding it) are written unchanged; numbers
and dates that are not strings are never touched. ``SafeCsvWriter`` applies the rule to each
row, so a writer needs one changed line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@")
HIDDEN_START = ("\t", "\r", "\n", " ")
_NEGATIVE_NUMBER = re.compile(r"^-\d+(\.\d+)?$")


def is_dangerous(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` as a formula."""
    visible = text.lstrip("".join(HIDDEN_START))
    if not visible.startswith(FORMULA_START):
        return False
    return not _NEGATIVE_NUMBER.match(visible)


def neutralise(value: Any) -> Any:
    """``value`` as a safe cell: a dangerous string with a leading apostrophe, anything else as is."""
    if isinstance(value, str) and is_dangerous(value):
        return "'" + value
    return value


def neutral_row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row through ``neutralise``."""
    return [neutralise(v) for v in values]


class SafeCsvWriter:
    """``csv.writer`` whose rows are neutralised cell by cell (same arguments as csv.writer)."""

    def __init__(self, stream: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(neutral_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_csv_writer(stream: Any, **kwargs: Any) -> SafeCsvWriter:
    """A CSV writer that never writes a cell a spreadsheet would run as a formula."""
    return SafeCsvWriter(stream, **kwargs)
