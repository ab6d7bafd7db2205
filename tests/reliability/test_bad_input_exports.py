"""Formula injection never reaches an export (表格导出防公式注入).

A name or text that a spreadsheet would run as a formula (``=HYPERLINK(...)``,
``@SUM(1+1)*cmd|' /C calc'!A0``, ``+1``, ``-2+3``, a tab before ``=``) is stored as given, and
every CSV and XLSX writer of hpf writes it as text with a leading apostrophe
(``hpf.tabular_safety``): the remittance template and error report, the withdrawal payment and
loan bank-debit batch files (at export and on download again), the supervision data exchange,
the finance/annual-report workbook and the goal-table workbook. Plain numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

import hpf
from deposit_books import make_books
from hpf.deposits import remittance
from hpf.deposits.employers import EmployerInput, open_employer
from hpf.deposits.remittance_file import error_report_csv, read_remittance_file, template_csv
from hpf.deposits.upload import context_for
from hpf.finance.statements import Table
from hpf.finance.xlsx import write_xlsx
from hpf.goals import parse as goal_parse
from hpf.goals import report as goal_report
from hpf.identifiers import make_uscc
from hpf.loans import collection
from hpf.ops import exchange
from hpf.tabular_safety import is_dangerous, neutralise, safe_csv_writer
from hpf.web import loans as web_loans
from hpf.web import withdrawals as web_withdrawals
from hpf.withdrawals import payments
from loan_books import make_loan_books
from withdrawal_books import make_withdrawal_books

HOSTILE = (
    '=HYPERLINK("http://x","y")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "+3",
    "-2+3",
    "\t=1+1",
    "\r\n@cmd",
    " =1",
)
SAFE = ("张三", "12.50", "-12.50", "\t371302198803140219", "a=b", "", "O'Brien")
NAME = '=HYPERLINK("http://x","y")'
FIRST_DUE = date(2024, 10, 20)
CMD = "@SUM(1+1)*cmd|' /C calc'!A0"


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def _assert_no_formula_cell(cells: list[str], hostile: str) -> None:
    """No cell a spreadsheet would run; the hostile text is there, apostrophe-prefixed."""
    assert [c for c in cells if is_dangerous(c)] == []
    assert "'" + hostile in cells


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_dangerous_text_gets_an_apostrophe(text: str) -> None:
    assert is_dangerous(text)
    assert neutralise(text) == "'" + text
    assert not is_dangerous(neutralise(text))


@pytest.mark.parametrize("text", SAFE)
def test_harmless_text_and_numbers_are_unchanged(text: str) -> None:
    assert neutralise(text) == text


def test_non_strings_are_unchanged_and_the_csv_writer_neutralises_each_cell() -> None:
    for value in (1, -5, Decimal("-1.00"), None, date(2023, 1, 1)):
        assert neutralise(value) is value
    out = io.StringIO()
    writer = safe_csv_writer(out, lineterminator="\n")
    writer.writerow([NAME, -3, "-3"])
    writer.writerows([[CMD], ["ok"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'" + NAME, "-3", "-3"],
        ["'" + CMD],
        ["ok"],
    ]


# --- every writer -----------------------------------------------------------------------------


def test_remittance_template_and_error_report(session: Session) -> None:
    books = make_books(session)
    employer = books.employer("12")
    person = books.depositor(employer, 500_000)
    person.name = NAME  # the depositor name field takes any text (see test_bad_input_html)
    lst = remittance.draft(session, employer, date(2023, 7, 1), books.policy, books.actor)
    ctx = context_for(session, lst, books.policy)
    text = template_csv(ctx).decode("utf-8-sig")
    cells = _cells(text)
    _assert_no_formula_cell(cells, NAME)
    assert "\t" + person.id_number in cells  # the ID-as-text tab is kept
    # the file comes back with a formula in its amount cell: the row is refused, and the error
    # report echoes nothing a spreadsheet would run
    bad = text.replace("5000.00,600.00,600.00", f'5000.00,"{CMD}",600.00')
    parsed = read_remittance_file(bad.encode("utf-8"), "list.csv", ctx)
    assert not parsed.ok
    report = error_report_csv(parsed).decode("utf-8-sig")
    assert [c for c in _cells(report) if is_dangerous(c)] == []


def test_withdrawal_payment_batch_file(session: Session) -> None:
    wb = make_withdrawal_books(session)
    person = wb.person(1_000_000)
    person.name = NAME
    outcome = wb.apply(person, "rent", rent_months=3, cost_fen=600_000)
    wb.approve(outcome.withdrawal_id)
    batch = payments.export_batch(session, on=date(2024, 9, 12), actor=wb.clerk)
    _assert_no_formula_cell(_cells(batch.csv_text), NAME)
    again = web_withdrawals.batch_csv(session, wb.clerk, batch.batch_id)
    _assert_no_formula_cell(_cells(again), NAME)


def test_loan_debit_batch_file(session: Session) -> None:
    lb = make_loan_books(session)
    borrower, _ = lb.family(spouse=False)
    lb.loan(borrower)
    borrower.name = CMD
    batch = collection.export_batch(session, on=FIRST_DUE, actor=lb.clerk, policy=lb.books.policy)
    _assert_no_formula_cell(_cells(batch.csv_text), CMD)
    again = web_loans.debit_batch_csv(session, lb.clerk, batch.batch_id)
    _assert_no_formula_cell(_cells(again), CMD)


def test_supervision_data_exchange(session: Session, tmp_path: Path) -> None:
    books = make_books(session)
    employer = open_employer(
        session,
        EmployerInput(
            uscc=make_uscc("91371300MA8ABCDEF"),
            name=NAME,
            branch_code=books.branch_code,
            employer_rate_pct=Decimal("12"),
            employee_rate_pct=Decimal("12"),
            opened_on=date(2023, 7, 1),
        ),
        books.policy,
        books.actor,
    )
    person = books.depositor(employer, 500_000)
    person.name = CMD
    session.flush()
    exchange.export(session, tmp_path)
    _assert_no_formula_cell(_cells((tmp_path / "DW.csv").read_text("utf-8-sig")), NAME)
    _assert_no_formula_cell(_cells((tmp_path / "GR.csv").read_text("utf-8-sig")), CMD)


def test_statement_workbook(tmp_path: Path) -> None:
    table = Table(NAME, ["科目", CMD], [["-12.50", NAME], ["+1+1", "12.50"], [3, None]])
    write_xlsx([table], tmp_path / "s.xlsx")
    sheet = load_workbook(tmp_path / "s.xlsx").worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    values = [c.value for c in cells]
    assert {"'" + NAME, "'" + CMD, "'+1+1"} <= set(values)
    assert Decimal("-12.50") in values and Decimal("12.50") in values  # amounts stay numbers


def test_goal_table_workbook(tmp_path: Path) -> None:
    sample = (Path(goal_parse.__file__).parent / "samples" / "linyi_2023.txt").read_text("utf-8")
    hostile = sample.replace("住房公积金归集额", NAME, 1).replace(
        "反映全市年度内新增住房公积金缴存金额。", CMD, 1
    )
    table = goal_parse.parse_file(hostile.encode("utf-8"), "goals.txt")
    assert NAME in {r.texts["name"] for r in table.rows}  # the import keeps the text as text
    goal_report.write_xlsx(table, None, tmp_path / "g.xlsx")
    sheet = load_workbook(tmp_path / "g.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    assert {"'" + NAME, "'" + CMD} <= {c.value for c in cells}


def test_every_writer_goes_through_the_shared_rule() -> None:
    """A new CSV or XLSX writer must use hpf.tabular_safety (this scan names the file if not)."""
    root = Path(hpf.__file__).parent
    writers = 0
    for path in sorted(root.rglob("*.py")):
        if path.name == "tabular_safety.py":
            continue
        source = path.read_text("utf-8")
        assert not re.search(r"csv\.(writer|DictWriter)\(", source), f"{path}: use safe_csv_writer"
        if re.search(r"\bWorkbook\(", source):
            assert "neutralise(" in source, f"{path}: write cells through neutralise"
        writers += "safe_csv_writer(" in source or "neutralise(" in source
    # the modules that write files today (the scan must keep finding them): the remittance
    # list, bank payment and debit files (two domain writers and the web's shared download),
    # the JGJ/T 320 exchange, the statements workbook and the goal report
    assert writers >= 7
