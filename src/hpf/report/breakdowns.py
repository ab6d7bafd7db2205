"""Social and economic benefit breakdowns (社会经济效益) of the annual report, domain.md §8.

The national annual report (全国住房公积金年度报告) gives, for the year, the paying and the new
depositors by employer type, withdrawals by reason and by housing / other consumption, and the
personal housing loans issued by first / second home, floor area, borrower income and borrower
age. Each breakdown here is one set-based query (GROUP BY) over the year; field definitions
and boundaries: docs/annual-report.md.

Boundaries (every band closed on its upper end):
- floor area: ≤ 90 m² | > 90 and ≤ 144 m² | > 144 m² (so 90 is in the first band, 144 in
  the second);
- borrower age on the disbursement day, in completed years: ≤ 30 | 31–40 | 41–50 | ≥ 51
  (30岁及以下 / 30–40岁 / 40–50岁 / 50岁以上; 30 exactly is "30岁及以下");
- borrower income: the monthly contribution base of the borrower's latest posted monthly
  list for a month on or before the application day (the wage the limit check reads, domain.md
  §6); high income (高收入) when base × 12 ≥ 3 × the average annual wage of the contribution
  policy entry in force on the disbursement day, i.e. base × 4 ≥ average annual wage (exactly
  3× is high income).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.deposits.rules import EMPLOYER_TYPES
from hpf.money import format_yuan
from hpf.policy.loader import Policy
from hpf.policy.schema import ContributionEntry
from hpf.report import indicators as ind

HOME = {"first": ("首套住房", "first home"), "second": ("二套及以上住房", "second home or later")}
FLOOR_AREA = {
    "upto_90": ("90㎡（含）以下", "90 m² or less"),
    "90_144": ("90–144㎡（含）", "over 90 to 144 m²"),
    "over_144": ("144㎡以上", "over 144 m²"),
}
INCOME = {
    "below_3x": ("中、低收入（低于上年平均工资3倍）", "middle and low (below 3× average wage)"),
    "at_least_3x": ("高收入（不低于上年平均工资3倍）", "high (at least 3× average wage)"),
}
AGE = {
    "upto_30": ("30岁（含）以下", "30 or younger"),
    "31_40": ("30–40岁（含）", "31 to 40"),
    "41_50": ("40–50岁（含）", "41 to 50"),
    "over_50": ("50岁以上", "over 50"),
}
PURPOSE = {
    "housing_consumption": ("住房消费类", "housing consumption"),
    "non_housing": ("非住房消费类", "other"),
}

_PAYING_BY_TYPE = (
    "SELECT e.employer_type, COUNT(*) FROM ("
    "SELECT l.depositor_id, r.employer_id, ROW_NUMBER() OVER (PARTITION BY l.depositor_id "
    "ORDER BY r.posted_on DESC, r.id DESC) AS k "
    "FROM deposit_remittance r JOIN deposit_remittance_line l ON l.remittance_id = r.id "
    "WHERE r.status = 'posted' AND r.kind = 'remittance' AND r.posted_on >= :s "
    "AND r.posted_on <= :e AND l.employer_fen + l.employee_fen <> 0) t "
    "JOIN deposit_employer e ON e.id = t.employer_id WHERE t.k = 1 GROUP BY e.employer_type"
)
"""Paying depositors (实缴职工) by the type of the employer of their last list of the year."""

_NEW_BY_TYPE = (
    "SELECT COALESCE(e.employer_type, 'other'), COUNT(*) FROM deposit_depositor d "
    "LEFT JOIN deposit_employer e ON e.id = COALESCE(("
    "SELECT r.employer_id FROM deposit_remittance_line l "
    "JOIN deposit_remittance r ON r.id = l.remittance_id "
    "WHERE l.depositor_id = d.id AND r.status = 'posted' "
    "ORDER BY r.posted_on, r.id LIMIT 1), d.employer_id) "
    "WHERE d.first_contribution_month >= :s AND d.first_contribution_month <= :e "
    "GROUP BY COALESCE(e.employer_type, 'other')"
)
"""New depositors (新开户职工: first contribution in the year) by the type of the employer of
their first posted list."""

_CONTRIBUTIONS_BY_TYPE = (
    "SELECT e.employer_type, SUM(r.total_fen) FROM deposit_remittance r "
    "JOIN deposit_employer e ON e.id = r.employer_id WHERE r.status = 'posted' "
    "AND r.posted_on >= :s AND r.posted_on <= :e GROUP BY e.employer_type"
)
"""Contributions (缴存额: 汇缴 and 补缴 lists posted in the year) by employer type."""


def _yyyymmdd(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"CAST(to_char({column}, 'YYYYMMDD') AS INTEGER)"
    return f"CAST(strftime('%Y%m%d', {column}) AS INTEGER)"


def _wage_case(entries: Iterable[ContributionEntry]) -> tuple[str, dict[str, Any]]:
    """CASE giving the average annual wage (fen) in force on ``l.disbursed_on``."""
    ordered = sorted(entries, key=lambda entry: entry.effective)
    params: dict[str, Any] = {}
    whens = []
    for n, entry in enumerate(reversed(ordered)):
        params[f"we{n}"] = entry.effective
        params[f"wv{n}"] = entry.average_annual_wage_fen()
        whens.append(f"WHEN l.disbursed_on >= :we{n} THEN :wv{n}")
    params["wv_first"] = ordered[0].average_annual_wage_fen()
    return f"CASE {' '.join(whens)} ELSE :wv_first END", params


def _loan_query(dialect: str, wage_case: str) -> str:
    age = f"({_yyyymmdd(dialect, 'l.disbursed_on')} - {_yyyymmdd(dialect, 'd.birth_date')}) / 10000"
    income = (
        "COALESCE((SELECT rl.base_fen FROM deposit_remittance_line rl "
        "JOIN deposit_remittance r ON r.id = rl.remittance_id "
        "WHERE rl.depositor_id = l.depositor_id AND r.status = 'posted' "
        "AND r.kind = 'remittance' AND r.month <= l.applied_on "
        "ORDER BY r.month DESC, r.id DESC LIMIT 1), d.base_fen)"
    )
    return (
        "SELECT home, area, income, age, COUNT(*), SUM(principal_fen) FROM (SELECT "
        "CASE WHEN l.second_home THEN 'second' ELSE 'first' END AS home, "
        "CASE WHEN l.area_m2 <= 90 THEN 'upto_90' WHEN l.area_m2 <= 144 THEN '90_144' "
        "ELSE 'over_144' END AS area, "
        f"CASE WHEN {income} * 4 >= {wage_case} THEN 'at_least_3x' ELSE 'below_3x' END "
        "AS income, "
        f"CASE WHEN {age} <= 30 THEN 'upto_30' WHEN {age} <= 40 THEN '31_40' "
        f"WHEN {age} <= 50 THEN '41_50' ELSE 'over_50' END AS age, l.principal_fen "
        "FROM loan l JOIN deposit_depositor d ON d.id = l.depositor_id "
        "WHERE l.disbursed_on >= :s AND l.disbursed_on <= :e) t "
        "GROUP BY home, area, income, age"
    )


def _counted(codes: Iterable[str], counts: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    full = {code: int(counts.get(code, 0)) for code in codes}
    shares = ind.shares(full)
    return {k: {"count": v, "share": ind.text(shares[k])} for k, v in full.items()}


def _amounts(codes: Iterable[str], amounts: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    full = {code: int(amounts.get(code, 0)) for code in codes}
    shares = ind.shares(full)
    return {k: {"amount": format_yuan(v), "share": ind.text(shares[k])} for k, v in full.items()}


def _loans(codes: Iterable[str], n: Mapping[str, int], fen: Mapping[str, int]) -> dict[str, Any]:
    counts = {code: n.get(code, 0) for code in codes}
    amounts = {code: fen.get(code, 0) for code in codes}
    count_shares, amount_shares = ind.shares(counts), ind.shares(amounts)
    return {
        code: {
            "count": counts[code],
            "amount": format_yuan(amounts[code]),
            "share": ind.text(count_shares[code]),
            "amount_share": ind.text(amount_shares[code]),
        }
        for code in counts
    }


def loan_breakdowns(session: Session, start: date, end: date, policy: Policy) -> dict[str, Any]:
    """Loans disbursed from ``start`` to ``end`` by home, floor area, income and age band."""
    entries = [e for e in policy.history("contribution") if isinstance(e, ContributionEntry)]
    wage_case, params = _wage_case(entries)
    dialect = session.get_bind().dialect.name
    rows = session.execute(text(_loan_query(dialect, wage_case)), {"s": start, "e": end, **params})
    n: dict[str, dict[str, int]] = {"home": {}, "area": {}, "income": {}, "age": {}}
    fen: dict[str, dict[str, int]] = {"home": {}, "area": {}, "income": {}, "age": {}}
    for home, area, income, age, count, amount in rows:
        for dim, code in (("home", home), ("area", area), ("income", income), ("age", age)):
            n[dim][code] = n[dim].get(code, 0) + int(count)
            fen[dim][code] = fen[dim].get(code, 0) + int(amount or 0)
    return {
        "loans_by_home": _loans(HOME, n["home"], fen["home"]),
        "loans_by_floor_area": _loans(FLOOR_AREA, n["area"], fen["area"]),
        "loans_by_income": _loans(INCOME, n["income"], fen["income"]),
        "loans_by_age": _loans(AGE, n["age"], fen["age"]),
    }


def depositor_breakdowns(session: Session, start: date, end: date) -> dict[str, Any]:
    """Paying and new depositors and contributions of the period by employer type."""
    params = {"s": start, "e": end}
    paying = {str(k): int(v) for k, v in session.execute(text(_PAYING_BY_TYPE), params)}
    new = {str(k): int(v) for k, v in session.execute(text(_NEW_BY_TYPE), params)}
    money = {str(k): int(v or 0) for k, v in session.execute(text(_CONTRIBUTIONS_BY_TYPE), params)}
    return {
        "paying_depositors_by_employer_type": _counted(EMPLOYER_TYPES, paying),
        "new_depositors_by_employer_type": _counted(EMPLOYER_TYPES, new),
        "contributions_by_employer_type": _amounts(EMPLOYER_TYPES, money),
    }


def withdrawal_breakdowns(
    by_reason: Mapping[str, int], housing_fen: int, total_fen: int
) -> dict[str, Any]:
    """Withdrawals by reason code and by purpose (housing consumption or not), with shares."""
    return {
        "withdrawals_by_reason": _amounts(by_reason, by_reason),
        "withdrawals_by_purpose": _amounts(
            PURPOSE,
            {"housing_consumption": housing_fen, "non_housing": total_fen - housing_fen},
        ),
    }
