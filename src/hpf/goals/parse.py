"""Goal tables (绩效目标表) as they arrive: the tab-separated text extraction of a department's
整体绩效目标表, or an ``.xlsx`` workbook with merged cells. Pure: bytes in, a table out.

The layout (docs/goals.md): a title naming the year and the organisation; one or more header
blocks that start with a row holding 职责序号 … 绩效指标 … 年度指标值 and run over several lines;
data rows of 14 fields — 职责序号, 部门职责 (two cells: the duty and its detail), 职责目标,
绩效指标, 指标解释, 年度指标值, 规划值, 标准值, 标准值来源, 前三年均值, 上年值, 历史值来源, 工作活动.

Parsing is by structure, not by position:
- text: cells of merged ranges are dropped, so a row shifts left. The last ten non-empty
  cells are always 绩效指标 … 工作活动; the cells before them are the *lowest* levels of the
  duty hierarchy (职责序号 > 部门职责 > 职责细目 > 职责目标), the higher levels having been
  merged with the row above and inherited from it. A row that starts with a duty number
  starts a new duty and takes its name from the next cell. A row with all 14 cells and a duty
  number is read by position (an interior blank value then stays in its column).
- xlsx: every merged range is filled with its top-left value, then columns are found from
  the header labels above them (部门职责 spans two columns: duty, then detail).
Anything else is refused with the line (row) number and the reason; nothing is returned half-read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from hpf.deposits.tabular import decode_text
from hpf.errors import DomainError
from hpf.goals.values import GoalValue, parse_value

FIELDS = (
    "duty_no",
    "duty",
    "duty_detail",
    "objective",
    "name",
    "explanation",
    "target",
    "planned",
    "standard",
    "standard_source",
    "avg_3y",
    "last_year",
    "history_source",
    "activities",
)
VALUE_FIELDS = ("target", "planned", "standard", "avg_3y", "last_year")
LEVELS = FIELDS[:4]
TAIL = FIELDS[4:]
HEADER_KEYS = ("职责序号", "绩效指标", "年度指标值")
_HEADER_PREFIXES = (
    "职责序号",
    "部门职责",
    "职责目标",
    "绩效指标",
    "指标解释",
    "年度指标值",
    "指标参考值",
    "标准值",
    "当年标准值",
    "规划值",
    "来源",
    "历史值",
    "前三年均值",
    "上年值",
    "工作活动",
    "实际完成值",
    "完成率",
    "完成状态",
    "佐证材料",
    "(",
    "（",
)
_TITLE_RE = re.compile(
    r"((?:19|20)\d{2})\s*年度?\s*(.*?)\s*(?:部门预算)?(?:部门)?(?:整体)?绩效目标表"
)
_DUTY_NO_RE = re.compile(r"^[0-9０-９]{1,3}(?:\.0)?$")


class GoalTableError(DomainError):
    """The goal table cannot be read (绩效目标表格式错误); names the line and the reason."""

    code = "goal_table_invalid"

    def __init__(self, line: int, reason_zh: str, reason_en: str) -> None:
        super().__init__(f"第 {line} 行：{reason_zh}", f"line {line}: {reason_en}", code=self.code)
        self.line = line


@dataclass(frozen=True)
class GoalRow:
    """One indicator row (绩效指标) of the table, with the line it came from."""

    line: int
    texts: dict[str, str]
    values: dict[str, GoalValue]

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name in FIELDS:
            out[name] = self.values[name].as_json() if name in VALUE_FIELDS else self.texts[name]
        return out


@dataclass(frozen=True)
class GoalTable:
    """A parsed 绩效目标表."""

    title: str
    year: int
    organisation: str
    rows: tuple[GoalRow, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "year": self.year,
            "organisation": self.organisation,
            "indicators": [r.as_json() for r in self.rows],
        }


Row = tuple[int, list[str]]


def parse_file(data: bytes, filename: str) -> GoalTable:
    """Read a goal table: ``.xlsx`` by name and content, otherwise UTF-8 or GBK text."""
    if filename.lower().endswith(".xlsx") or data.startswith(b"PK\x03\x04"):
        return parse_xlsx(data)
    return parse_text(data)


def parse_text(data: bytes) -> GoalTable:
    """The tab-separated text extraction (UTF-8 or GBK, LF or CRLF)."""
    text = decode_text(data)
    rows = [
        (n, [_clean(c) for c in line.split("\t")]) for n, line in enumerate(text.splitlines(), 1)
    ]
    return _parse(rows, positional=None)


def parse_xlsx(data: bytes) -> GoalTable:
    """The first sheet of a workbook; merged ranges are filled with their top-left value."""
    import openpyxl  # type: ignore[import-untyped]  # only workbooks need it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception:  # zip, XML and openpyxl errors all mean the same to the user
        raise GoalTableError(1, "无法读取 Excel 工作簿", "the workbook cannot be read") from None
    try:
        sheet = book.worksheets[0]
        grid = [[_xlsx_text(c) for c in row] for row in sheet.iter_rows()]
        for merged in sheet.merged_cells.ranges:
            value = grid[merged.min_row - 1][merged.min_col - 1]
            for r in range(merged.min_row - 1, merged.max_row):
                for c in range(merged.min_col - 1, merged.max_col):
                    grid[r][c] = value
    finally:
        book.close()
    rows = [(n, cells) for n, cells in enumerate(grid, 1)]
    return _parse(rows, positional={})


def _xlsx_text(cell: object) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = Decimal(repr(value))
        if "%" in str(getattr(cell, "number_format", "")):
            return f"{_plain(number * 100)}%"
        return _plain(number)
    return _clean(str(value))


def _plain(value: Decimal) -> str:
    return "0" if value == 0 else format(value.normalize(), "f")


def _clean(cell: str) -> str:
    return " ".join(cell.replace("\u3000", " ").split())


def _is_header_cell(cell: str) -> bool:
    return cell.startswith(_HEADER_PREFIXES)


def _parse(rows: Sequence[Row], positional: dict[int, str] | None) -> GoalTable:
    title = ""
    year: int | None = None
    organisation = ""
    in_header = False
    header_seen = False
    header_rows: list[list[str]] = []
    parsed: list[GoalRow] = []
    previous: dict[str, str] = dict.fromkeys(FIELDS, "")
    for line, cells in rows:
        present = [c for c in cells if c]
        if not present:
            continue
        if len(set(present)) == 1 and not header_seen and year is None:
            title, year, organisation = _title(line, present[0])
            continue
        if "职责序号" in present:
            missing = [k for k in HEADER_KEYS if not any(c.startswith(k) for c in present)]
            if missing:
                raise GoalTableError(
                    line, f"表头缺少列：{'、'.join(missing)}", f"header lacks {', '.join(missing)}"
                )
            if in_header:  # a merged header cell repeated down the header rows
                header_rows.append(cells)
            else:
                in_header, header_seen, header_rows = True, True, [cells]
            continue
        if in_header and all(_is_header_cell(c) for c in present):
            header_rows.append(cells)
            continue
        if not header_seen:
            raise GoalTableError(
                line,
                "表头（职责序号、绩效指标、年度指标值…）之前出现了数据行",
                "a data row comes before the header (职责序号, 绩效指标, 年度指标值 …)",
            )
        if in_header and positional is not None:
            positional.clear()
            positional.update(_columns(line, header_rows))
        in_header = False
        if positional is not None:
            texts = _by_columns(line, cells, positional)
        else:
            texts = _by_structure(line, cells)
        if not texts["duty_no"]:  # merged with the rows above: inherit the duty levels
            for name in LEVELS:
                texts[name] = texts[name] or previous[name]
        for name in ("name", "target"):
            if not texts[name]:
                raise GoalTableError(
                    line, f"缺少{_ZH[name]}", f"the row has no {name.replace('_', ' ')}"
                )
        previous = texts
        values = {name: parse_value(texts[name]) for name in VALUE_FIELDS}
        parsed.append(GoalRow(line, texts, values))
    if year is None:
        raise GoalTableError(1, "找不到标题（如“2023年…绩效目标表”）", "no title naming the year")
    if not parsed:
        last = rows[-1][0] if rows else 1
        raise GoalTableError(last, "表中没有绩效指标行", "the table holds no indicator rows")
    return GoalTable(title, year, organisation, tuple(parsed))


_ZH = {"name": "绩效指标名称", "target": "年度指标值"}


def _title(line: int, text: str) -> tuple[str, int, str]:
    title = text.lstrip("#").strip()
    match = _TITLE_RE.search(title)
    if not match:
        raise GoalTableError(
            line,
            f"标题中找不到年度和单位（应如“2023年…绩效目标表”）：{title[:40]}",
            f"the title names no year and organisation: {title[:40]}",
        )
    return title, int(match.group(1)), match.group(2).strip()


def _by_structure(line: int, cells: list[str]) -> dict[str, str]:
    trimmed = list(cells)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    if len(trimmed) == len(FIELDS) and _DUTY_NO_RE.match(trimmed[0]):
        return dict(zip(FIELDS, trimmed, strict=True))
    present = [c for c in trimmed if c]
    if not len(TAIL) <= len(present) <= len(FIELDS):
        raise GoalTableError(
            line,
            f"该行有 {len(present)} 个非空单元格，指标行应有 {len(TAIL)}–{len(FIELDS)} 个"
            "（绩效指标至工作活动的 10 项，加上职责各级）",
            f"the row has {len(present)} non-empty cells; an indicator row has "
            f"{len(TAIL)}–{len(FIELDS)} (the ten from 绩效指标 to 工作活动, plus duty levels)",
        )
    prefix, tail = present[: -len(TAIL)], present[-len(TAIL) :]
    texts = dict.fromkeys(FIELDS, "")
    texts.update(zip(TAIL, tail, strict=True))
    if prefix and _DUTY_NO_RE.match(prefix[0]):
        texts["duty_no"] = prefix[0]
        rest = prefix[1:]
        if rest:
            texts["duty"] = rest[0]
        lower = rest[1:]
        for name, value in zip(LEVELS[4 - len(lower) :], lower, strict=True):
            texts[name] = value
    else:
        for name, value in zip(LEVELS[4 - len(prefix) :], prefix, strict=True):
            texts[name] = value
    return texts


def _columns(line: int, header_rows: list[list[str]]) -> dict[int, str]:
    """Column index → field, from the labels stacked above each column (merges filled)."""
    width = max(len(r) for r in header_rows)
    stacks = [[r[i] for r in header_rows if i < len(r) and r[i]] for i in range(width)]
    out: dict[int, str] = {}
    duty_columns = 0
    for i, stack in enumerate(stacks):
        labels = set(stack)

        def has(prefix: str, labels: set[str] = labels) -> bool:
            return any(x.startswith(prefix) for x in labels)

        name: str | None = None
        if has("职责序号"):
            name = "duty_no"
        elif has("部门职责"):
            name = ("duty", "duty_detail")[min(duty_columns, 1)]
            duty_columns += 1
        elif has("职责目标"):
            name = "objective"
        elif has("绩效指标"):
            name = "name"
        elif has("指标解释"):
            name = "explanation"
        elif has("年度指标值"):
            name = "target"
        elif has("工作活动"):
            name = "activities"
        elif has("规划值"):
            name = "planned"
        elif has("前三年均值"):
            name = "avg_3y"
        elif has("上年值"):
            name = "last_year"
        elif has("来源"):
            name = "history_source" if has("历史值") else "standard_source"
        elif has("标准值") or has("当年标准值"):
            name = "standard"
        if name is not None and name not in out.values():
            out[i] = name
    missing = [f for f in ("duty_no", "name", "target") if f not in out.values()]
    if missing:
        raise GoalTableError(
            line, "无法从表头确定列：" + "、".join(missing), f"no column for {missing}"
        )
    return out


def _by_columns(line: int, cells: list[str], columns: dict[int, str]) -> dict[str, str]:
    texts = dict.fromkeys(FIELDS, "")
    for i, name in columns.items():
        if i < len(cells):
            texts[name] = cells[i]
    return texts
