"""Completion, projection and status (达成/进度正常/有风险/未达成) of one indicator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hpf.goals.evaluation import completion, judge_text, project, status
from hpf.goals.values import parse_value

FLOOR = parse_value("100万元")
CEILING = parse_value("< 0.3%")
TEXT = parse_value("无数据泄露等事故发生")


def test_linear_projection_scales_by_days_others_stand() -> None:
    assert project(Decimal(181), "linear", 2023, date(2023, 6, 30)) == Decimal("365.00")
    assert project(Decimal(5), "level", 2023, date(2023, 6, 30)) == Decimal(5)
    assert project(Decimal(5), "linear", 2023, date(2023, 12, 31)) == Decimal(5)
    assert project(None, "linear", 2023, date(2023, 6, 30)) is None


def test_status_of_a_floor() -> None:
    def s(value: str, projected: str, complete: bool) -> str:
        return status(
            FLOOR, Decimal(value), None, Decimal(projected), complete=complete, cumulative=True
        )

    assert s("1000000", "1000000", True) == "达成"
    assert s("999999", "999999", True) == "未达成"
    assert s("1000000", "2000000", False) == "达成"  # a cumulative floor already reached
    assert s("500000", "1000001", False) == "进度正常"
    assert s("400000", "800000", False) == "有风险"
    assert status(FLOOR, None, None, None, complete=False, cumulative=True) == "有风险"
    assert status(FLOOR, None, None, None, complete=True, cumulative=True) == "未达成"


def test_status_of_a_ceiling_and_of_a_qualitative_target() -> None:
    low, high = Decimal("0.001"), Decimal("0.004")
    assert status(CEILING, low, None, low, complete=False, cumulative=False) == "进度正常"
    assert status(CEILING, high, None, high, complete=False, cumulative=False) == "有风险"
    assert status(CEILING, high, None, high, complete=True, cumulative=False) == "未达成"
    assert status(TEXT, None, True, None, complete=False, cumulative=False) == "进度正常"
    assert status(TEXT, None, True, None, complete=True, cumulative=False) == "达成"
    assert status(TEXT, None, False, None, complete=False, cumulative=False) == "未达成"


def test_completion() -> None:
    assert completion(FLOOR, Decimal(500000), None) == Decimal("0.5")
    assert completion(CEILING, Decimal("0.001"), None) == Decimal(1)
    assert completion(CEILING, Decimal("0.006"), None) == Decimal("0.5")
    assert completion(TEXT, None, True) == Decimal(1)
    assert completion(TEXT, None, None) is None
    assert judge_text("达成", TEXT) is True
    assert judge_text("无数据泄露等事故发生", TEXT) is True
    assert judge_text("未达成", TEXT) is False
    assert judge_text("有待核实", TEXT) is None
