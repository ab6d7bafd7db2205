"""Financial statements for any period (domain.md §7): trial balance (科目余额表 / 试算平衡表),
balance sheet (资产负债表), value-added income statement (增值收益表) and distribution statement
(增值收益分配表).

Each builder returns a plain dict ready for JSON: amounts in yuan as strings with two
decimals, in the account's normal direction unless the column says debit/credit. ``tables``
turns a statement into titled rows for XLSX and HTML. Figures come from postings by posting
date (see ``hpf.finance.books``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.finance import books
from hpf.finance.value_added import DISTRIBUTION_KIND, MANAGEMENT_PAYABLE, figures
from hpf.ledger import chart
from hpf.ledger.periods import Period, parse_period
from hpf.money import format_yuan

STATEMENTS = ("trial-balance", "balance-sheet", "income", "distribution")

ASSETS = ("101", "10102", "102", "111", "119", "121", "122", "124")
LIABILITIES = ("201", "211", "214", "219")
RESERVES = ("301", "311", "321")


@dataclass
class Table:
    """A statement as a titled grid (for XLSX and HTML)."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def y(fen: int) -> str:
    return format_yuan(fen)


def _period(period: str | Period) -> Period:
    return parse_period(period) if isinstance(period, str) else period


def trial_balance(session: Session, period: str | Period) -> dict[str, Any]:
    """Every chart account's opening balance, debits, credits and closing balance in the period.

    Totals are over leaf chart accounts (their subsidiaries rolled in), so parents are not
    counted twice; ``balanced`` is true when debits = credits at every column pair.
    """
    p = _period(period)
    accounts = books.chart_accounts(session)
    rolled = books.rolled_up(accounts, books.movements(session, p.start, p.end))
    rows: list[dict[str, Any]] = []
    totals = dict.fromkeys(
        ("opening_debit", "opening_credit", "debit", "credit", "closing_debit", "closing_credit"), 0
    )
    for a in accounts:
        m = rolled[a.code]
        leaf = books.is_leaf(a, accounts)
        row: dict[str, Any] = {
            "code": a.code,
            "name": a.name,
            "leaf": leaf,
            "opening_debit": max(m.opening, 0),
            "opening_credit": max(-m.opening, 0),
            "debit": m.debit,
            "credit": m.credit,
            "closing_debit": max(m.closing, 0),
            "closing_credit": max(-m.closing, 0),
        }
        if leaf:
            for k in totals:
                totals[k] += int(row[k])
        rows.append(row)
    balanced = (
        totals["opening_debit"] == totals["opening_credit"]
        and totals["debit"] == totals["credit"]
        and totals["closing_debit"] == totals["closing_credit"]
    )
    money = (
        "opening_debit",
        "opening_credit",
        "debit",
        "credit",
        "closing_debit",
        "closing_credit",
    )
    return {
        "statement": "trial_balance",
        "period": p.label,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "rows": [{k: (y(v) if k in money else v) for k, v in r.items()} for r in rows],
        "totals": {k: y(v) for k, v in totals.items()},
        "balanced": balanced,
    }


def balance_sheet(session: Session, on: date) -> dict[str, Any]:
    """资产负债表 at the end of ``on``: assets = liabilities + reserves (fund balances).

    Income less expenses not yet carried to 311 (during the year) shows as its own line among
    the reserves, so the sheet balances on any day.
    """
    accounts = books.chart_accounts(session)
    names = {a.code: a.name for a in accounts}
    rolled = books.rolled_up(accounts, books.movements(session, on, on))

    def side(codes: tuple[str, ...], sign: int) -> list[dict[str, str]]:
        return [
            {"code": c, "name": names[c], "amount": y(sign * rolled[c].closing)}
            for c in codes
            if c in rolled
        ]

    assets = side(ASSETS, 1)
    liabilities = side(LIABILITIES, -1)
    reserves = side(RESERVES, -1)
    pending = -(rolled[chart.BUSINESS_INCOME].closing + rolled[chart.BUSINESS_EXPENSES].closing)
    reserves.append({"code": "", "name": "本年未结转收支净额", "amount": y(pending)})
    total_assets = sum(rolled[c].closing for c in ASSETS if c in rolled)
    total_liabilities = -sum(rolled[c].closing for c in LIABILITIES if c in rolled)
    total_reserves = -sum(rolled[c].closing for c in RESERVES if c in rolled) + pending
    return {
        "statement": "balance_sheet",
        "as_of": on.isoformat(),
        "assets": assets,
        "liabilities": liabilities,
        "reserves": reserves,
        "total_assets": y(total_assets),
        "total_liabilities": y(total_liabilities),
        "total_reserves": y(total_reserves),
        "total_liabilities_and_reserves": y(total_liabilities + total_reserves),
        "balanced": total_assets == total_liabilities + total_reserves,
    }


def income_statement(session: Session, period: str | Period) -> dict[str, Any]:
    """增值收益表: business income and expenses by line, and value-added income, for the period."""
    p = _period(period)
    figs = figures(session, p.start, p.end)
    names = {a.code: a.name for a in books.chart_accounts(session)}
    income_codes = sorted(c for c in names if c.startswith("401") and c != "401")
    expense_codes = sorted(c for c in names if c.startswith("411") and c != "411")
    return {
        "statement": "value_added_income",
        "period": p.label,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "income": [
            {"code": c, "name": names[c], "amount": y(figs.income.get(c, 0))} for c in income_codes
        ],
        "expenses": [
            {"code": c, "name": names[c], "amount": y(figs.expenses.get(c, 0))}
            for c in expense_codes
        ],
        "total_income": y(figs.income_fen),
        "total_expenses": y(figs.expenses_fen),
        "value_added_income": y(figs.value_added_fen),
    }


def distributed(session: Session, start: date, end: date) -> dict[str, int]:
    """Amounts distributed by journals posted from ``start`` to ``end`` (net of reversals):
    ``risk_reserve``, ``management_expenses``, ``public_housing_supplement`` (fen)."""
    rows = session.execute(
        text(
            f"SELECT a.code, -SUM(p.amount) FROM ledger_posting p {books.JOURNALS} "
            "JOIN ledger_account a ON a.id = p.account_id "
            f"WHERE {books.EFFECTIVE_KIND} = :kind AND j.posting_date >= :s "
            "AND j.posting_date <= :e GROUP BY a.code"
        ),
        {"kind": DISTRIBUTION_KIND, "s": start, "e": end},
    )
    by_code = {r[0]: int(r[1] or 0) for r in rows}
    return {
        "risk_reserve": by_code.get(chart.LOAN_RISK_RESERVE, 0),
        "management_expenses": by_code.get(MANAGEMENT_PAYABLE, 0),
        "public_housing_supplement": by_code.get(chart.PUBLIC_HOUSING_SUPPLEMENT, 0),
    }


def distribution_statement(session: Session, period: str | Period) -> dict[str, Any]:
    """增值收益分配表: the period's value-added income and what was distributed in it, in order."""
    p = _period(period)
    vai = figures(session, p.start, p.end).value_added_fen
    parts = distributed(session, p.start, p.end)
    total = sum(parts.values())
    return {
        "statement": "value_added_distribution",
        "period": p.label,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "value_added_income": y(vai),
        "risk_reserve": y(parts["risk_reserve"]),
        "management_expenses": y(parts["management_expenses"]),
        "public_housing_supplement": y(parts["public_housing_supplement"]),
        "total_distributed": y(total),
        "undistributed": y(vai - total),
    }


def build(session: Session, name: str, period: str) -> dict[str, Any]:
    """One statement by name (``STATEMENTS``) for ``period``; the balance sheet is at its end."""
    p = parse_period(period)
    if name == "trial-balance":
        return trial_balance(session, p)
    if name == "balance-sheet":
        return balance_sheet(session, p.end)
    if name == "income":
        return income_statement(session, p)
    if name == "distribution":
        return distribution_statement(session, p)
    from hpf.errors import InvalidInput

    raise InvalidInput(
        f"未知的报表：{name}（可选 {', '.join(STATEMENTS)}）",
        f"unknown statement: {name} ({', '.join(STATEMENTS)})",
    )


def tables(statement: dict[str, Any]) -> list[Table]:
    """A statement as grids, for XLSX and HTML (titles in Chinese and English)."""
    kind = statement["statement"]
    if kind == "trial_balance":
        t = Table(
            f"科目余额表 Trial balance {statement['period']}",
            [
                "科目 code",
                "名称 name",
                "期初借方",
                "期初贷方",
                "本期借方",
                "本期贷方",
                "期末借方",
                "期末贷方",
            ],
        )
        keys = (
            "opening_debit",
            "opening_credit",
            "debit",
            "credit",
            "closing_debit",
            "closing_credit",
        )
        for r in statement["rows"]:
            t.rows.append([r["code"], r["name"], *(r[k] for k in keys)])
        t.rows.append(["", "合计 total", *(statement["totals"][k] for k in keys)])
        return [t]
    if kind == "balance_sheet":
        t = Table(
            f"资产负债表 Balance sheet {statement['as_of']}",
            ["科目 code", "名称 name", "金额 amount"],
        )
        for section, label in (
            ("assets", "资产"),
            ("liabilities", "负债"),
            ("reserves", "基金与增值收益"),
        ):
            t.rows.append(["", label, ""])
            t.rows.extend(
                [line["code"], line["name"], line["amount"]] for line in statement[section]
            )
        t.rows.append(["", "资产合计 total assets", statement["total_assets"]])
        t.rows.append(["", "负债与基金合计 total", statement["total_liabilities_and_reserves"]])
        return [t]
    if kind == "value_added_income":
        t = Table(
            f"增值收益表 Value-added income {statement['period']}",
            ["科目 code", "项目 item", "金额 amount"],
        )
        t.rows.append(["401", "业务收入 business income", statement["total_income"]])
        t.rows.extend([line["code"], line["name"], line["amount"]] for line in statement["income"])
        t.rows.append(["411", "业务支出 business expenses", statement["total_expenses"]])
        t.rows.extend(
            [line["code"], line["name"], line["amount"]] for line in statement["expenses"]
        )
        t.rows.append(["", "增值收益 value-added income", statement["value_added_income"]])
        return [t]
    t = Table(f"增值收益分配表 Distribution {statement['period']}", ["项目 item", "金额 amount"])
    for key, label in (
        ("value_added_income", "增值收益 value-added income"),
        ("risk_reserve", "提取贷款风险准备金 loan risk reserve"),
        ("management_expenses", "提取管理费用 management expenses"),
        ("public_housing_supplement", "提取廉租住房建设补充资金 public-housing supplement"),
        ("total_distributed", "分配合计 total distributed"),
        ("undistributed", "未分配 undistributed"),
    ):
        t.rows.append([label, statement[key]])
    return [t]
