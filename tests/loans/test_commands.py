"""``hpf loans`` show / schedule / overdue / reprice / collection / stats on a committed database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import unit_of_work
from hpf.policy.loader import get_policy
from loan_books import make_loan_books


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A committed database with one loan of 300,000.00 yuan disbursed on 2024-09-20."""
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    monkeypatch.delenv("HPF_POLICY_FILE", raising=False)
    get_settings.cache_clear()
    get_policy.cache_clear()
    with unit_of_work(fresh_db_url) as session:
        lb = make_loan_books(session)
        borrower, _ = lb.family(spouse=False)
        ref = lb.loan(borrower).loan_ref
    yield ref
    get_settings.cache_clear()


def test_loans_commands(cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = cli_db
    assert run(["loans", "show", ref]) == 0
    out = capsys.readouterr().out
    assert f"贷款账号 {ref}" in out and "还款中" in out and "300,000.00" in out
    assert run(["loans", "schedule", ref, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 240 and rows[0]["payment"] == "1641.36"
    debit_file = tmp_path / "debit.csv"
    assert (
        run(["loans", "collection", "export", "--out", str(debit_file), "--on", "2024-10-20"]) == 0
    )
    assert "1 笔，合计 1,641.36 元" in capsys.readouterr().out
    lines = list(csv.reader(io.StringIO(debit_file.read_text(encoding="utf-8"))))
    result = io.StringIO()
    writer = csv.writer(result, lineterminator="\n")
    writer.writerow([*lines[0], "结果", "说明"])
    writer.writerow([*lines[1], "成功", ""])
    result_file = tmp_path / "result.csv"
    result_file.write_text(result.getvalue(), encoding="utf-8")
    for unchanged in ("0", "1"):
        assert run(["loans", "collection", "import", str(result_file), "--on", "2024-10-20"]) == 0
        assert f"此前已导入 {unchanged} 笔" in capsys.readouterr().out
    assert run(["loans", "overdue", "run", "--on", "2024-12-01"]) == 0
    out = capsys.readouterr().out
    assert "逾期贷款 1 笔" in out and "合计" in out
    assert run(["loans", "overdue", "ratio", "--on", "2024-12-01", "--json"]) == 0
    total = json.loads(capsys.readouterr().out)[-1]
    assert total["overdue"] == "931.07" and total["balance"] == "299071.14"
    assert run(["loans", "reprice", "--on", "2026-01-01"]) == 0
    assert "调整贷款 1 笔" in capsys.readouterr().out
    assert run(["loans", "stats", "--from", "2024-09-01", "--to", "2024-10-31", "--json"]) == 0
    months = json.loads(capsys.readouterr().out)
    assert [m["month"] for m in months] == ["2024-09", "2024-10"]
    assert months[0]["issued"] == 1 and months[0]["issued_amount"] == "300000.00"
    assert months[1]["repaid"] == "1641.36" and months[1]["balance"] == "299071.14"
    for bad in (
        ["loans", "show", "DK9999999999"],
        ["loans", "overdue", "run", "--on", "2024-02-30"],
        ["loans", "stats", "--from", "2024-10-01", "--to", "2024-09-01"],
        ["loans", "collection", "export", "--out", str(debit_file)],
    ):
        assert run(bad) == 2, bad
        err = capsys.readouterr().err
        assert err.startswith("hpf: 错误 error:") and err.count("\n") == 1
