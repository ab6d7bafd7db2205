"""E-audit use cases (电子稽核): the monthly run, the life of a suspicious item, the indicator.

A run of month M walks :data:`hpf.eaudit.rules.RULES`; each rule's findings become items unique
per (month, rule, object), so running M again records only what is new (idempotent). Items are
assigned, explained (情况说明) or rectified (整改), and closed with evidence by ``due_on``.
Nothing here commits. domain.md §9 (建办金函〔2019〕297号).

The e-audit indicator (domain.md is silent on its formula; hpf's convention): for a period of
months, months run = months in which every rule ran; on-time closure rate = items closed no later
than their deadline / items whose deadline has passed or that were closed (both as of a day).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.principal import Principal
from hpf.dates import add_months
from hpf.eaudit.context import AuditContext, AuditParams
from hpf.eaudit.models import AuditRun, SuspiciousItem
from hpf.eaudit.rules import RULES, Rule
from hpf.errors import DomainError, InvalidInput
from hpf.policy.loader import Policy

STATUS_NAMES: dict[str, tuple[str, str]] = {
    "open": ("待分派", "open"),
    "assigned": ("核查中", "assigned"),
    "explained": ("已说明", "explained"),
    "rectified": ("已整改", "rectified"),
    "closed": ("已销号", "closed"),
}


class ItemNotFound(DomainError):
    code = "eaudit_item_not_found"


class ItemStateError(DomainError):
    code = "eaudit_item_state"


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    found: int
    new: int


def run_month(
    session: Session,
    month: date,
    policy: Policy,
    *,
    on: date,
    actor: Principal | None = None,
    rules: Sequence[Rule] = RULES,
    params: AuditParams | None = None,
    now: datetime | None = None,
    on_rule: Callable[[RuleOutcome], None] | None = None,
) -> list[RuleOutcome]:
    """Run ``rules`` over ``month`` (its first day); record new items due ``on`` + deadline.

    The thresholds are the policy's in force on ``on`` (:meth:`AuditParams.from_policy`) unless
    ``params`` are given.
    """
    month = month.replace(day=1)
    if month > on:
        raise InvalidInput(f"不能稽核未来的月份：{month:%Y-%m}", "cannot audit a future month")
    ctx = AuditContext(month, policy, params or AuditParams.from_policy(policy, on))
    at = now or datetime.now(UTC)
    due = on + timedelta(days=ctx.params.item_deadline_days)
    outcomes = []
    for rule in rules:
        findings = rule.check(session, ctx)
        known = set(
            session.scalars(
                select(SuspiciousItem.object_ref).where(
                    SuspiciousItem.month == month, SuspiciousItem.rule_code == rule.code
                )
            )
        )
        new = 0
        for f in findings:
            if f.object_ref in known:
                continue
            known.add(f.object_ref)
            session.add(
                SuspiciousItem(
                    month=month,
                    rule_code=rule.code,
                    object_type=f.object_type,
                    object_ref=f.object_ref[:80],
                    branch_id=f.branch_id,
                    summary=f.summary[:300],
                    evidence=json.dumps(f.evidence, ensure_ascii=False, sort_keys=True),
                    status="open",
                    found_on=on,
                    due_on=due,
                    assignee="",
                    response="",
                    close_evidence="",
                    closed_by="",
                )
            )
            new += 1
        run = session.scalar(
            select(AuditRun).where(AuditRun.month == month, AuditRun.rule_code == rule.code)
        )
        if run is None:
            session.add(
                AuditRun(
                    month=month,
                    rule_code=rule.code,
                    ran_at=at,
                    ran_on=on,
                    found=len(findings),
                    runs=1,
                )
            )
        else:
            run.ran_at, run.ran_on, run.found, run.runs = at, on, len(findings), run.runs + 1
        session.flush()
        outcome = RuleOutcome(rule, len(findings), new)
        outcomes.append(outcome)
        if on_rule is not None:
            on_rule(outcome)
    audit.record(
        session,
        actor=actor,
        action="eaudit.run",
        object_type="eaudit_month",
        object_id=f"{month:%Y-%m}",
        detail={"rules": len(outcomes), "new": sum(o.new for o in outcomes)},
        now=at,
    )
    return outcomes


def get_item(session: Session, item_id: int) -> SuspiciousItem:
    row = session.get(SuspiciousItem, item_id, with_for_update=True)
    if row is None:
        raise ItemNotFound(f"疑点不存在：{item_id}", f"no such suspicious item: {item_id}")
    return row


def list_items(
    session: Session,
    *,
    month: date | None = None,
    status: str | None = None,
    rule_code: str | None = None,
) -> list[SuspiciousItem]:
    stmt = select(SuspiciousItem).order_by(SuspiciousItem.id)
    if month is not None:
        stmt = stmt.where(SuspiciousItem.month == month.replace(day=1))
    if status is not None:
        stmt = stmt.where(SuspiciousItem.status == status)
    if rule_code is not None:
        stmt = stmt.where(SuspiciousItem.rule_code == rule_code)
    return list(session.scalars(stmt))


def _state(row: SuspiciousItem, allowed: tuple[str, ...], verb_zh: str, verb_en: str) -> None:
    if row.status not in allowed:
        zh, en = STATUS_NAMES[row.status]
        raise ItemStateError(
            f"疑点 {row.id} 状态为{zh}，不能{verb_zh}", f"item {row.id} is {en}: cannot {verb_en}"
        )


def assign(
    session: Session,
    item_id: int,
    assignee: str,
    on: date,
    actor: Principal | None = None,
    *,
    now: datetime | None = None,
) -> SuspiciousItem:
    """分派 an item to the person who must explain or rectify it."""
    row = get_item(session, item_id)
    _state(row, ("open", "assigned"), "分派", "assign it")
    if not assignee.strip():
        raise InvalidInput("承办人不能为空", "the assignee is required")
    row.assignee, row.assigned_on, row.status = assignee.strip()[:100], on, "assigned"
    _audit(session, actor, "eaudit.assign", row, {"assignee": row.assignee}, now)
    return row


def respond(
    session: Session,
    item_id: int,
    *,
    rectified: bool,
    text: str,
    on: date,
    actor: Principal | None = None,
    now: datetime | None = None,
) -> SuspiciousItem:
    """情况说明 (the data is right, here is why) or 整改 (the data was wrong and was corrected)."""
    row = get_item(session, item_id)
    _state(row, ("open", "assigned", "explained", "rectified"), "反馈", "respond")
    if not text.strip():
        raise InvalidInput("说明或整改情况不能为空", "the explanation or rectification is required")
    row.response = text.strip()
    row.responded_on = on
    row.status = "rectified" if rectified else "explained"
    _audit(session, actor, f"eaudit.{row.status}", row, {}, now)
    return row


def close(
    session: Session,
    item_id: int,
    *,
    evidence: str,
    on: date,
    actor: Principal | None = None,
    now: datetime | None = None,
) -> SuspiciousItem:
    """销号: close an explained or rectified item with the evidence that settles it."""
    row = get_item(session, item_id)
    _state(
        row,
        ("explained", "rectified"),
        "销号（须先说明或整改）",
        "close it (explain or rectify first)",
    )
    if not evidence.strip():
        raise InvalidInput("销号须提供佐证材料", "closing needs evidence")
    if on < row.found_on:
        raise InvalidInput("销号日期早于发现日期", "closed before it was found")
    row.close_evidence = evidence.strip()
    row.closed_on = on
    row.closed_by = (actor.login_name if actor else "system")[:100]
    row.status = "closed"
    _audit(session, actor, "eaudit.close", row, {"on_time": on <= row.due_on}, now)
    return row


def _audit(
    session: Session,
    actor: Principal | None,
    action: str,
    row: SuspiciousItem,
    detail: dict[str, object],
    now: datetime | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="eaudit_item",
        object_id=row.id,
        detail={"rule": row.rule_code, **detail},
        now=now,
    )


@dataclass(frozen=True)
class EauditIndicator:
    """The e-audit indicator for months ``first``..``last`` as of ``as_of``."""

    first: date
    last: date
    months: int
    months_run: int
    items: int
    items_due: int
    closed_on_time: int
    closed_late: int
    open_overdue: int

    @property
    def run_rate(self) -> Decimal | None:
        return Decimal(self.months_run) / Decimal(self.months) if self.months else None

    @property
    def on_time_rate(self) -> Decimal | None:
        return Decimal(self.closed_on_time) / Decimal(self.items_due) if self.items_due else None


def indicator(
    session: Session, first: date, last: date, as_of: date, rules: Sequence[Rule] = RULES
) -> EauditIndicator:
    """Months fully run and items closed on time, for items found in months ``first``..``last``."""
    first, last = first.replace(day=1), last.replace(day=1)
    if last < first:
        raise InvalidInput("结束月份早于开始月份", "the last month is before the first")
    months = 0
    m = first
    while m <= last:
        months, m = months + 1, add_months(m, 1)
    codes = [r.code for r in rules]
    per_month = (
        select(AuditRun.month)
        .where(AuditRun.month >= first, AuditRun.month <= last, AuditRun.rule_code.in_(codes))
        .group_by(AuditRun.month)
        .having(func.count(func.distinct(AuditRun.rule_code)) == len(codes))
        .subquery()
    )
    months_run = int(session.scalar(select(func.count()).select_from(per_month)) or 0)
    closed = and_(SuspiciousItem.status == "closed", SuspiciousItem.closed_on <= as_of)
    on_time = and_(closed, SuspiciousItem.closed_on <= SuspiciousItem.due_on)
    due = or_(closed, SuspiciousItem.due_on < as_of)

    def n(cond: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    items, items_due, ok, late, overdue = session.execute(
        select(
            func.count(),
            n(due),
            n(on_time),
            n(and_(closed, SuspiciousItem.closed_on > SuspiciousItem.due_on)),
            n(and_(~closed, SuspiciousItem.due_on < as_of)),
        ).where(SuspiciousItem.month >= first, SuspiciousItem.month <= last)
    ).one()
    return EauditIndicator(
        first,
        last,
        months,
        months_run,
        int(items),
        int(items_due),
        int(ok),
        int(late),
        int(overdue),
    )
