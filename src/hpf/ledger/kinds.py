"""Journal kinds (业务类型) as people read them on statements and reports.

A journal's ``kind`` is a stable code written by the use case that posts it; this table gives
its Chinese and English names. An unknown code is shown as itself.
"""

from __future__ import annotations

JOURNAL_KINDS: dict[str, tuple[str, str]] = {
    "opening_balance": ("期初余额迁移", "opening balances migrated"),
    "remittance": ("汇缴", "monthly remittance"),
    "back_payment": ("补缴", "back payment"),
    "funds_received": ("单位汇缴到账", "funds received"),
    "overpayment_refund": ("多缴退款", "overpayment refund"),
    "transfer_in": ("转入", "transfer in"),
    "transfer_out": ("转出", "transfer out"),
    "merge": ("账户合并", "account merge"),
    "interest_settlement": ("年度结息", "annual interest"),
    "closure_interest": ("销户结息", "interest on closure"),
    "partial_withdrawal": ("部分提取", "partial withdrawal"),
    "closing_withdrawal": ("销户提取", "withdrawal and closure"),
    "withdrawal_payment": ("提取支付", "withdrawal payment"),
    "reversal": ("冲正", "reversal"),
    "loan_disbursement": ("贷款发放", "loan disbursement"),
    "loan_repayment": ("贷款还款", "loan repayment"),
    "loan_prepayment": ("提前还款", "loan prepayment"),
    "value_added_carry": ("结转增值收益", "income and expenses carried to value-added income"),
    "value_added_distribution": ("增值收益分配", "value-added income distribution"),
    "distribution_close": ("结转增值收益分配", "distribution closed into value-added income"),
    "fixed_deposit_placement": ("定期存款存入", "fixed-term deposit placed"),
    "fixed_deposit_maturity": ("定期存款到期", "fixed-term deposit matured"),
    "national_debt_purchase": ("购买国家债券", "national debt bought"),
    "national_debt_redemption": ("国家债券兑付", "national debt redeemed"),
    "deposit_interest": ("住房公积金存款利息", "interest on HPF deposits"),
    "value_added_deposit_interest": ("增值收益存款利息", "interest on value-added deposits"),
    "national_debt_interest": ("国家债券利息", "national-debt interest"),
    "other_income": ("其他收入", "other income"),
    "collection_fee": ("归集手续费", "collection fee"),
    "loan_agency_fee": ("委托贷款手续费", "loan agency fee"),
    "other_expense": ("其他支出", "other expense"),
    "value_added_transfer": ("增值收益划转", "value-added income moved"),
    "management_fee_transfer": ("管理费用上缴", "management expenses paid over"),
    "supplement_transfer": ("廉租住房补充资金上缴", "public-housing supplement paid over"),
}


def kind_label(kind: str, lang: str = "zh_CN") -> str:
    """The name of a journal kind in ``lang`` (``en`` or Chinese); the code when unknown."""
    names = JOURNAL_KINDS.get(kind)
    if names is None:
        return kind
    return names[1] if lang.startswith("en") else names[0]
