"""Performance-goal use cases (绩效目标): store an imported table, bind indicators, record
manual actuals with evidence. The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hpf.errors import DomainError, InvalidInput
from hpf.goals import registry
from hpf.goals.models import GoalActual, GoalIndicator, GoalTableRecord
from hpf.goals.parse import FIELDS, GoalRow, GoalTable
from hpf.goals.values import parse_value


class GoalTableNotFound(DomainError):
    """No goal table is stored for the year (未导入该年度绩效目标表)."""

    code = "goal_table_not_found"


@dataclass(frozen=True)
class Stored:
    table: GoalTableRecord
    replaced: bool
    indicators: int


def import_table(session: Session, table: GoalTable, *, source_name: str, actor: str) -> Stored:
    """Store ``table``; an earlier table of the same year and organisation is replaced whole
    (bindings set by hand and manual actuals of indicators with the same name are kept)."""
    old = session.scalar(
        select(GoalTableRecord).where(
            GoalTableRecord.year == table.year, GoalTableRecord.organisation == table.organisation
        )
    )
    kept: dict[str, tuple[str | None, list[GoalActual]]] = {}
    if old is not None:
        for ind in _indicators(session, old.id):
            actuals = list(
                session.scalars(select(GoalActual).where(GoalActual.indicator_id == ind.id))
            )
            kept[ind.name] = (ind.binding, actuals)
            for a in actuals:
                session.expunge(a)
        session.execute(
            delete(GoalActual).where(
                GoalActual.indicator_id.in_(
                    select(GoalIndicator.id).where(GoalIndicator.table_id == old.id)
                )
            )
        )
        session.execute(delete(GoalIndicator).where(GoalIndicator.table_id == old.id))
        session.delete(old)
        session.flush()
    record = GoalTableRecord(
        year=table.year,
        organisation=table.organisation,
        title=table.title,
        source_name=source_name[:255],
        imported_by=actor,
    )
    session.add(record)
    session.flush()
    for seq, row in enumerate(table.rows, 1):
        ind = GoalIndicator(table_id=record.id, seq=seq, line=row.line, **row.texts)
        binding, actuals = kept.get(row.texts["name"], (None, []))
        ind.binding = binding
        session.add(ind)
        session.flush()
        for a in actuals:
            session.add(
                GoalActual(
                    indicator_id=ind.id,
                    as_of=a.as_of,
                    value_text=a.value_text,
                    evidence=a.evidence,
                    recorded_by=a.recorded_by,
                )
            )
    session.flush()
    return Stored(record, old is not None, len(table.rows))


def table_of(session: Session, year: int, organisation: str | None = None) -> GoalTableRecord:
    """The stored table of ``year`` (of ``organisation`` when several are stored)."""
    stmt = select(GoalTableRecord).where(GoalTableRecord.year == year)
    if organisation:
        stmt = stmt.where(GoalTableRecord.organisation == organisation)
    rows = list(session.scalars(stmt.order_by(GoalTableRecord.id)))
    if not rows:
        raise GoalTableNotFound(
            f"未导入 {year} 年度绩效目标表（hpf goals import FILE）",
            f"no goal table for {year}; import one with hpf goals import FILE",
        )
    if len(rows) > 1:
        names = "、".join(r.organisation for r in rows)
        raise InvalidInput(
            f"{year} 年有多个单位的目标表（{names}），请指定 --organisation",
            f"several organisations have a {year} table ({names}); give --organisation",
        )
    return rows[0]


def _indicators(session: Session, table_id: int) -> list[GoalIndicator]:
    return list(
        session.scalars(
            select(GoalIndicator)
            .where(GoalIndicator.table_id == table_id)
            .order_by(GoalIndicator.seq)
        )
    )


def indicators(session: Session, table: GoalTableRecord) -> list[GoalIndicator]:
    return _indicators(session, table.id)


def as_table(session: Session, table: GoalTableRecord) -> GoalTable:
    """The stored table as parsed rows again (values re-read from the cells as written)."""
    rows = tuple(_row(i) for i in indicators(session, table))
    return GoalTable(table.title, table.year, table.organisation, rows)


def _row(ind: GoalIndicator) -> GoalRow:
    texts = {name: str(getattr(ind, name)) for name in FIELDS}
    from hpf.goals.parse import VALUE_FIELDS

    return GoalRow(ind.line, texts, {n: parse_value(texts[n]) for n in VALUE_FIELDS})


def find_indicator(session: Session, table: GoalTableRecord, ref: str) -> GoalIndicator:
    """An indicator by its number in the table (1, 2 …) or its exact name."""
    rows = indicators(session, table)
    ref = ref.strip()
    for ind in rows:
        if (ref.isdigit() and ind.seq == int(ref)) or ind.name == ref:
            return ind
    raise InvalidInput(
        f"{table.year} 年目标表中没有指标 {ref}（请用序号 1–{len(rows)} 或指标名称）",
        f"no indicator {ref} in the {table.year} table (use 1–{len(rows)} or the name)",
    )


def binding_code(ind: GoalIndicator) -> str:
    """The binding set by hand, else the one recognised from the name and explanation."""
    return ind.binding or registry.recognise(ind.name, ind.explanation)


def set_binding(session: Session, ind: GoalIndicator, code: str | None) -> str:
    """Bind an indicator by hand (``None`` or ``auto``: back to recognition)."""
    if code in (None, "", "auto"):
        ind.binding = None
    else:
        ind.binding = registry.binding(code).code
    session.flush()
    return binding_code(ind)


def record_actual(
    session: Session, ind: GoalIndicator, value_text: str, evidence: str, *, as_of: date, actor: str
) -> GoalActual:
    """Record an actual entered by hand with its evidence (佐证); a quantitative target needs
    a value of the same kind (an amount for an amount …)."""
    if not evidence.strip():
        raise InvalidInput("请提供佐证材料说明 --evidence", "evidence is required (--evidence)")
    target = parse_value(ind.target)
    value = parse_value(value_text)
    if target.kind in ("amount", "count", "ratio") and value.kind != target.kind:
        raise InvalidInput(
            f"实际值 {value_text!r} 与目标值 {ind.target!r} 类型不符（应为{_KIND_ZH[target.kind]}）",
            f"actual {value_text!r} does not match the target's kind ({target.kind})",
        )
    row = GoalActual(
        indicator_id=ind.id,
        as_of=as_of,
        value_text=value_text.strip(),
        evidence=evidence.strip(),
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    return row


_KIND_ZH = {"amount": "金额，如 85亿元", "count": "数量，如 5万人", "ratio": "比例，如 90%"}


def latest_actual(session: Session, ind: GoalIndicator, as_of: date) -> GoalActual | None:
    """The last actual entered by hand on or before ``as_of``."""
    return session.scalar(
        select(GoalActual)
        .where(GoalActual.indicator_id == ind.id, GoalActual.as_of <= as_of)
        .order_by(GoalActual.as_of.desc(), GoalActual.id.desc())
        .limit(1)
    )
