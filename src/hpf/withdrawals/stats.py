"""Withdrawal statistics (提取统计) by type, branch, month and channel: amount, count, processing
time from application to payment, share handled entirely online (网办率, domain.md §9).

One set-based GROUP BY over paid withdrawals (``paid_on`` within the period); the month is the
month of payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.money import round_half_up
from hpf.withdrawals.models import Withdrawal

DIMENSIONS: dict[str, Any] = {
    "type": Withdrawal.type,
    "branch": Withdrawal.branch_id,
    "month": Withdrawal.paid_month,
    "channel": Withdrawal.channel,
}


@dataclass(frozen=True)
class StatRow:
    """One group: its keys (by dimension name), count, amount and the totals behind the averages."""

    keys: dict[str, Any]
    count: int
    amount_fen: int
    processing_days_total: int
    online: int

    @property
    def average_days(self) -> Decimal:
        """Average days from application to payment, half-up to 0.1 day."""
        return round_half_up(Decimal(self.processing_days_total) / self.count, Decimal("0.1"))

    @property
    def online_share(self) -> Decimal:
        """Share handled entirely online (0..1), half-up to 0.0001."""
        return round_half_up(Decimal(self.online) / self.count, Decimal("0.0001"))


def withdrawal_stats(
    session: Session,
    *,
    start: date,
    end: date,
    by: Sequence[str] = ("type", "branch", "month", "channel"),
    branch_id: int | None = None,
) -> list[StatRow]:
    """Paid withdrawals from ``start`` to ``end`` (payment dates, inclusive), grouped ``by``."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or len(set(by)) != len(by):
        raise InvalidInput(
            f"统计维度无效：{','.join(by)}（可选 type, branch, month, channel）",
            f"bad dimensions: {','.join(by)} (type, branch, month, channel)",
        )
    if end < start:
        raise InvalidInput("结束日期早于开始日期", "the end date is before the start date")
    columns = [DIMENSIONS[d].label(d) for d in by]
    stmt = select(
        *columns,
        func.count().label("n"),
        func.coalesce(func.sum(Withdrawal.amount_fen), 0).label("amount"),
        func.coalesce(func.sum(Withdrawal.processing_days), 0).label("days"),
        func.coalesce(func.sum(case((Withdrawal.fully_online, 1), else_=0)), 0).label("online"),
    ).where(Withdrawal.status == "paid", Withdrawal.paid_on >= start, Withdrawal.paid_on <= end)
    if branch_id is not None:
        stmt = stmt.where(Withdrawal.branch_id == branch_id)
    if columns:
        stmt = stmt.group_by(*[DIMENSIONS[d] for d in by]).order_by(*[DIMENSIONS[d] for d in by])
    out: list[StatRow] = []
    for row in session.execute(stmt):
        mapping = row._mapping
        if not mapping["n"]:
            continue
        out.append(
            StatRow(
                {d: mapping[d] for d in by},
                int(mapping["n"]),
                int(mapping["amount"]),
                int(mapping["days"]),
                int(mapping["online"]),
            )
        )
    return out


HOUSING_TYPES = frozenset({"purchase", "build", "loan_repayment", "rent", "elevator"})
"""住房消费类提取: buying, building or overhauling, loan repayment, rent, elevator retrofit."""


def ledger_amounts_by_type(session: Session, start: date, end: date) -> dict[tuple[str, str], int]:
    """(type, reason code) → amount debited to depositors' accounts by withdrawal journals
    posted from ``start`` to ``end`` (reversals, e.g. of failed payments, net off)."""
    from sqlalchemy import text

    rows = session.execute(
        text(
            "SELECT w.type, w.reason_code, SUM(p.amount) FROM ledger_posting p "
            "JOIN ledger_journal j ON j.id = p.journal_id "
            "JOIN ledger_account a ON a.id = p.account_id "
            "JOIN withdrawal w ON w.journal_id = COALESCE(j.reverses_id, j.id) "
            "WHERE a.subsidiary_kind = 'depositor' AND j.posting_date >= :s "
            "AND j.posting_date <= :e GROUP BY w.type, w.reason_code"
        ),
        {"s": start, "e": end},
    )
    return {(t, r): int(v or 0) for t, r, v in rows}


@dataclass(frozen=True)
class RatioRow:
    """提取率 and the housing-consumption share of one branch and month.

    ``ratio`` = withdrawals paid in the month / contributions of the month (the monthly lists,
    :mod:`hpf.deposits.stats`); ``housing_share`` = housing-consumption withdrawals / all
    withdrawals. Both are fractions half-up to 0.0001, or None when the denominator is zero.
    """

    branch_id: int
    month: date
    withdrawals_fen: int
    housing_fen: int
    contributions_fen: int

    @property
    def ratio(self) -> Decimal | None:
        return _share(self.withdrawals_fen, self.contributions_fen)

    @property
    def housing_share(self) -> Decimal | None:
        return _share(self.housing_fen, self.withdrawals_fen)


def withdrawal_ratios(session: Session, *, start: date, end: date) -> list[RatioRow]:
    """提取率 and housing share by branch and month, from ``start`` to ``end`` (inclusive)."""
    from hpf.deposits.stats import monthly

    paid: dict[tuple[int, date], list[int]] = {}
    for row in withdrawal_stats(session, start=start, end=end, by=("branch", "month", "type")):
        cell = paid.setdefault((row.keys["branch"], row.keys["month"]), [0, 0])
        cell[0] += row.amount_fen
        if row.keys["type"] in HOUSING_TYPES:
            cell[1] += row.amount_fen
    contributed = {
        (m.branch_id, m.month): m.amount_fen
        for m in monthly(session, start.replace(day=1), end.replace(day=1))
    }
    keys = sorted(set(paid) | set(contributed), key=lambda k: (k[1], k[0]))
    out = []
    for b, m in keys:
        withdrawn, housing = paid.get((b, m), [0, 0])
        out.append(RatioRow(b, m, withdrawn, housing, contributed.get((b, m), 0)))
    return out


def _share(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return round_half_up(Decimal(part) / whole, Decimal("0.0001"))
