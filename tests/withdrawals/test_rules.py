"""Withdrawal rules (提取规则), domain.md §5: one table per type, allowed and refused, with reasons.

Each row: a request and account facts changed from a type's good case, the expected outcome
(an amount in fen or a refusal code) and a piece of the Chinese reason the person sees.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.policy.loader import load_shipped_policy, parse_policy
from hpf.policy.schema import WithdrawalEntry
from hpf.withdrawals.rules import (
    TYPES,
    AccountFacts,
    LoanFact,
    PriorWithdrawal,
    Request,
    WithdrawalType,
    check_standing_order,
    evaluate,
    standing_installment,
)

T = WithdrawalType
ON = date(2024, 9, 10)
ME = "371302199001011234"
SPOUSE = "371302199105052222"
POLICY: WithdrawalEntry = load_shipped_policy().on(ON).withdrawal


def docs(t: WithdrawalType, policy: WithdrawalEntry = POLICY) -> frozenset[str]:
    return frozenset(getattr(policy.types, t.value).documents)


def account(**changes: Any) -> AccountFacts:
    base = AccountFacts(id_number=ME, status="01", balance_fen=10_000_000)  # 100,000.00 yuan
    return replace(base, **changes)


GOOD: dict[WithdrawalType, Request] = {
    T.PURCHASE: Request(
        T.PURCHASE, ON, event_date=date(2024, 5, 1), cost_fen=80_000_000, contract_ref="HT-1"
    ),
    T.BUILD: Request(T.BUILD, ON, event_date=date(2024, 6, 1), cost_fen=3_000_000),
    T.LOAN_REPAYMENT: Request(T.LOAN_REPAYMENT, ON, loan_ref="L-1"),
    T.RENT: Request(T.RENT, ON, rent_months=3, cost_fen=600_000),
    T.RETIREMENT: Request(T.RETIREMENT, ON, event_date=date(2024, 8, 1)),
    T.INCAPACITY: Request(T.INCAPACITY, ON, event_date=date(2024, 8, 1)),
    T.EMIGRATION: Request(T.EMIGRATION, ON, event_date=date(2024, 8, 1)),
    T.DEATH: Request(T.DEATH, ON, event_date=date(2024, 8, 1), heir_id=SPOUSE),
    T.SUBSISTENCE: Request(T.SUBSISTENCE, ON, event_date=date(2024, 3, 1)),
    T.UNEMPLOYMENT: Request(T.UNEMPLOYMENT, ON),
    T.ELEVATOR: Request(T.ELEVATOR, ON, event_date=date(2023, 12, 1), cost_fen=2_000_000),
    T.SERIOUS_ILLNESS: Request(
        T.SERIOUS_ILLNESS, ON, event_date=date(2024, 2, 1), cost_fen=5_000_000
    ),
}
GOOD_ACCOUNT: dict[WithdrawalType, AccountFacts] = {
    T.LOAN_REPAYMENT: account(
        loans=(LoanFact("L-1", "commercial", frozenset({SPOUSE}), 40_000_000),)
    ),
    T.INCAPACITY: account(status="02", frozen_on=date(2024, 8, 1)),
    T.UNEMPLOYMENT: account(status="02", frozen_on=date(2024, 3, 10)),
}

HPF_LOAN = LoanFact("G-9", "hpf", frozenset({ME}), 30_000_000)
SPOUSE_HPF_LOAN = LoanFact("G-8", "hpf", frozenset({SPOUSE}), 30_000_000)
OTHER_LOAN = LoanFact("L-1", "commercial", frozenset({"371302198001010000"}), 40_000_000)


def prior(t: WithdrawalType, on: date, fen: int = 100_000) -> tuple[PriorWithdrawal, ...]:
    return (PriorWithdrawal(t, on, fen),)


# (type, request changes, account changes, expected amount or refusal code, text in the reason)
CASES: list[tuple[WithdrawalType, dict[str, Any], dict[str, Any], int | str, str]] = [
    # 购买住房: price minus everything withdrawn against the same contract, by anyone
    (T.PURCHASE, {}, {}, 10_000_000, "可提取 100,000.00 元"),
    (T.PURCHASE, {"amount_fen": 5_000_000}, {}, 5_000_000, "50,000.00"),
    (T.PURCHASE, {}, {"contract_used_fen": 75_000_000}, 5_000_000, "50,000.00"),
    (
        T.PURCHASE,
        {"amount_fen": 6_000_000},
        {"contract_used_fen": 75_000_000},
        "amount_over_limit",
        "减同一合同已提取 750,000.00 元",
    ),
    (T.PURCHASE, {}, {"contract_used_fen": 80_000_000}, "contract_used_up", "不能再次使用"),
    (T.PURCHASE, {}, {"contract_price_fen": 90_000_000}, "contract_price_mismatch", "不符"),
    (T.PURCHASE, {"contract_ref": None}, {}, "contract_missing", "购房合同编号"),
    (T.PURCHASE, {"cost_fen": None}, {}, "cost_missing", "请填写购房总价"),
    (T.PURCHASE, {"event_date": date(2023, 8, 1)}, {}, "event_too_old", "超过 12 个月"),
    (T.PURCHASE, {"event_date": date(2024, 10, 1)}, {}, "event_in_future", "晚于申请日"),
    (T.PURCHASE, {"event_date": None}, {}, "event_date_missing", "购房合同签订日"),
    (T.PURCHASE, {"documents": frozenset({"身份证"})}, {}, "documents_missing", "购房发票"),
    (T.PURCHASE, {}, {"status": "06"}, "account_blocked", "冻结"),
    (T.PURCHASE, {}, {"status": "05"}, "account_closed", "已销户"),
    (T.PURCHASE, {"amount_fen": 0}, {}, "amount_not_positive", "大于零"),
    # 建造翻建大修: the cost; once a year, 12 months apart
    (T.BUILD, {}, {}, 3_000_000, "30,000.00"),
    (T.BUILD, {"amount_fen": 3_000_001}, {}, "amount_over_limit", "工程费用 30,000.00 元"),
    (T.BUILD, {}, {"prior": prior(T.BUILD, date(2024, 1, 5))}, "too_often_year", "每年最多 1 次"),
    (T.BUILD, {}, {"prior": prior(T.BUILD, date(2023, 12, 1))}, "too_soon", "2024-12-01 起"),
    (T.BUILD, {}, {"prior": prior(T.BUILD, date(2023, 9, 10))}, 3_000_000, "可提取"),
    # 偿还购房贷款: only the person's or the spouse's loan, at most its outstanding amount
    (T.LOAN_REPAYMENT, {"spouse_id": SPOUSE}, {}, 10_000_000, "可提取"),
    (T.LOAN_REPAYMENT, {}, {}, "loan_not_own", "不是本人或配偶的住房贷款"),
    (T.LOAN_REPAYMENT, {"spouse_id": SPOUSE}, {"loans": (OTHER_LOAN,)}, "loan_not_own", "L-1"),
    (T.LOAN_REPAYMENT, {"loan_ref": "G-9"}, {"loans": (HPF_LOAN,)}, 10_000_000, "可提取"),
    (
        T.LOAN_REPAYMENT,
        {"loan_ref": "G-9"},
        {"loans": (replace(HPF_LOAN, outstanding_fen=1_000),)},
        1_000,
        "10.00",
    ),
    (
        T.LOAN_REPAYMENT,
        {"loan_ref": "G-9"},
        {"loans": (replace(HPF_LOAN, outstanding_fen=0),)},
        "loan_repaid",
        "已还清",
    ),
    (T.LOAN_REPAYMENT, {"loan_ref": None}, {}, "loan_missing", "借款合同编号"),
    # 租房: caps per month and per year; no HPF loan outstanding; no own home
    (T.RENT, {}, {}, 450_000, "4,500.00"),  # 3 × 1,500 caps the 6,000 paid
    (T.RENT, {"cost_fen": 300_000}, {}, 300_000, "3,000.00"),
    (T.RENT, {"rent_months": 12, "cost_fen": 3_000_000}, {}, 1_800_000, "18,000.00"),
    (
        T.RENT,
        {"rent_months": 12, "cost_fen": 3_000_000},
        {"prior": prior(T.RENT, date(2024, 3, 1), 1_500_000)},
        300_000,
        "3,000.00",
    ),
    (
        T.RENT,
        {"amount_fen": 400_000},
        {"prior": prior(T.RENT, date(2024, 3, 1), 1_500_000)},
        "amount_over_limit",
        "年度上限 18,000.00 元减 2024 年已提取 15,000.00 元",
    ),
    (
        T.RENT,
        {},
        {"prior": prior(T.RENT, date(2024, 3, 1), 1_800_000)},
        "rent_year_used_up",
        "已达年度上限",
    ),
    (T.RENT, {}, {"prior": prior(T.RENT, date(2023, 12, 1), 1_800_000)}, 450_000, "可提取"),
    (T.RENT, {"amount_fen": 450_001}, {}, "amount_over_limit", "每月上限 1,500.00 元 × 3 个月"),
    (T.RENT, {}, {"loans": (HPF_LOAN,)}, "hpf_loan_outstanding", "住房公积金贷款"),
    (T.RENT, {"spouse_id": SPOUSE}, {"loans": (SPOUSE_HPF_LOAN,)}, "hpf_loan_outstanding", "配偶"),
    (T.RENT, {}, {"loans": (replace(HPF_LOAN, outstanding_fen=0),)}, 450_000, "可提取"),
    (T.RENT, {}, {"loans": (replace(HPF_LOAN, kind="commercial"),)}, 450_000, "可提取"),
    (T.RENT, {"owns_home": True}, {}, "owns_home", "自有住房"),
    (T.RENT, {"rent_months": 0}, {}, "rent_months", "1 到 12"),
    (T.RENT, {"cost_fen": None}, {}, "cost_missing", "已付房租"),
    (
        T.RENT,
        {},
        {"prior": tuple(PriorWithdrawal(T.RENT, date(2024, m, 1), 1) for m in (1, 3, 5, 7))},
        "too_often_year",
        "每年最多 4 次",
    ),
    # 离退休 / 丧失劳动能力 / 出境定居 / 死亡: the whole balance, the account closes
    (T.RETIREMENT, {}, {}, 10_000_000, "100,000.00"),
    (T.RETIREMENT, {"amount_fen": 1}, {}, 10_000_000, "100,000.00"),  # closure takes it all
    (T.RETIREMENT, {"event_date": date(2024, 10, 1)}, {}, "event_in_future", "退休日"),
    (T.RETIREMENT, {}, {"balance_fen": 0}, "no_balance", "余额为零"),
    (T.RETIREMENT, {"documents": frozenset({"身份证"})}, {}, "documents_missing", "退休证明"),
    (T.INCAPACITY, {}, {}, 10_000_000, "可提取"),
    (T.INCAPACITY, {}, {"status": "01", "frozen_on": None}, "still_employed", "终止劳动关系"),
    (T.EMIGRATION, {}, {}, 10_000_000, "可提取"),
    (T.EMIGRATION, {"documents": frozenset()}, {}, "documents_missing", "户籍注销证明"),
    (T.DEATH, {}, {}, 10_000_000, "可提取"),
    (T.DEATH, {"heir_id": None}, {}, "heir_missing", "继承人身份证号"),
    (T.DEATH, {"heir_id": ME}, {}, "heir_missing", "继承人"),
    # 低保: certificate within 12 months, once a year
    (T.SUBSISTENCE, {}, {}, 10_000_000, "可提取"),
    (T.SUBSISTENCE, {"event_date": date(2023, 9, 9)}, {}, "event_too_old", "低保证发证日"),
    (
        T.SUBSISTENCE,
        {},
        {"prior": prior(T.SUBSISTENCE, date(2024, 1, 2))},
        "too_often_year",
        "每年最多 1 次",
    ),
    # 离职封存满 6 个月
    (T.UNEMPLOYMENT, {}, {}, 10_000_000, "可提取"),
    (
        T.UNEMPLOYMENT,
        {},
        {"frozen_on": date(2024, 3, 11)},
        "frozen_too_short",
        "2024-09-11 起可申请",
    ),
    (T.UNEMPLOYMENT, {}, {"status": "01", "frozen_on": None}, "not_frozen", "封存状态"),
    # 加装电梯: own share of the cost, approval within 24 months
    (T.ELEVATOR, {}, {}, 2_000_000, "20,000.00"),
    (T.ELEVATOR, {"event_date": date(2022, 9, 9)}, {}, "event_too_old", "超过 24 个月"),
    (T.ELEVATOR, {"amount_fen": 2_000_001}, {}, "amount_over_limit", "个人分摊费用 20,000.00 元"),
    # 重大疾病: own medical costs
    (T.SERIOUS_ILLNESS, {}, {}, 5_000_000, "50,000.00"),
    (T.SERIOUS_ILLNESS, {"cost_fen": 0}, {}, "cost_missing", "个人负担医疗费用"),
    (T.SERIOUS_ILLNESS, {}, {"balance_fen": 3_000_000}, 3_000_000, "30,000.00"),
    (
        T.SERIOUS_ILLNESS,
        {"amount_fen": 3_000_001},
        {"balance_fen": 3_000_000},
        "amount_over_limit",
        "账户余额 30,000.00 元减最低留存 0.00 元",
    ),
]


@pytest.mark.parametrize(
    ("wtype", "req", "acct", "expected", "text"),
    CASES,
    ids=[f"{c[0].value}-{i}" for i, c in enumerate(CASES)],
)
def test_rules_table(
    wtype: WithdrawalType,
    req: dict[str, Any],
    acct: dict[str, Any],
    expected: int | str,
    text: str,
) -> None:
    request = replace(GOOD[wtype], **({"documents": docs(wtype)} | req))
    facts = replace(GOOD_ACCOUNT.get(wtype, account()), **acct)
    decision = evaluate(request, facts, POLICY)
    assert decision.reason_code == TYPES[wtype].reason_code
    if isinstance(expected, int):
        assert decision.allowed, decision.text_en
        assert decision.amount_fen == expected
        assert decision.closes_account == (
            wtype in (T.RETIREMENT, T.INCAPACITY, T.EMIGRATION, T.DEATH)
        )
    else:
        assert not decision.allowed
        assert expected in [r.code for r in decision.refusals], decision.text_en
        assert decision.amount_fen == 0
        assert all(r.zh and r.en for r in decision.refusals)
    assert text in decision.text_zh, decision.text_zh
    assert "\n" not in decision.text_zh


def test_every_type_has_a_table_row_both_ways() -> None:
    allowed = {c[0] for c in CASES if isinstance(c[3], int)}
    refused = {c[0] for c in CASES if isinstance(c[3], str)}
    assert allowed == refused == set(WithdrawalType)


def test_reason_codes_follow_jgj_t_320() -> None:
    codes = {t.value: TYPES[t].reason_code for t in WithdrawalType}
    assert codes["purchase"] == "01" and codes["build"] == "02" and codes["retirement"] == "03"
    assert codes["incapacity"] == "04" and codes["emigration"] == "05"
    assert codes["loan_repayment"] == "06" and codes["rent"] == "07" and codes["death"] == "08"
    assert codes["serious_illness"] == "09"
    assert {codes["subsistence"], codes["unemployment"], codes["elevator"]} == {"99"}


def test_several_refusals_are_all_given() -> None:
    request = Request(T.RENT, ON, rent_months=3, cost_fen=600_000, owns_home=True)
    decision = evaluate(request, account(status="06", loans=(HPF_LOAN,)), POLICY)
    codes = [r.code for r in decision.refusals]
    assert codes[:2] == ["account_blocked", "documents_missing"]
    assert {"hpf_loan_outstanding", "owns_home"} <= set(codes)
    assert decision.text_zh.count("；") == len(codes) - 1
    assert "the person owns a home" in decision.text_en


def _edited(old: str, new: str) -> WithdrawalEntry:
    text = load_shipped_policy_text()
    assert old in text, old
    return parse_policy(text.replace(old, new, 1), "edited").on(ON).withdrawal


def load_shipped_policy_text() -> str:
    return resources.files("hpf.policy").joinpath("linyi.toml").read_text(encoding="utf-8")


def test_a_center_changes_the_rules_in_the_policy_file() -> None:
    minimum = _edited('min_balance_yuan = "0"', 'min_balance_yuan = "10"')
    decision = evaluate(
        replace(GOOD[T.SERIOUS_ILLNESS], documents=docs(T.SERIOUS_ILLNESS)),
        account(balance_fen=3_000_000),
        minimum,
    )
    assert decision.amount_fen == 3_000_000 - 1_000
    rent = _edited('rent_cap_monthly_yuan = "1500"', 'rent_cap_monthly_yuan = "600"')
    decision = evaluate(replace(GOOD[T.RENT], documents=docs(T.RENT)), account(), rent)
    assert decision.amount_fen == 180_000
    off = _edited_type("elevator", enabled="false")
    decision = evaluate(replace(GOOD[T.ELEVATOR], documents=docs(T.ELEVATOR, off)), account(), off)
    assert [r.code for r in decision.refusals] == ["type_disabled"]
    assert "暂不办理既有住宅加装电梯提取" in decision.text_zh
    capped = _edited_type("serious_illness", documents='["诊断证明"]', cap_yuan='"20000"')
    request = replace(GOOD[T.SERIOUS_ILLNESS], documents=frozenset({"诊断证明"}))
    decision = evaluate(request, account(), capped)
    assert decision.amount_fen == 2_000_000
    over = evaluate(replace(request, amount_fen=2_000_001), account(), capped)
    assert "单次提取上限" in over.text_zh


def _edited_type(name: str, **values: str) -> WithdrawalEntry:
    """The shipped policy with keys of one [withdrawal.types.<name>] table changed."""
    text = load_shipped_policy_text()
    head, tail = text.split(f"[withdrawal.types.{name}]")
    for key, value in values.items():
        tail = re.sub(rf"^{key} = .*$", f"{key} = {value}", tail, count=1, flags=re.M)
    return parse_policy(f"{head}[withdrawal.types.{name}]{tail}", "edited").on(ON).withdrawal


def test_policy_refuses_a_closing_ground_that_does_not_close() -> None:
    with pytest.raises(InvalidInput, match="closes_account = true"):
        _edited_type("retirement", closes_account="false")


def test_standing_order_rule() -> None:
    facts = account(loans=(HPF_LOAN, OTHER_LOAN))
    assert (
        check_standing_order(
            facts, loan_ref="G-9", monthly_fen=200_000, spouse_id=None, policy=POLICY
        )
        == ()
    )
    refused = check_standing_order(
        facts, loan_ref="L-1", monthly_fen=200_000, spouse_id=None, policy=POLICY
    )
    assert [r.code for r in refused] == ["loan_not_own"]
    too_much = check_standing_order(
        facts, loan_ref="G-9", monthly_fen=30_000_001, spouse_id=None, policy=POLICY
    )
    assert [r.code for r in too_much] == ["amount_over_limit"]
    assert standing_installment(150_000, 200_000, POLICY) == 150_000
    assert standing_installment(500_000, 200_000, POLICY) == 200_000
    assert standing_installment(0, 200_000, POLICY) == 0


# --- property: never more than the balance above the minimum ----------------------------------

_policies = {
    fen: _edited('min_balance_yuan = "0"', f'min_balance_yuan = "{fen // 100}"')
    for fen in (0, 1_000_00, 50_000_00)
}


@settings(max_examples=400, deadline=None)
@given(
    wtype=st.sampled_from(list(WithdrawalType)),
    balance=st.integers(min_value=-1_000, max_value=50_000_000),
    minimum=st.sampled_from(sorted(_policies)),
    amount=st.none() | st.integers(min_value=-10, max_value=60_000_000),
    cost=st.integers(min_value=1, max_value=90_000_000),
    used=st.integers(min_value=0, max_value=90_000_000),
    months=st.integers(min_value=1, max_value=12),
    outstanding=st.integers(min_value=0, max_value=90_000_000),
)
def test_approved_amount_never_exceeds_available_balance(
    wtype: WithdrawalType,
    balance: int,
    minimum: int,
    amount: int | None,
    cost: int,
    used: int,
    months: int,
    outstanding: int,
) -> None:
    policy = _policies[minimum]
    request = replace(
        GOOD[wtype], documents=docs(wtype), amount_fen=amount, cost_fen=cost, rent_months=months
    )
    facts = replace(
        GOOD_ACCOUNT.get(wtype, account()),
        balance_fen=balance,
        contract_used_fen=used,
        loans=(LoanFact("L-1", "commercial", frozenset({ME}), outstanding),),
    )
    decision = evaluate(request, facts, policy)
    if not decision.allowed:
        assert decision.amount_fen == 0
        return
    assert decision.amount_fen > 0
    if decision.closes_account:
        assert decision.amount_fen == balance
    else:
        assert decision.amount_fen <= balance - policy.min_balance_fen
        assert amount is None or decision.amount_fen == amount
