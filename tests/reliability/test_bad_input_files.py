"""The bad-input corpus (tests/data/bad/) against every file import of hpf.

Import paths: the remittance list upload (汇缴清册), the base adjustment file (基数调整), the
onboarding people list (一链办理), the bank's withdrawal payment result and loan debit result
files (回盘), the hotline ticket export (工单导入) and the goal table (绩效目标表). Each committed
bad file (wrong encodings, binary noise, a truncated or fake workbook, formula cells, markup in
names, a header and nothing else ...), plus generated ones too large to commit (over the byte
limit, over every row limit), must end in a clear error — a typed DomainError carrying a Chinese
and an English message, or row errors — and leave every table as it was (the audit trail
aside). Then the content cases of each path: absurd amounts and dates, duplicate keys.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from deposit_books import make_books
from hpf.deposits import onboarding, remittance
from hpf.deposits.employers import EmployerInput
from hpf.deposits.upload import upload
from hpf.errors import DomainError
from hpf.goals import parse as goal_parse
from hpf.identifiers import make_uscc
from hpf.loans import collection
from hpf.service_desk import importer
from hpf.web import contribution_actions as actions
from hpf.web import contributions as web_contributions
from hpf.web import withdrawals as web_withdrawals
from hpf.withdrawals import payments
from loan_books import make_loan_books
from withdrawal_books import make_withdrawal_books

BAD = Path(__file__).parent.parent / "data" / "bad"
VOLATILE = {"audit_record", "audit_chain_head", "alembic_version"}
JULY = date(2023, 7, 1)
PAID_ON = date(2024, 9, 12)
ABSURD_AMOUNTS = (
    "1000000000000000.00",  # 10^15 yuan
    "-5000.00",
    "0.001",
    "NaN",
    "Infinity",
    "1e3",
    "",
)
ABSURD_MOMENTS = ("0001-01-01", "9999-12-31 23:59", "2023-02-30", "2023-13-01", "1e10", "-1")


def committed_corpus() -> list[str]:
    return sorted(p.name for p in BAD.iterdir() if p.suffix in (".csv", ".xlsx"))


def generated_corpus() -> dict[str, bytes]:
    """Files too large to commit: over every byte limit, over every row limit."""
    return {
        "over_10mb.csv": b"371302198803140219,x,5000.00,600.00\n" * 300_000,
        "rows_200001.csv": b"a,b,c,d\n" + b"1,2,3,4\n" * 200_001,
        "huge_cell.csv": "身份证号,姓名,缴存基数\n".encode() + b"9" * 2_000_000 + b",x,1\n",
    }


def fingerprint(session: Session) -> dict[str, int]:
    """Rows per table but the audit trail: equal before and after = nothing changed."""
    session.flush()
    names = sorted(set(inspect(session.connection()).get_table_names()) - VOLATILE)
    return {
        n: int(session.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names
    }


# --- the import paths, each as "bytes and a name in; raise or report errors" ---------------


def _remittance(session: Session) -> Callable[[bytes, str], Any]:
    books = make_books(session)
    employer = books.employer("12")
    books.depositor(employer, 500_000)
    lst = remittance.draft(session, employer, JULY, books.policy, books.actor)

    def run(data: bytes, name: str) -> Any:
        parsed = upload(session, lst, data, name, books.policy, books.actor)
        assert not parsed.ok, "a bad file was accepted"
        assert parsed.errors and all(e.message_zh and e.message_en for e in parsed.errors)
        assert lst.source == "drafted"
        return parsed

    return run


def _base_adjustment(session: Session) -> Callable[[bytes, str], Any]:
    books = make_books(session)
    employer = books.employer("12")
    books.depositor(employer, 500_000)

    def run(data: bytes, name: str) -> Any:
        parsed = actions.read_base_file(data, name)
        assert parsed.errors, "a bad base file was read without errors"
        return parsed

    return run


def _onboarding(session: Session) -> Callable[[bytes, str], Any]:
    books = make_books(session)
    employer = EmployerInput(
        uscc=make_uscc("91371300MA8ABCDE0"),
        name="坏文件测试单位",
        branch_code=books.branch_code,
        employer_rate_pct=Decimal("12"),
        employee_rate_pct=Decimal("12"),
        opened_on=JULY,
    )

    def run(data: bytes, name: str) -> Any:
        people = onboarding.depositors_from_file(data, name)
        request = onboarding.OnboardingRequest(employer, people)
        return onboarding.onboard(
            session, request, books.policy, books.actor, idempotency_key=f"bad-{name}"
        )

    return run


def _withdrawal_results(session: Session) -> Callable[[bytes, str], Any]:
    wb = make_withdrawal_books(session)

    def run(data: bytes, name: str) -> Any:
        if len(data) > web_contributions.MAX_UPLOAD_BYTES:
            data = data[: web_contributions.MAX_UPLOAD_BYTES + 1]  # what read_upload hands on
        text_ = web_withdrawals.decode_result_file(data)
        return payments.import_result(session, text_, on=PAID_ON, actor=wb.clerk)

    return run


def _loan_results(session: Session) -> Callable[[bytes, str], Any]:
    lb = make_loan_books(session)

    def run(data: bytes, name: str) -> Any:
        if len(data) > web_contributions.MAX_UPLOAD_BYTES:
            data = data[: web_contributions.MAX_UPLOAD_BYTES + 1]
        text_ = web_withdrawals.decode_result_file(data)
        return collection.import_result(session, text_, on=PAID_ON, actor=lb.clerk)

    return run


def _tickets(session: Session) -> Callable[[bytes, str], Any]:
    books = make_books(session)

    def run(data: bytes, name: str) -> Any:
        return importer.import_tickets(session, data, name, books.actor)

    return run


def _goals(session: Session) -> Callable[[bytes, str], Any]:
    def run(data: bytes, name: str) -> Any:
        return goal_parse.parse_file(data, name)

    return run


PATHS: dict[str, Callable[[Session], Callable[[bytes, str], Any]]] = {
    "remittance": _remittance,
    "base_adjustment": _base_adjustment,
    "onboarding": _onboarding,
    "withdrawal_results": _withdrawal_results,
    "loan_results": _loan_results,
    "tickets": _tickets,
    "goals": _goals,
}


def refuse_cleanly(
    session: Session, run: Callable[[bytes, str], Any], data: bytes, name: str
) -> str:
    """Run one file: a clear error and no change. Returns the error text shown to the user."""
    before = fingerprint(session)
    try:
        with session.begin_nested():
            outcome = run(data, name)
    except DomainError as exc:
        assert exc.message_zh.strip() and exc.message_en.strip(), (name, exc)
        assert exc.code, name
        shown = f"{exc.message_zh} / {exc.message_en}"
    else:
        errors = getattr(outcome, "errors", None)
        assert errors, f"{name}: no error for a bad file ({outcome!r:.200})"
        shown = "; ".join(f"{e.message_zh} / {e.message_en}" for e in errors)
    assert fingerprint(session) == before, name
    return shown


def test_the_committed_corpus_is_what_the_generator_makes() -> None:
    spec = __import__("importlib.util").util.spec_from_file_location(
        "make_corpus", BAD / "make_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.corpus()
    assert sorted(expected) == committed_corpus()
    for name, data in expected.items():
        assert (BAD / name).read_bytes() == data, name


@pytest.mark.parametrize("path_name", sorted(PATHS))
def test_every_bad_file_is_refused_clearly_and_changes_nothing(
    session: Session, path_name: str
) -> None:
    run = PATHS[path_name](session)
    files = {name: (BAD / name).read_bytes() for name in committed_corpus()}
    files.update(generated_corpus())
    shown = {name: refuse_cleanly(session, run, data, name) for name, data in files.items()}
    assert len(shown) == len(files) >= 20
    # markup in a cell comes back in the error as text, never as more than it was
    assert all("<script>" not in s or "alert(1)" in s for s in shown.values())


# --- content cases: absurd amounts and dates, duplicate keys ----------------------------------


def _template_rows(session: Session) -> tuple[Callable[[bytes, str], Any], list[list[str]]]:
    books = make_books(session)
    employer = books.employer("12")
    books.depositor(employer, 500_000)
    books.depositor(employer, 600_000)
    lst = remittance.draft(session, employer, JULY, books.policy, books.actor)
    from hpf.deposits.remittance_file import template_csv
    from hpf.deposits.upload import context_for

    text_ = template_csv(context_for(session, lst, books.policy)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text_)))

    def run(data: bytes, name: str) -> Any:
        parsed = upload(session, lst, data, name, books.policy, books.actor)
        assert not parsed.ok
        return parsed

    return run, rows


def _csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def test_remittance_absurd_amounts_and_duplicate_people(session: Session) -> None:
    run, rows = _template_rows(session)
    header, first, second = rows
    for column in (3, 4, 5):  # base, employer part, employee part
        for value in ABSURD_AMOUNTS:
            bad = [*first[:column], value, *first[column + 1 :]]
            refuse_cleanly(session, run, _csv_bytes([header, bad, second]), f"c{column}.csv")
    refuse_cleanly(session, run, _csv_bytes([header, first, first, second]), "dup.csv")


def test_base_adjustment_absurd_bases_and_duplicate_people(session: Session) -> None:
    books = make_books(session)
    employer = books.employer("12")
    person = books.depositor(employer, 500_000)

    def run(data: bytes, name: str) -> Any:
        parsed = actions.read_base_file(data, name)
        if parsed.errors:
            return parsed
        return actions.adjust_bases(session, employer, parsed.rows, JULY, books.policy, books.actor)

    for value in ABSURD_AMOUNTS:
        data = _csv_bytes([["身份证号", "缴存基数"], [person.id_number, value]])
        refuse_cleanly(session, run, data, "base.csv")
    dup = [["身份证号", "缴存基数"], [person.id_number, "5000.00"], [person.id_number, "5100.00"]]
    refuse_cleanly(session, run, _csv_bytes(dup), "dup.csv")


def _paid_file(csv_text: str, amount: str | None = None, repeat: int = 1) -> bytes:
    rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
    body = []
    for row in rows[1:]:
        if amount is not None:
            row = [*row[:-1], amount]
        body.extend([[*row, "成功", ""]] * repeat)
    return _csv_bytes([[*rows[0], "结果", "说明"], *body])


def test_bank_results_with_absurd_amounts_duplicates_and_foreign_lines(session: Session) -> None:
    wb = make_withdrawal_books(session)
    person = wb.person(1_000_000)
    wb.approve(wb.apply(person, "rent", rent_months=3, cost_fen=600_000).withdrawal_id)
    batch = payments.export_batch(session, on=PAID_ON, actor=wb.clerk)

    def run(data: bytes, name: str) -> Any:
        text_ = web_withdrawals.decode_result_file(data)
        return payments.import_result(session, text_, on=PAID_ON, actor=wb.clerk)

    for value in ABSURD_AMOUNTS:
        refuse_cleanly(session, run, _paid_file(batch.csv_text, amount=value), "amount.csv")
    refuse_cleanly(session, run, _paid_file(batch.csv_text, repeat=2), "dup.csv")
    foreign = batch.csv_text.replace(f"\n{batch.batch_id},", "\n999999999999999999999,", 1)
    refuse_cleanly(session, run, _paid_file(foreign), "foreign.csv")
    word = _paid_file(batch.csv_text).decode().replace(",成功,", ",=1+1,")
    refuse_cleanly(session, run, word.encode(), "formula_result.csv")


TICKET_HEADER = ["工单编号", "受理时间", "来源渠道", "来电人", "诉求主题", "工单类别", "答复时间"]


@pytest.mark.parametrize("moment", ABSURD_MOMENTS)
def test_ticket_import_absurd_dates(session: Session, moment: str) -> None:
    books = make_books(session)

    def run(data: bytes, name: str) -> Any:
        return importer.import_tickets(session, data, name, books.actor)

    received = [TICKET_HEADER, ["RZ-1", moment, "12329", "", "主题", "咨询", ""]]
    refuse_cleanly(session, run, _csv_bytes(received), "received.csv")
    replied = [TICKET_HEADER, ["RZ-2", "2023-05-02 09:00", "12329", "", "主题", "咨询", moment]]
    refuse_cleanly(session, run, _csv_bytes(replied), "replied.csv")


def test_ticket_import_duplicate_numbers(session: Session) -> None:
    books = make_books(session)

    def run(data: bytes, name: str) -> Any:
        return importer.import_tickets(session, data, name, books.actor)

    row = ["RZ-9", "2023-05-02 09:00", "12329", "", "主题", "咨询", ""]
    refuse_cleanly(session, run, _csv_bytes([TICKET_HEADER, row, row]), "dup.csv")
