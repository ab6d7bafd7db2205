"""``hpf finance`` and ``hpf report annual`` end to end on a committed database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import make_engine
from hpf.org.service import create_unit


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    engine = make_engine(fresh_db_url)
    with Session(engine) as session, session.begin():
        create_unit(session, code="C0", name="中心", kind="center")
    engine.dispose()
    yield fresh_db_url
    get_settings.cache_clear()


def test_transactions_distribute_close_statements_and_report(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            [
                "finance",
                "record",
                "deposit_interest",
                "10000.00",
                "--on",
                "2023-03-21",
                "--key",
                "k1",
            ]
        )
        == 0
    )
    assert (
        run(["finance", "record", "collection_fee", "1000.00", "--on", "2023-04-02", "--key", "k2"])
        == 0
    )
    assert (
        run(
            [
                "finance",
                "place",
                "fixed_deposit",
                "500000",
                "--on",
                "2023-05-01",
                "--matures",
                "2023-11-01",
                "--counterparty",
                "银行",
                "--rate",
                "1.5",
                "--key",
                "k3",
            ]
        )
        == 0
    )
    assert run(["finance", "mature", "1", "--on", "2023-11-01", "--interest", "3750.00"]) == 0
    assert run(["finance", "close", "--period", "2023-06"]) == 0
    capsys.readouterr()
    assert run(["finance", "record", "other_income", "1", "--on", "2023-06-30", "--key", "k4"]) == 2
    err = capsys.readouterr().err
    assert "2023-06" in err and "已结账" in err and "closed" in err
    assert run(["finance", "close", "--period", "2023"]) == 2
    assert "distribute" in capsys.readouterr().err
    assert (
        run(["finance", "distribute", "--year", "2023", "--management-budget", "2000", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["value_added_income"] == "12750.00"
    assert out["distribution"] == {
        "risk_reserve": "7650.00",
        "management_expenses": "2000.00",
        "public_housing_supplement": "3100.00",
    }
    assert run(["finance", "close", "--period", "2023"]) == 0
    assert run(["ledger", "verify"]) == 0
    capsys.readouterr()
    assert run(["finance", "statement", "trial-balance", "--period", "2023", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["balanced"] is True
    book = tmp_path / "fs.xlsx"
    assert run(["finance", "statement", "all", "--period", "2023", "--xlsx", str(book)]) == 0
    assert len(load_workbook(book).worksheets) == 4
    capsys.readouterr()
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    assert (
        run(
            [
                "report",
                "annual",
                "--year",
                "2023",
                "--json",
                "--xlsx",
                str(xlsx),
                "--html",
                str(html),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["year"] == 2023
    assert report["finance"]["value_added_income"] == "12750.00"
    assert report["finance"]["distribution"]["risk_reserve"] == "7650.00"
    assert report["risk"]["risk_reserve_balance"] == "7650.00"
    assert report["risk"]["reserve_adequacy"] is None  # no loans
    assert "增值收益" in html.read_text(encoding="utf-8")
    assert load_workbook(xlsx).worksheets[0]["A1"].value.startswith("2023")
    assert run(["report", "annual", "--year", "2023"]) == 2
