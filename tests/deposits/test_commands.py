"""``hpf employers`` open / show / list / onboard end to end on a committed database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import make_engine
from hpf.identifiers import make_id_number, make_uscc
from hpf.org.service import create_unit

USCC = make_uscc("91371300MC0000001")


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    engine = make_engine(fresh_db_url)
    with Session(engine) as session, session.begin():
        create_unit(session, code="E0", name="中心", kind="center")
        create_unit(session, code="E1", name="兰山管理部", kind="branch", parent_code="E0")
    engine.dispose()
    yield fresh_db_url
    get_settings.cache_clear()


def employer_args(uscc: str = USCC) -> list[str]:
    return [
        "--uscc",
        uscc,
        "--name",
        "临沂一链公司",
        "--branch",
        "E1",
        "--employer-rate",
        "12",
        "--employee-rate",
        "12",
        "--opened",
        "2023-07-01",
    ]


def people_csv(tmp_path: Path, *bases: str) -> Path:
    lines = ["身份证号,姓名,缴存基数,手机号"]
    for i, base in enumerate(bases):
        person = make_id_number("371302", date(1991, 2, 1 + i), 700 + i, male=i % 2 == 0)
        lines.append(f"{person},职工{i},{base},1391234567{i}")
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert run(["employers", "list", "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_onboard_show_list_and_replay(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = people_csv(tmp_path, "5000", "6000.50")
    argv = ["employers", "onboard", "--file", str(path), *employer_args()]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "一链办理完成" in out and "开户/转入职工 2 人" in out
    assert run([*argv, "--json"]) == 0  # the same request again: replayed, nothing written
    replay = json.loads(capsys.readouterr().out)
    assert replay["replayed"] is True and len(replay["depositor_refs"]) == 2
    assert replay["total_yuan"] == "2640.12"  # 24% of 5,000 + 24% of 6,000.50 (1,440.12)
    data = listed(capsys)
    assert data["total"] == 1
    [row] = data["employers"]  # type: ignore[misc]
    assert row["active_depositors"] == 2 and row["status"] == "02"
    assert run(["employers", "show", replay["employer_ref"]]) == 0
    shown = capsys.readouterr().out
    assert "临沂一链公司" in shown and "正常缴存职工" in shown and "2 人" in shown
    assert run(["employers", "list"]) == 0
    assert "共 1 个单位" in capsys.readouterr().out


def test_onboard_with_a_bad_row_writes_nothing_and_exits_2(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = people_csv(tmp_path, "5000", "100")  # line 3 is below the base floor
    assert run(["employers", "onboard", "--file", str(path), *employer_args()]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "第 3 行" in err and "未写入任何数据" in err
    assert listed(capsys)["total"] == 0
    assert run(["employers", "onboard", "--file", str(path), "--check-only", *employer_args()]) == 2


def test_open_and_bad_input(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["employers", "open", *employer_args()]) == 0
    out = capsys.readouterr().out
    assert "已开户" in out and USCC in out
    assert run(["employers", "open", *employer_args()]) == 2  # the credit code is taken
    assert "已开户" in capsys.readouterr().err
    bad = employer_args(USCC[:-1] + ("0" if USCC[-1] != "0" else "1"))
    assert run(["employers", "open", *bad]) == 2
    assert "校验位" in capsys.readouterr().err
    assert run(["employers", "open", *employer_args()[:-1], "2023-13-01"]) == 2
    assert run(["employers", "show", "NOPE"]) == 2
    assert "单位账号不存在" in capsys.readouterr().err
    assert run(["employers", "list", "--status", "09"]) == 2
    assert run(["employers", "onboard", "--file", "/no/such.csv", *employer_args()]) == 2
    assert "无法读取文件" in capsys.readouterr().err
