"""The self-evaluation report (绩效自评表): each indicator's target, actual from its binding
(or entered by hand), completion, full-year projection, status and evidence, compared with
the history values of the table. ``evaluate`` gives JSON-ready data; ``write_xlsx`` writes
the input's layout with the actual columns added. docs/goals.md.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hpf.goals import evaluation, registry, service
from hpf.goals.models import GoalIndicator
from hpf.goals.parse import FIELDS, GoalTable
from hpf.goals.sources import Actual, NoDataSource, Period
from hpf.goals.values import GoalValue, parse_value, plain
from hpf.money import round_half_up
from hpf.policy.loader import Policy
from hpf.tabular_safety import neutralise


def evaluate(
    session: Session,
    year: int,
    *,
    as_of: date,
    policy: Policy,
    organisation: str | None = None,
) -> dict[str, Any]:
    """The 绩效自评 of ``year`` as of ``as_of`` (actuals over January 1 … ``as_of``)."""
    table = service.table_of(session, year, organisation)
    end = min(as_of, date(year, 12, 31))
    period = Period(year, end, policy)
    out = []
    for ind in service.indicators(session, table):
        out.append(_indicator(session, ind, period))
    return {
        "year": year,
        "organisation": table.organisation,
        "title": table.title,
        "as_of": end.isoformat(),
        "complete": period.complete,
        "indicators": out,
    }


def _indicator(session: Session, ind: GoalIndicator, period: Period) -> dict[str, Any]:
    target = parse_value(ind.target)
    code = service.binding_code(ind)
    bound = registry.binding(code)
    source = "computed"
    try:
        actual = bound.compute(session, period)
    except NoDataSource as missing:
        actual, source = _manual(session, ind, target, period, missing.message_zh)
    else:
        if actual.value is None and actual.met is None:  # the source holds no records
            fallback, how = _manual(session, ind, target, period, actual.evidence)
            if how == "manual":
                actual, source = fallback, how
    value = actual.value if target.kind != "text" else None
    met = actual.met
    if (
        met is None
        and target.kind in ("text", "none")
        and actual.value is None
        and source == "manual"
    ):
        met = evaluation.judge_text(actual.text, target)
    projected = evaluation.project(value, bound.projection, period.year, period.end)
    status = evaluation.status(
        target,
        value,
        met,
        projected,
        complete=period.complete,
        cumulative=bound.projection == "linear",
    )
    done = evaluation.completion(target, value, met)
    return {
        "seq": ind.seq,
        "duty_no": ind.duty_no,
        "name": ind.name,
        "binding": code,
        "source": source,
        "target": target.as_json(),
        "actual": {"value": _plain(value), "text": actual.text},
        "projection": _plain(projected),
        "completion": _plain(done),
        "status": status,
        "status_en": evaluation.STATUS_EN[status],
        "met": met,
        "evidence": actual.evidence,
        "history": _history(ind, projected),
    }


def _manual(
    session: Session, ind: GoalIndicator, target: GoalValue, period: Period, why: str
) -> tuple[Actual, str]:
    row = service.latest_actual(session, ind, period.end)
    if row is None:
        return Actual(None, "无数据（请手工录入）no data", why), "none"
    v = parse_value(row.value_text)
    value = v.value if target.kind in ("amount", "count", "ratio") else None
    met = None if value is not None else evaluation.judge_text(row.value_text, target)
    evidence = f"{row.evidence}（{row.as_of.isoformat()} {row.recorded_by} 录入）"
    return Actual(value, row.value_text, evidence, met), "manual"


def _history(ind: GoalIndicator, projected: Decimal | None) -> dict[str, Any]:
    avg, last = parse_value(ind.avg_3y), parse_value(ind.last_year)
    out: dict[str, Any] = {"avg_3y": avg.as_json(), "last_year": last.as_json()}
    if projected is not None and last.value is not None:
        out["vs_last_year"] = _plain(projected - last.value)
        if last.value and last.kind in ("amount", "count"):
            out["growth_vs_last_year"] = _plain(
                round_half_up(projected / last.value - 1, evaluation.PLACES)
            )
    if projected is not None and avg.value is not None:
        out["vs_avg_3y"] = _plain(projected - avg.value)
    return out


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


# --- the workbook -----------------------------------------------------------------------

ACTUAL_HEADERS = ("实际完成值", "完成率", "完成状态", "佐证材料")
_HEAD_ROWS = 4  # rows 2–5 under the title


def write_xlsx(table: GoalTable, report: dict[str, Any] | None, path: Path) -> None:
    """The goal table in its own layout (title, four header rows, merged duty cells), with the
    actual columns added when ``report`` is given."""
    import openpyxl  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment  # type: ignore[import-untyped]

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = f"{table.year}绩效自评" if report else f"{table.year}绩效目标"
    extra = ACTUAL_HEADERS if report else ()
    width = len(FIELDS) + len(extra)
    sheet.cell(1, 1, neutralise(table.title))
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)

    def put(row: int, col: int, text: str, rows: int = 1, cols: int = 1) -> None:
        sheet.cell(row, col, text)
        if rows > 1 or cols > 1:
            sheet.merge_cells(
                start_row=row, start_column=col, end_row=row + rows - 1, end_column=col + cols - 1
            )

    top = 2
    for col, text in (
        (1, "职责序号"),
        (4, "职责目标"),
        (5, "绩效指标"),
        (6, "指标解释"),
        (7, "年度指标值"),
        (14, "工作活动"),
    ):
        put(top, col, text, rows=_HEAD_ROWS)
    put(top, 2, "部门职责", rows=_HEAD_ROWS, cols=2)
    put(top, 8, "指标参考值", cols=6)
    put(top + 1, 8, "标准值 (规划目标、行业标准或其他明确标准)", cols=3)
    put(top + 1, 11, "历史值 (统计年鉴/统计公报/内部统计/其他需明确的来源)", cols=3)
    put(top + 2, 8, "规划值", rows=2)
    put(top + 2, 9, "当年标准值", cols=2)
    put(top + 3, 9, "标准值")
    put(top + 3, 10, "来源")
    put(top + 2, 11, "前三年均值", rows=2)
    put(top + 2, 12, "上年值", rows=2)
    put(top + 2, 13, "来源", rows=2)
    for k, text in enumerate(extra):
        put(top, len(FIELDS) + 1 + k, text, rows=_HEAD_ROWS)  # fmt: skip

    first = top + _HEAD_ROWS
    by_seq = {i["seq"]: i for i in (report or {}).get("indicators", [])}
    for n, row in enumerate(table.rows):
        r = first + n
        for c, name in enumerate(FIELDS, 1):
            sheet.cell(r, c, neutralise(row.texts[name]))
        got = by_seq.get(n + 1)
        if got is not None:
            done = got["completion"]
            pct = f"{(Decimal(done) * 100).quantize(Decimal('0.01'))}%" if done else ""
            values = (got["actual"]["text"], pct, got["status"], got["evidence"])
            for k, text in enumerate(values):
                sheet.cell(r, len(FIELDS) + 1 + k, neutralise(text))
    _merge_runs(sheet, table, first)
    for row in sheet.iter_rows(min_row=1, max_row=sheet.max_row):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    book.save(path)


def _merge_runs(sheet: Any, table: GoalTable, first: int) -> None:
    """Merge the duty cells down runs of rows of the same duty (as the printed table does)."""
    for col in range(1, 5):
        start = 0
        keys = [tuple(r.texts[f] for f in FIELDS[:col]) for r in table.rows]
        for n in range(1, len(keys) + 1):
            if n == len(keys) or keys[n] != keys[start]:
                if n - start > 1:
                    sheet.merge_cells(
                        start_row=first + start,
                        start_column=col,
                        end_row=first + n - 1,
                        end_column=col,
                    )
                start = n
