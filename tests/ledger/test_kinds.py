"""Journal kinds have Chinese and English names; unknown codes show as themselves."""

from __future__ import annotations

from hpf.deposits.depositors import _closure_kind
from hpf.interest.service import CLOSURE_KIND, SETTLEMENT_KIND
from hpf.ledger.kinds import JOURNAL_KINDS, kind_label


def test_labels_by_language() -> None:
    assert kind_label("remittance") == "汇缴"
    assert kind_label("remittance", "en") == "monthly remittance"
    assert kind_label("interest_settlement", "zh_CN") == "年度结息"
    assert kind_label("no_such_kind", "en") == "no_such_kind"


def test_kinds_posted_by_the_services_are_named() -> None:
    posted = {SETTLEMENT_KIND, CLOSURE_KIND} | {_closure_kind(s) for s in ("03", "04", "05")}
    assert posted <= set(JOURNAL_KINDS)
    assert all(zh and en and zh != en for zh, en in JOURNAL_KINDS.values())
