"""``hpf withdrawals`` check / batch export / batch import / stats on a committed database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import unit_of_work
from hpf.policy.loader import get_policy
from withdrawal_books import make_withdrawal_books


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A committed database with one depositor (10,000.00 yuan) and one approved rent withdrawal."""
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    monkeypatch.delenv("HPF_POLICY_FILE", raising=False)
    get_settings.cache_clear()
    get_policy.cache_clear()
    with unit_of_work(fresh_db_url) as session:
        wb = make_withdrawal_books(session)
        person = wb.person(1_000_000)
        outcome = wb.apply(person, "rent", rent_months=2, cost_fen=300_000)
        wb.approve(outcome.withdrawal_id)
        ref = person.depositor_ref
    yield fresh_db_url, ref
    get_settings.cache_clear()


def test_check_allowed_refused_and_bad_input(
    cli_db: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _url, ref = cli_db
    args = ["withdrawals", "check", "--depositor", ref, "--on", "2024-10-10"]
    rent = [*args, "--type", "rent", "--months", "1", "--cost", "1200", "--all-docs"]
    assert run(rent) == 0
    out = capsys.readouterr().out
    assert "租房提取（提取原因 07）" in out and "可提取 1,200.00 元" in out
    assert run([*rent[:-1]]) == 1  # no documents
    assert "缺少申请材料：身份证、无房证明" in capsys.readouterr().out
    assert (
        run([*args, "--type", "retirement", "--event-date", "2024-10-01", "--all-docs", "--json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["allowed"] and data["closes_account"] and data["reason_code"] == "03"
    assert data["amount"] == "7000.00"
    for bad in (
        [*args, "--type", "holiday"],
        [*args, "--type", "rent", "--cost", "12.345"],
        ["withdrawals", "check", "--depositor", "nobody", "--type", "rent"],
        [*args, "--type", "rent", "--on", "2024-02-30"],
    ):
        assert run(bad) == 2, bad
        err = capsys.readouterr().err
        assert err.startswith("hpf: 错误 error:") and err.count("\n") == 1


def test_batch_export_import_twice_and_stats(
    cli_db: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "batch.csv"
    assert run(["withdrawals", "batch", "export", "--out", str(out), "--on", "2024-09-12"]) == 0
    assert "1 笔，合计 3,000.00 元" in capsys.readouterr().out
    assert run(["withdrawals", "batch", "export", "--out", str(out)]) == 2
    assert "文件已存在" in capsys.readouterr().err
    assert run(["withdrawals", "batch", "export", "--out", str(tmp_path / "again.csv")]) == 2
    assert "没有待支付的提取" in capsys.readouterr().err
    header, line = out.read_text(encoding="utf-8").strip().split("\n")
    result = tmp_path / "result.csv"
    result.write_text(f"{header},结果,说明\n{line},成功,\n", encoding="utf-8")
    argv = ["withdrawals", "batch", "import", str(result), "--on", "2024-09-12"]
    assert run(argv) == 0
    assert "支付成功 1 笔（3,000.00 元），失败退回 0 笔" in capsys.readouterr().out
    assert run(argv) == 0
    assert "此前已导入 1 笔" in capsys.readouterr().out
    assert run(["withdrawals", "batch", "import", str(tmp_path / "none.csv")]) == 2
    capsys.readouterr()
    stats = ["withdrawals", "stats", "--from", "2024-09-01", "--to", "2024-09-30"]
    assert run([*stats, "--by", "type,month"]) == 0
    text = capsys.readouterr().out
    assert "类型\t月份\t笔数\t金额(元)\t平均办理天数\t网办率" in text
    assert "租房\t2024-09\t1\t3,000.00\t2.0\t0%" in text
    assert run([*stats, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["type"] == "rent" and rows[0]["channel"] == "counter"
    assert rows[0]["amount"] == "3000.00" and rows[0]["month"] == "2024-09"
    assert run([*stats, "--by", "colour"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
