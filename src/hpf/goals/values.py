"""Goal values (绩效指标值): a target or history cell of a goal table, read into kind, comparison
and a normalized number. Pure: no database.

Kinds and units (docs/goals.md):
- ``amount``: money in yuan — ``85亿元`` → ``8500000000`` (元/万元/亿元 are parsed by
  :mod:`hpf.money`, the one place amounts are parsed);
- ``count``: people, employers, items in units — ``5万人`` → ``50000``;
- ``ratio``: a fraction — ``90%`` → ``0.9``, ``< 0.3%`` → op ``<``, ``0.003``;
- ``text``: a qualitative statement (未发生影响业务系统运行的重大事故);
- ``none``: ``/`` or an empty cell (no value given).
A number without a comparison is a floor (op ``>=``); text and none carry op ``=``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from hpf.errors import InvalidInput
from hpf.money import FEN_PER_YUAN, parse_amount

Kind = Literal["amount", "count", "ratio", "text", "none"]
Op = Literal[">=", ">", "<=", "<", "="]

_NONE_TEXTS = frozenset({"", "/", "／", "-", "—", "——", "无", "n/a", "N/A"})
_OPS: tuple[tuple[str, Op], ...] = (
    (">=", ">="),
    ("≥", ">="),
    ("<=", "<="),
    ("≤", "<="),
    (">", ">"),
    ("＞", ">"),
    ("<", "<"),
    ("＜", "<"),
    ("=", "="),
    ("不低于", ">="),
    ("不少于", ">="),
    ("不超过", "<="),
    ("不高于", "<="),
    ("高于", ">"),
    ("超过", ">"),
    ("低于", "<"),
    ("小于", "<"),
    ("大于", ">"),
)
_SUFFIX_OPS: tuple[tuple[str, Op], ...] = (("以上", ">="), ("以下", "<="), ("以内", "<="))
_NUMBER = r"([0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)"
_AMOUNT_RE = re.compile(rf"^{_NUMBER}\s*(元|万元|亿元)$")
_RATIO_RE = re.compile(rf"^{_NUMBER}\s*[%％]$")
_PERMILLE_RE = re.compile(rf"^{_NUMBER}\s*‰$")
_COUNT_RE = re.compile(rf"^{_NUMBER}\s*(万|千)?\s*(人|户|家|个|笔|件|次|项|套|人次)?$")
_COUNT_SCALE = {"": 1, "千": 1_000, "万": 10_000}


@dataclass(frozen=True)
class GoalValue:
    """One cell of a goal table as written and as understood."""

    text: str
    kind: Kind
    op: Op
    value: Decimal | None

    def as_json(self) -> dict[str, str | None]:
        return {
            "text": self.text,
            "kind": self.kind,
            "op": self.op,
            "value": plain(self.value) if self.value is not None else None,
        }

    @property
    def quantitative(self) -> bool:
        return self.value is not None


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: ``8.5E+9`` → ``8500000000``, ``0.900`` → ``0.9``."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def parse_value(raw: object) -> GoalValue:
    """Read one cell (text as written, or a number from a workbook)."""
    if raw is None:
        return GoalValue("", "none", "=", None)
    if isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
        return GoalValue(str(raw), "count", ">=", Decimal(raw))
    if isinstance(raw, float):  # a workbook's number cell: exact enough through its repr
        return GoalValue(repr(raw), "count", ">=", Decimal(repr(raw)))
    text = " ".join(str(raw).split())
    if text in _NONE_TEXTS:
        return GoalValue(text, "none", "=", None)
    body = text.replace("，", ",").replace(" ", "")
    op: Op | None = None
    for word, word_op in _OPS:
        if body.startswith(word):
            op, body = word_op, body[len(word) :]
            break
    if op is None:
        for word, word_op in _SUFFIX_OPS:
            if body.endswith(word):
                op, body = word_op, body[: -len(word)]
                break
    number = _number(body)
    if number is None:
        return GoalValue(text, "text", "=", None)
    kind, value = number
    return GoalValue(text, kind, op or ">=", value)


def _number(body: str) -> tuple[Kind, Decimal] | None:
    try:
        if m := _AMOUNT_RE.match(body):
            return "amount", Decimal(parse_amount(body)) / FEN_PER_YUAN
        if m := _RATIO_RE.match(body):
            return "ratio", _dec(m.group(1)) / 100
        if m := _PERMILLE_RE.match(body):
            return "ratio", _dec(m.group(1)) / 1000
        if m := _COUNT_RE.match(body):
            return "count", _dec(m.group(1)) * _COUNT_SCALE[m.group(2) or ""]
    except (InvalidInput, InvalidOperation):
        return None
    return None


def _dec(digits: str) -> Decimal:
    return Decimal(digits.replace(",", ""))


def meets(actual: Decimal, op: Op, target: Decimal) -> bool:
    """Whether ``actual`` satisfies ``op target``."""
    if op == ">=":
        return actual >= target
    if op == ">":
        return actual > target
    if op == "<=":
        return actual <= target
    if op == "<":
        return actual < target
    return actual == target
