"""The indicator registry (指标绑定): how each indicator's actual is computed from the books.

A binding is recognised from the indicator's meaning — keyword rules in ``bindings.toml``
(data, not code), tried on the name first, then on the explanation — and may be set by hand
for an indicator no rule knows (``hpf goals bind``). ``manual`` means actuals are entered by
hand with their evidence (``hpf goals actual``). Bindings table: docs/goals.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.goals import sources
from hpf.goals.sources import Actual, Period

Projection = Literal["linear", "level", "once"]
"""How a year-to-date actual projects to the full year: ``linear`` (a flow: scaled by days),
``level`` (a ratio or state: as it stands), ``once`` (posted once a year: as it stands)."""

MANUAL = "manual"


@dataclass(frozen=True)
class Binding:
    code: str
    title: str
    kind: Literal["amount", "count", "ratio", "text"]
    projection: Projection
    source: str
    """Where the figure comes from: the annual-report field it equals, or the area function."""
    compute: Callable[[Session, Period], Actual]


BINDINGS: dict[str, Binding] = {
    b.code: b
    for b in (
        Binding("contributions", "缴存额", "amount", "linear", "annual: deposits.contributions", sources.contributions),
        Binding("new_depositors", "新开户职工人数", "count", "linear", "annual: deposits.new_depositors", sources.new_depositors),
        Binding("withdrawals", "提取额", "amount", "linear", "annual: withdrawals.amount", sources.withdrawals),
        Binding("loans_issued", "个贷发放金额", "amount", "linear", "annual: loans.issued_amount", sources.loans_issued),
        Binding("overdue_ratio", "个贷逾期率", "ratio", "level", "annual: risk.overdue_ratio", sources.overdue_ratio),
        Binding("value_added_distributed", "增值收益分配额", "amount", "once", "annual: Σ finance.distribution", sources.value_added_distributed),
        Binding("interest_paid", "利息支出（个人结息）", "amount", "once", "annual: deposits.interest_credited", sources.interest_paid),
        Binding("satisfaction_rate", "群众满意率", "ratio", "level", "service_desk.stats.indicators", sources.satisfaction_rate),
        Binding("call_reply_rate", "来电答复率", "ratio", "level", "service_desk.stats.indicators", sources.call_reply_rate),
        Binding("system_stability", "系统稳定性（事故）", "text", "level", "ops.incidents.stability", sources.system_stability),
        Binding("eaudit_completion", "电子稽核完成情况", "text", "level", "eaudit.service.indicator", sources.eaudit_completion),
        Binding("data_security", "数据安全（事故）", "text", "level", "ops.security.data_security", sources.data_security),
        Binding("online_rate", "网办率", "ratio", "level", "workflow.stats.online_rate", sources.online_rate),
        Binding(MANUAL, "手工录入", "text", "level", "hpf goals actual", sources.manual),
    )
}  # fmt: skip


@dataclass(frozen=True)
class KeywordRule:
    binding: str
    keywords: tuple[str, ...]


@cache
def keyword_rules() -> tuple[KeywordRule, ...]:
    """The rules of ``bindings.toml``, in order; each names a known binding."""
    raw = tomllib.loads(resources.files("hpf.goals").joinpath("bindings.toml").read_text("utf-8"))
    rules = tuple(KeywordRule(r["binding"], tuple(r["keywords"])) for r in raw.get("rule", []))
    for rule in rules:
        if rule.binding not in BINDINGS:
            raise ValueError(f"bindings.toml names an unknown binding: {rule.binding}")
    return rules


def recognise(name: str, explanation: str = "") -> str:
    """The binding of an indicator, from its name, else its explanation; ``manual`` if none."""
    for text in (name, explanation):
        for rule in keyword_rules():
            if any(k in text for k in rule.keywords):
                return rule.binding
    return MANUAL


def binding(code: str) -> Binding:
    """The binding named ``code``; refused when unknown."""
    try:
        return BINDINGS[code]
    except KeyError:
        known = ", ".join(BINDINGS)
        raise InvalidInput(
            f"未知的指标绑定：{code}（可选：{known}）", f"unknown binding {code} (known: {known})"
        ) from None
