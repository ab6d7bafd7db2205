"""Journal kinds (业务类型) as people read them on statements and reports.

A journal's ``kind`` is a stable code written by the use case that posts it; this table gives
its Chinese and English names. An unknown code is shown as itself.
"""

from __future__ import annotations

JOURNAL_KINDS: dict[str, tuple[str, str]] = {
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
}


def kind_label(kind: str, lang: str = "zh_CN") -> str:
    """The name of a journal kind in ``lang`` (``en`` or Chinese); the code when unknown."""
    names = JOURNAL_KINDS.get(kind)
    if names is None:
        return kind
    return names[1] if lang.startswith("en") else names[0]
