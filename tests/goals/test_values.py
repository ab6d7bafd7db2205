"""Goal values: kind, comparison and normalized number of a goal-table cell."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hpf.goals.values import meets, parse_value


@pytest.mark.parametrize(
    ("text", "kind", "op", "value"),
    [
        ("85亿元", "amount", ">=", "8500000000"),
        ("4.57亿元", "amount", ">=", "457000000"),
        ("72.33亿元", "amount", ">=", "7233000000"),
        ("300万元", "amount", ">=", "3000000"),
        ("1,234.5元", "amount", ">=", "1234.5"),
        ("5万人", "count", ">=", "50000"),
        ("4.2万人", "count", ">=", "42000"),
        ("120笔", "count", ">=", "120"),
        ("90%", "ratio", ">=", "0.9"),
        ("100%", "ratio", ">=", "1"),
        ("< 0.3%", "ratio", "<", "0.003"),
        ("≤0.3%", "ratio", "<=", "0.003"),
        ("不低于 95%", "ratio", ">=", "0.95"),
        ("0.3%以下", "ratio", "<=", "0.003"),
        ("/", "none", "=", None),
        ("", "none", "=", None),
        ("未发生影响业务系统运行的重大事故", "text", "=", None),
        ("每月完成一次电子稽核", "text", "=", None),
    ],
)
def test_cells_are_read_into_kind_op_and_normalized_value(
    text: str, kind: str, op: str, value: str | None
) -> None:
    v = parse_value(text)
    assert (v.kind, v.op) == (kind, op)
    assert v.as_json() == {"text": text, "kind": kind, "op": op, "value": value}


def test_workbook_numbers_and_comparisons() -> None:
    assert parse_value(12).as_json()["value"] == "12"
    assert parse_value(None).kind == "none"
    assert meets(Decimal("0.002"), "<", Decimal("0.003"))
    assert not meets(Decimal("0.003"), "<", Decimal("0.003"))
    assert meets(Decimal("0.003"), "<=", Decimal("0.003"))
    assert meets(Decimal(9), ">=", Decimal(9)) and not meets(Decimal(9), ">", Decimal(9))
