"""Statements for any period: the trial balance balances, the balance sheet balances before and
after the carry, the value-added income and distribution statements agree with the ledger."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from hpf.finance import statements
from hpf.finance.value_added import distribute
from hpf.finance.xlsx import write_html, write_xlsx
from hpf.policy.loader import load_shipped_policy

_spec = importlib.util.spec_from_file_location(
    "va_books", Path(__file__).with_name("test_value_added.py")
)
assert _spec is not None and _spec.loader is not None
_va = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_va)


def test_statements_before_and_after_distribution(session: Session, tmp_path: Path) -> None:
    _va._year_of_books(session)
    q3 = statements.trial_balance(session, "2023-07")
    assert q3["balanced"] and q3["period"] == "2023-07"
    sheet = statements.balance_sheet(session, date(2023, 11, 30))
    assert sheet["balanced"]
    assert sheet["reserves"][-1]["amount"] == "9000.00"  # income less expenses, not carried
    income = statements.income_statement(session, "2023")
    assert (income["total_income"], income["total_expenses"]) == ("14345.67", "5345.67")
    assert income["value_added_income"] == "9000.00"
    lines = {line["code"]: line["amount"] for line in income["expenses"]}
    assert lines["41102"] == "345.67" and lines["41103"] == "0.00"
    distribute(session, 2023, load_shipped_policy(), management_budget_fen=100_000)
    year = statements.trial_balance(session, "2023")
    assert year["balanced"]
    rows = {r["code"]: r for r in year["rows"]}
    assert rows["401"]["closing_credit"] == "0.00" and rows["401"]["credit"] == "14345.67"
    assert rows["301"]["closing_credit"] == "5400.00"
    end = statements.balance_sheet(session, date(2023, 12, 31))
    assert end["balanced"] and end["reserves"][-1]["amount"] == "0.00"
    assert end["total_assets"] == "1014000.00"
    dist = statements.distribution_statement(session, "2023")
    assert dist["total_distributed"] == dist["value_added_income"] == "9000.00"
    assert (dist["risk_reserve"], dist["management_expenses"]) == ("5400.00", "1000.00")
    assert (dist["public_housing_supplement"], dist["undistributed"]) == ("2600.00", "0.00")
    assert statements.income_statement(session, "2023")["value_added_income"] == "9000.00"
    built = [statements.build(session, n, "2023") for n in statements.STATEMENTS]
    grids = [t for s in built for t in statements.tables(s)]
    write_xlsx(grids, tmp_path / "s.xlsx")
    book = load_workbook(tmp_path / "s.xlsx")
    assert [ws["A1"].value.split()[0] for ws in book.worksheets] == [
        "科目余额表",
        "资产负债表",
        "增值收益表",
        "增值收益分配表",
    ]
    write_html(grids, tmp_path / "s.html", "2023")
    assert "资产负债表" in (tmp_path / "s.html").read_text(encoding="utf-8")
