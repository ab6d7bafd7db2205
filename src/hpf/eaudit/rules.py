"""The e-audit rule set (电子稽核规则): rules as data (code, names, area, deadline) plus one check each.

domain.md §9 lists what hpf's own rule set must cover; the national list is not public. A check is
a small function over the books, set-based SQL, returning :class:`Finding` values; it never
writes. :data:`RULES` is the registry ``hpf audit run`` walks, in order. Parameters the sources
do not give are *placeholders* in :class:`hpf.eaudit.context.AuditParams`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpf.eaudit import checks_benefits as b
from hpf.eaudit import checks_deposits as d
from hpf.eaudit.context import Check
from hpf.errors import InvalidInput


@dataclass(frozen=True)
class Rule:
    """One rule: what it looks for, which books, and the function that looks."""

    code: str
    name_zh: str
    name_en: str
    area: str
    """deposits | withdrawals | loans | identity."""
    check: Check


def _registry() -> tuple[Rule, ...]:
    return (
        Rule(
            "base_out_of_range",
            "缴存基数超上限或低于下限",
            "contribution base above the cap or below the floor",
            "deposits",
            d.base_out_of_range,
        ),
        Rule(
            "rate_out_of_range",
            "缴存比例超出政策范围",
            "contribution rate outside the policy range",
            "deposits",
            d.rate_out_of_range,
        ),
        Rule(
            "frozen_account_payment",
            "向封存超过六个月的账户缴存",
            "contributions to an account frozen for more than six months",
            "deposits",
            d.frozen_account_payment,
        ),
        Rule(
            "id_check_digit",
            "身份证号码校验位错误",
            "ID number failing the check digit",
            "identity",
            d.id_check_digit,
        ),
        Rule(
            "activity_after_end",
            "死亡或销户后仍有业务",
            "activity after a recorded death or an account's closure",
            "deposits",
            d.activity_after_end,
        ),
        Rule(
            "withdrawal_after_back_payment",
            "异常补缴后30日内提取",
            "withdrawal within 30 days of an unusual back payment",
            "withdrawals",
            b.withdrawal_after_back_payment,
        ),
        Rule(
            "contract_reused",
            "购房合同被无关人员重复使用",
            "purchase contract reused by unrelated people",
            "withdrawals",
            b.contract_reused,
        ),
        Rule(
            "shared_bank_card",
            "无关人员使用同一银行卡",
            "the same bank card for unrelated people",
            "withdrawals",
            b.shared_bank_card,
        ),
        Rule(
            "second_hpf_loan",
            "本人或配偶尚有未结清公积金贷款",
            "loan to a person or spouse with another HPF loan outstanding",
            "loans",
            b.second_hpf_loan,
        ),
        Rule(
            "loan_limit_inconsistent",
            "贷款额度与审批时数据不符",
            "loan limit inconsistent with the data at approval",
            "loans",
            b.loan_limit_inconsistent,
        ),
        Rule(
            "loan_rate_off_policy",
            "贷款利率与政策利率不符",
            "loan rate differs from the policy rate",
            "loans",
            b.loan_rate_off_policy,
        ),
    )


RULES: tuple[Rule, ...] = _registry()
RULES_BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}


def rule(code: str) -> Rule:
    found = RULES_BY_CODE.get(code.strip())
    if found is None:
        raise InvalidInput(
            f"未知的稽核规则：{code}（可用：{'、'.join(RULES_BY_CODE)}）",
            f"unknown audit rule: {code}",
        )
    return found
