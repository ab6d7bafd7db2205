"""The leadership cockpit's data (领导驾驶舱): the goal table's self-evaluation and monthly trends.

The indicators are :func:`hpf.goals.report.evaluate` — the same data ``hpf goals report --json``
prints. The monthly trends of the money and count indicators (contributions, new depositors,
withdrawals, loans issued) come from the monthly summaries of those areas, for the whole centre
or one branch (drill-down), with the same months of the year before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.principal import Principal
from hpf.dates import month_end
from hpf.deposits import stats as deposit_stats
from hpf.errors import InvalidInput
from hpf.goals import report
from hpf.goals.models import GoalTableRecord
from hpf.loans.models import Loan
from hpf.money import FEN_PER_YUAN
from hpf.org.models import OrgUnit
from hpf.policy.loader import Policy
from hpf.web.i18n import _ as N_
from hpf.web.withdrawals import today
from hpf.withdrawals.stats import withdrawal_stats

TREND_TITLES = {
    "contributions": N_("Contributions by month (10,000 yuan)"),
    "new_depositors": N_("New depositors by month"),
    "withdrawals": N_("Withdrawals by month (10,000 yuan)"),
    "loans_issued": N_("Loans issued by month (10,000 yuan)"),
}
"""The bindings drawn as a monthly trend, with their chart titles."""
MONEY = frozenset({"contributions", "withdrawals", "loans_issued"})
STATUS_STYLES = {"达成": "success", "进度正常": "primary", "有风险": "warning", "未达成": "danger"}
STATUS_LABELS = {
    "达成": N_("Achieved"),
    "进度正常": N_("On track"),
    "有风险": N_("At risk"),
    "未达成": N_("Not achieved"),
}
SOURCE_LABELS = {
    "computed": N_("Computed from the books"),
    "manual": N_("Entered by hand"),
    "none": N_("No data"),
}
WAN = Decimal(10_000)


def years(session: Session) -> list[int]:
    """The years with an imported goal table, latest first."""
    return sorted(set(session.scalars(select(GoalTableRecord.year))), reverse=True)


def as_of_of(year: int) -> date:
    """The day the report reads up to: today, or December 31 of a past year (as the CLI)."""
    return min(today(), date(year, 12, 31))


def evaluate(session: Session, year: int, policy: Policy, as_of: date | None = None) -> Any:
    """:func:`hpf.goals.report.evaluate` as of ``as_of`` (default :func:`as_of_of`)."""
    if as_of is not None and as_of < date(year, 1, 1):
        raise InvalidInput(f"截至日期早于 {year} 年", f"the as-of date is before {year}")
    return report.evaluate(session, year, as_of=as_of or as_of_of(year), policy=policy)


def branches(session: Session, principal: Principal) -> list[OrgUnit]:
    """The branches the principal may drill down to (all for whole-centre staff)."""
    rows = session.scalars(select(OrgUnit).where(OrgUnit.kind == "branch").order_by(OrgUnit.code))
    return [b for b in rows if principal.whole_center or b.id == principal.branch_id]


def branch_scope(principal: Principal, asked: int | None, allowed: list[OrgUnit]) -> int | None:
    """The branch to show: the one asked for when visible; staff of one branch see only theirs."""
    ids = {b.id for b in allowed}
    if not principal.whole_center:
        return principal.branch_id
    return asked if asked in ids else None


@dataclass(frozen=True)
class Trend:
    binding: str
    months: list[str]
    this_year: list[float]
    last_year: list[float]

    @property
    def total(self) -> float:
        return sum(self.this_year)


def _months(year: int, last_month: int) -> list[date]:
    return [date(year, m, 1) for m in range(1, last_month + 1)]


def _series(
    session: Session, binding: str, year: int, months: int, branch: int | None
) -> list[float]:
    """One year's monthly figures (10,000 yuan for money, units for counts), months 1 … ``months``."""
    first, last = date(year, 1, 1), date(year, months, 1)
    by_month: dict[int, int] = {}
    if binding in ("contributions", "new_depositors"):
        for r in deposit_stats.monthly(session, first, last, branch_id=branch):
            value = r.amount_fen if binding == "contributions" else r.new_depositors
            by_month[r.month.month] = by_month.get(r.month.month, 0) + value
    elif binding == "withdrawals":
        end = month_end(last)
        for s in withdrawal_stats(session, start=first, end=end, by=("month",), branch_id=branch):
            if s.keys["month"] is not None:
                m = _month_of(s.keys["month"])
                by_month[m] = by_month.get(m, 0) + s.amount_fen
    else:  # loans_issued
        stmt = (
            select(Loan.disbursed_month, func.sum(Loan.principal_fen))
            .where(Loan.disbursed_month >= first, Loan.disbursed_month <= last)
            .group_by(Loan.disbursed_month)
        )
        if branch is not None:
            stmt = stmt.where(Loan.branch_id == branch)
        for month, amount in session.execute(stmt):
            m = _month_of(month)
            by_month[m] = by_month.get(m, 0) + int(amount or 0)
    out: list[float] = []
    for m in range(1, months + 1):
        figure = Decimal(by_month.get(m, 0))
        if binding in MONEY:
            figure = figure / FEN_PER_YUAN / WAN
        out.append(float(round(figure, 2)))
    return out


def _month_of(value: object) -> int:
    return (value if isinstance(value, date) else date.fromisoformat(str(value))).month


def trends(
    session: Session, year: int, as_of: date, bindings: list[str], branch: int | None
) -> list[Trend]:
    """The monthly trends of ``bindings`` (those of :data:`TREND_TITLES`), January … ``as_of``."""
    months = as_of.month if as_of.year == year else 12
    labels = [f"{m:%Y-%m}" for m in _months(year, months)]
    out: list[Trend] = []
    for binding in bindings:
        if binding in TREND_TITLES and binding not in {t.binding for t in out}:
            out.append(
                Trend(
                    binding,
                    labels,
                    _series(session, binding, year, months, branch),
                    _series(session, binding, year - 1, months, branch),
                )
            )
    return out


def percent(fraction: str | None) -> str:
    """``"0.935"`` → ``"93.50%"``; empty when there is no figure."""
    if fraction is None:
        return ""
    return f"{(Decimal(fraction) * 100).quantize(Decimal('0.01'))}%"


def bar(fraction: str | None) -> int:
    """The completion bar's width: tens of percent, 0 … 100."""
    if fraction is None:
        return 0
    return max(0, min(100, round(Decimal(fraction) * 10) * 10))


def figure(value: str | None, binding: str) -> str:
    """A projection for a card: money in 万元 (two places), counts as they are."""
    if value is None:
        return ""
    if binding in MONEY:
        return f"{(Decimal(value) / WAN).quantize(Decimal('0.01'))}万元"
    return f"{Decimal(value).quantize(Decimal(1))}"
