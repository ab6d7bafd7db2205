"""The self-evaluation report (绩效自评表) on real books: every bound actual of the books equals
the annual report's figure (SQLite and PostgreSQL), through the services and through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hpf.cli import run
from hpf.config import get_settings
from hpf.finance import transactions
from hpf.finance.value_added import distribute
from hpf.goals import service
from hpf.goals.commands import sample_bytes
from hpf.goals.parse import parse_file
from hpf.goals.report import evaluate
from hpf.loans import repayment
from hpf.report.annual import annual_report
from hpf.withdrawals import payments
from loan_books import make_loan_books
from withdrawal_books import make_withdrawal_books

ANNUAL: dict[str, Any] = {
    "contributions": lambda r: r["deposits"]["contributions"],
    "new_depositors": lambda r: r["deposits"]["new_depositors"],
    "withdrawals": lambda r: r["withdrawals"]["amount"],
    "loans_issued": lambda r: r["loans"]["issued_amount"],
    "overdue_ratio": lambda r: r["risk"]["overdue_ratio"],
    "value_added_distributed": lambda r: sum(
        Decimal(v) for v in r["finance"]["distribution"].values()
    ),
    "interest_paid": lambda r: r["deposits"]["interest_credited"],
}


def _paid(batch: payments.BatchFile) -> str:
    lines = batch.csv_text.strip().split("\n")
    return "\n".join([lines[0] + ",结果,说明", *(line + ",成功," for line in lines[1:])]) + "\n"


def _books(session: Session) -> Any:
    lb = make_loan_books(session)
    steady = lb.employer()
    lb.person(steady)
    lb.person(steady, base_fen=650_000)
    lb.contribute(steady, date(2023, 7, 1), 12)
    borrower, _ = lb.family(spouse=False)
    loan = lb.loan(borrower)
    repayment.pay_from_balance(
        session, loan.id, on=date(2024, 10, 20), actor=lb.books.actor, policy=lb.books.policy
    )
    wb = make_withdrawal_books(session)
    tenant = wb.person(1_000_000)
    rent = wb.apply(tenant, "rent", rent_months=3, cost_fen=600_000)
    wb.approve(rent.withdrawal_id)
    batch = payments.export_batch(session, on=date(2024, 9, 12), actor=wb.clerk)
    payments.import_result(session, _paid(batch), on=date(2024, 9, 12), actor=wb.clerk)
    transactions.record(
        session, "deposit_interest", 5_000_000, date(2024, 12, 21), idempotency_key="g-int"
    )
    return lb.books.policy


def _same(goal_value: str | None, annual_value: Any) -> bool:
    if annual_value is None or goal_value is None:
        return goal_value is None and annual_value is None
    return Decimal(goal_value) == Decimal(str(annual_value))


def _check(report: dict[str, Any], annual: dict[str, Any]) -> int:
    checked = 0
    for ind in report["indicators"]:
        figure = ANNUAL.get(ind["binding"])
        if figure is None:
            continue
        expected = figure(annual)
        assert _same(ind["actual"]["value"], expected), (ind["name"], ind["actual"], expected)
        checked += 1
    return checked


def test_actuals_equal_the_annual_report(session: Session) -> None:
    policy = _books(session)
    for year in (2023, 2024):
        service.import_table(
            session,
            parse_file(sample_bytes().replace(b"2023", str(year).encode()), "s.txt"),
            source_name="s",
            actor="t",
        )
    distribute(session, 2024, policy, management_budget_fen=100_000)
    for year in (2023, 2024):
        report = evaluate(session, year, as_of=date(year, 12, 31), policy=policy)
        annual = annual_report(session, year, policy)
        assert _check(report, annual) == 7
        assert report["complete"] is True
        by = {i["binding"]: i for i in report["indicators"]}
        assert all(i["status"] in ("达成", "未达成") for i in report["indicators"])
        assert by["contributions"]["status"] == "未达成"  # a handful of people, not 85亿
    r24 = {
        i["binding"]: i
        for i in evaluate(session, 2024, as_of=date(2024, 12, 31), policy=policy)["indicators"]
    }
    assert Decimal(r24["loans_issued"]["actual"]["value"]) > 0
    assert Decimal(r24["withdrawals"]["actual"]["value"]) > 0
    assert Decimal(r24["value_added_distributed"]["actual"]["value"]) > 0
    assert r24["online_rate"]["actual"]["value"] is not None  # the withdrawal went through workflow
    # year to date: the first half of 2024, projected linearly for flows
    mid = evaluate(session, 2024, as_of=date(2024, 6, 30), policy=policy)
    c = next(i for i in mid["indicators"] if i["binding"] == "contributions")
    assert Decimal(c["projection"]) > Decimal(c["actual"]["value"])
    assert c["status"] in ("有风险", "进度正常") and mid["complete"] is False
    assert c["history"]["last_year"]["value"] == "7700000000"


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("HPF_ENV", "development")
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    capsys.readouterr()
    assert run(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_on_the_demo_books(
    cli_db: str, backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "linyi.txt"
    seed.write_bytes(sample_bytes())
    parsed = _json(capsys, ["goals", "import", str(seed), "--dry-run", "--json"])
    assert parsed["year"] == 2023 and len(parsed["indicators"]) == 13
    assert parsed["indicators"][0]["target"] == {
        "text": "85亿元",
        "kind": "amount",
        "op": ">=",
        "value": "8500000000",
    }
    assert run(["goals", "report", "--year", "2023", "--json"]) == 2  # dry run stored nothing
    assert "未导入" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_bytes(sample_bytes().replace("\t5万人\t".encode(), b"\t"))
    assert run(["goals", "import", str(bad)]) == 2
    assert "第 10 行" in capsys.readouterr().err
    assert run(["goals", "report", "--year", "2023", "--json"]) == 2  # nothing half-imported
    assert run(["goals", "import", str(seed)]) == 0
    assert run(["demo", "seed"]) == 0
    assert run(["goals", "actual", "--year", "2023", "--indicator", "8", "--value", "95%",
                "--evidence", "12345 通报"]) == 0  # fmt: skip
    assert run(["goals", "bind", "--year", "2023", "--indicator", "数据安全性",
                "--binding", "manual"]) == 0  # fmt: skip
    bindings = _json(capsys, ["goals", "bindings", "--year", "2023", "--json"])
    assert [b["binding"] for b in bindings if b["set_by_hand"]] == ["manual"]
    assert run(["goals", "bind", "--year", "2023", "--indicator", "12", "--binding", "x"]) == 2
    out = tmp_path / "self.xlsx"
    report = _json(capsys, ["goals", "report", "--year", "2023", "--json", "--xlsx", str(out)])
    annual = _json(capsys, ["report", "annual", "--year", "2023", "--json"])
    assert _check(report, annual) == 7
    by = {i["name"]: i for i in report["indicators"]}
    assert Decimal(by["住房公积金归集额"]["actual"]["value"]) > 0
    assert by["群众满意率"]["actual"]["value"] == "0.95"  # no tickets: the manual value
    again = parse_file(out.read_bytes(), out.name)
    assert len(again.rows) == 13 and again.rows[4].texts["objective"] == "控制个贷逾期率"
    import openpyxl

    sheet = openpyxl.load_workbook(out).worksheets[0]
    header = [c.value for c in sheet[2]]
    assert header[-4:] == ["实际完成值", "完成率", "完成状态", "佐证材料"]
    assert sheet.cell(6 + 7, 17).value == by["群众满意率"]["status"]
