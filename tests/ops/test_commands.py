"""The CLI groups of this issue on a committed database: tickets, audit, incidents, exchange,
backup, workflow online-rate; Chinese output, one-line errors with exit code 2.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from hpf.auth import passwords
from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import unit_of_work
from hpf.policy.loader import get_policy
from withdrawal_books import make_withdrawal_books


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    monkeypatch.delenv("HPF_POLICY_FILE", raising=False)
    get_settings.cache_clear()
    get_policy.cache_clear()
    with unit_of_work(fresh_db_url) as session:
        person = make_withdrawal_books(session).person(1_000_000)
        ref = person.depositor_ref
    yield ref
    get_settings.cache_clear()


def test_tickets_audit_incidents(
    cli_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        run(
            [
                "tickets",
                "add",
                "--channel",
                "12329",
                "--topic",
                "提取咨询",
                "--at",
                "2023-05-02 09:00",
            ]
        )
        == 0
    )
    number = capsys.readouterr().out.split()[1]
    assert number.startswith("GD20230502")
    assert run(["tickets", "reply", number, "--text", "已答复", "--at", "2023-05-02 10:00"]) == 0
    assert "时限内" in capsys.readouterr().out
    assert run(["tickets", "callback", number, "--rating", "满意", "--at", "2023-05-03 10:00"]) == 0
    export = tmp_path / "t.csv"
    export.write_text(
        "工单编号,受理时间,来源渠道,诉求主题\nP-1,2023-05-04 08:00,12345,贷款\n", encoding="utf-8"
    )
    assert run(["tickets", "import", str(export)]) == 0
    capsys.readouterr()
    assert run(["tickets", "stats", "--from", "2023-05-01", "--to", "2023-05-31", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["calls"], data["calls_replied_on_time"], data["satisfaction_rate"]) == (2, 1, "1")
    for bad in (
        ["tickets", "add", "--channel", "传真", "--topic", "x"],
        ["tickets", "reply", "NOPE", "--text", "x"],
        ["tickets", "import", str(export)],  # already imported: the whole file is refused
        ["tickets", "stats", "--from", "2023-13-01", "--to", "2023-05-31"],
        ["audit", "run", "--month", "2023-13"],
        ["audit", "close", "999", "--evidence", "x"],
        ["incidents", "log", "--severity", "major", "--title", "宕机"],
    ):
        assert run(bad) == 2, bad
        err = capsys.readouterr().err
        assert err.count("\n") <= 2 and "错误" in err
    assert run(["audit", "run", "--month", "2023-05", "--on", "2023-06-05"]) == 0
    assert "稽核完成" in capsys.readouterr().out
    assert run(["audit", "list", "--month", "2023-05", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(["audit", "indicator", "--from", "2023-05", "--to", "2023-05", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["months_run"] == 1
    assert (
        run(
            [
                "incidents",
                "log",
                "--severity",
                "major",
                "--line",
                "loan",
                "--title",
                "宕机",
                "--at",
                "2023-05-03 09:00",
            ]
        )
        == 0
    )
    assert run(["incidents", "security-sync"]) == 0
    capsys.readouterr()
    assert run(["incidents", "stats", "--from", "2023-05-01", "--to", "2023-05-31", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["major"] == 1
    assert run(["workflow", "online-rate", "--from", "2023-05", "--to", "2023-06", "--json"]) == 0


def test_exchange_and_backup(
    cli_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "exchange"
    assert run(["exchange", "export", "--to", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["DK.csv", "DW.csv", "GR.csv", "GRMX.csv"]
    with (out / "GR.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["GRZH"] for r in rows] == [cli_db]
    assert rows[0]["GRZHYE"] == "10000.00" and rows[0]["GRJCJS"] == "5000.00"
    assert rows[0]["DWYJCE"] == "600.00"  # 5,000 × 12 %
    backups = tmp_path / "backups"
    for _ in range(3):
        assert run(["backup", "create", "--to", str(backups), "--keep", "2"]) == 0
    made = sorted(backups.iterdir())
    assert len(made) == 2
    capsys.readouterr()
    assert run(["backup", "verify", str(made[-1])]) == 0
    assert "备份完好" in capsys.readouterr().out
    assert run(["backup", "restore", str(made[-1])]) == 2  # the database exists: --force
    assert run(["backup", "restore", str(made[-1]), "--force"]) == 0
    assert "演练通过" in capsys.readouterr().out
    assert run(["backup", "create", "--to", str(backups), "--keep", "0"]) == 2
