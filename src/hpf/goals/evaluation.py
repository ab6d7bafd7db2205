"""Judging an indicator (绩效自评): completion, full-year projection and status. Pure.

Statuses (docs/goals.md):
- 达成 achieved: the year is over and the target is met; or, during the year, a cumulative
  floor (an amount or count to reach) is already reached;
- 进度正常 on track: during the year, the projection (or, for a ratio or state, the value as it
  stands) meets the target;
- 有风险 at risk: during the year, it does not (or there is no data yet);
- 未达成 not achieved: the year is over and the target is not met (or there is no evidence);
  or a qualitative target already broken (a major incident happened).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from hpf.goals.values import GoalValue, meets
from hpf.money import round_half_up

Status = Literal["达成", "进度正常", "有风险", "未达成"]
ACHIEVED: Status = "达成"
ON_TRACK: Status = "进度正常"
AT_RISK: Status = "有风险"
NOT_ACHIEVED: Status = "未达成"
STATUS_EN = {
    ACHIEVED: "achieved",
    ON_TRACK: "on track",
    AT_RISK: "at risk",
    NOT_ACHIEVED: "not achieved",
}
PLACES = Decimal("0.000001")


def project(value: Decimal | None, projection: str, year: int, end: date) -> Decimal | None:
    """Full-year projection of a year-to-date ``value`` (``linear``: scaled by days)."""
    if value is None:
        return None
    first, last = date(year, 1, 1), date(year, 12, 31)
    if projection != "linear" or end >= last:
        return value
    elapsed = (end - first).days + 1
    total = (last - first).days + 1
    return round_half_up(value * total / elapsed, Decimal("0.01"))


def completion(target: GoalValue, value: Decimal | None, met: bool | None) -> Decimal | None:
    """完成率: actual / target for a floor; 1 when a ceiling is kept, else target / actual;
    1 or 0 for a qualitative target with a judgement; None without data."""
    if target.value is None or value is None:
        return None if met is None else Decimal(1 if met else 0)
    if target.op in (">=", ">", "="):
        if target.value == 0:
            return Decimal(1) if value >= 0 else Decimal(0)
        return round_half_up(value / target.value, PLACES)
    if meets(value, target.op, target.value) or value == 0:
        return Decimal(1)
    return round_half_up(target.value / value, PLACES)


def status(
    target: GoalValue,
    value: Decimal | None,
    met: bool | None,
    projected: Decimal | None,
    *,
    complete: bool,
    cumulative: bool,
) -> Status:
    """The status of one indicator (see the module docstring)."""
    if target.value is None or (value is None and met is not None):
        if met is None:
            return NOT_ACHIEVED if complete else AT_RISK
        if not met:
            return NOT_ACHIEVED
        return ACHIEVED if complete else ON_TRACK
    if value is None:
        return NOT_ACHIEVED if complete else AT_RISK
    ok = meets(value, target.op, target.value)
    if complete:
        return ACHIEVED if ok else NOT_ACHIEVED
    if cumulative and target.op in (">=", ">"):
        if ok:
            return ACHIEVED
        ok = projected is not None and meets(projected, target.op, target.value)
    return ON_TRACK if ok else AT_RISK


def judge_text(actual_text: str, target: GoalValue) -> bool | None:
    """Whether a qualitative actual entered by hand says the target is met."""
    text = actual_text.strip().lower()
    if text in {"达成", "已达成", "完成", "已完成", "是", "yes", "met", "true", "无"}:
        return True
    if text in {"未达成", "未完成", "否", "no", "not met", "false"}:
        return False
    if target.text and text == target.text.strip().lower():
        return True
    return None
