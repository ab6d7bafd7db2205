"""The fund's own transactions (资金运用与财务收支), domain.md §7, each one journal.

- 定期存款: placing idle funds of 101 on fixed term (Dr 10102, Cr 101) and its maturity
  (Dr 101 principal + interest, Cr 10102 principal, Cr 40101 interest);
- 活期利息: interest on demand deposits, of 101 (Cr 40101) or of 102 (Cr 40102);
- 国家债券: purchase (Dr 124, Cr 101), coupon interest (Dr 101, Cr 40104), redemption (the
  maturity: Dr 101, Cr 124 and 40104);
- 手续费: fees paid to entrusted banks: collection (41102), loan agency (41103), other (41199);
- 划转: value-added income funds moved from 101 to 102; management expenses paid over
  (Dr 21902, Cr 102); the public-housing supplement paid over (Dr 21402, Cr 102).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.finance import books
from hpf.finance.models import Placement
from hpf.finance.value_added import MANAGEMENT_PAYABLE, FinanceError
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft, Leg, credit, debit
from hpf.ledger.service import post

FIXED_DEPOSITS = "10102"  # 住房公积金定期存款 (added by migration 0009)


@dataclass(frozen=True)
class Simple:
    """A one-debit, one-credit fund transaction: its names and accounts."""

    name_zh: str
    name_en: str
    debit: str
    credit: str


SIMPLE: dict[str, Simple] = {
    "deposit_interest": Simple(
        "住房公积金存款利息",
        "interest on HPF deposits",
        chart.HPF_BANK_DEPOSITS,
        chart.INCOME_HPF_DEPOSIT_INTEREST,
    ),
    "value_added_deposit_interest": Simple(
        "增值收益存款利息",
        "interest on value-added income deposits",
        chart.VALUE_ADDED_DEPOSITS,
        chart.INCOME_VALUE_ADDED_DEPOSIT_INTEREST,
    ),
    "national_debt_interest": Simple(
        "国家债券利息",
        "national-debt interest",
        chart.HPF_BANK_DEPOSITS,
        chart.INCOME_NATIONAL_DEBT_INTEREST,
    ),
    "other_income": Simple("其他收入", "other income", chart.HPF_BANK_DEPOSITS, chart.INCOME_OTHER),
    "collection_fee": Simple(
        "归集手续费",
        "collection fee paid to the bank",
        chart.EXPENSE_COLLECTION_FEES,
        chart.HPF_BANK_DEPOSITS,
    ),
    "loan_agency_fee": Simple(
        "委托贷款手续费",
        "loan agency fee paid to the bank",
        chart.EXPENSE_LOAN_AGENCY_FEES,
        chart.HPF_BANK_DEPOSITS,
    ),
    "other_expense": Simple(
        "其他支出", "other expense", chart.EXPENSE_OTHER, chart.HPF_BANK_DEPOSITS
    ),
    "value_added_transfer": Simple(
        "增值收益划转",
        "value-added income moved to its account",
        chart.VALUE_ADDED_DEPOSITS,
        chart.HPF_BANK_DEPOSITS,
    ),
    "management_fee_transfer": Simple(
        "管理费用上缴",
        "management expenses paid over",
        MANAGEMENT_PAYABLE,
        chart.VALUE_ADDED_DEPOSITS,
    ),
    "supplement_transfer": Simple(
        "廉租住房建设补充资金上缴",
        "public-housing supplement paid over",
        chart.PUBLIC_HOUSING_SUPPLEMENT,
        chart.VALUE_ADDED_DEPOSITS,
    ),
}
"""Transaction kind → accounts; the kind is also the journal kind."""

PLACEMENT_KINDS = {
    "fixed_deposit": (
        "fixed_deposit_placement",
        "fixed_deposit_maturity",
        FIXED_DEPOSITS,
        chart.INCOME_HPF_DEPOSIT_INTEREST,
    ),
    "national_debt": (
        "national_debt_purchase",
        "national_debt_redemption",
        chart.NATIONAL_DEBT,
        chart.INCOME_NATIONAL_DEBT_INTEREST,
    ),
}


def _amount(fen: int) -> int:
    if isinstance(fen, bool) or not isinstance(fen, int) or fen <= 0:
        raise InvalidInput("金额必须大于零", "the amount must be positive")
    return fen


def record(
    session: Session,
    kind: str,
    amount_fen: int,
    on: date,
    *,
    idempotency_key: str,
    memo: str = "",
    branch_id: int | None = None,
) -> int:
    """Post one simple fund transaction of ``kind`` (see ``SIMPLE``); returns the journal id."""
    spec = SIMPLE.get(kind)
    if spec is None:
        raise InvalidInput(
            f"未知的财务业务：{kind}（可选 {', '.join(SIMPLE)}）",
            f"unknown fund transaction: {kind} ({', '.join(SIMPLE)})",
        )
    fen = _amount(amount_fen)
    return post(
        session,
        JournalDraft(
            kind,
            branch_id if branch_id is not None else books.center_id(session),
            on,
            on,
            (debit(spec.debit, fen), credit(spec.credit, fen)),
            memo=(memo or spec.name_zh)[:200],
        ),
        idempotency_key=idempotency_key,
    ).journal_id


def place(
    session: Session,
    kind: str,
    amount_fen: int,
    on: date,
    matures_on: date,
    *,
    counterparty: str,
    annual_rate_pct: Decimal,
    idempotency_key: str,
    branch_id: int | None = None,
) -> Placement:
    """Place idle funds on fixed term (``fixed_deposit``) or buy national debt."""
    if kind not in PLACEMENT_KINDS:
        raise InvalidInput(f"未知的资金运用：{kind}", f"unknown placement kind: {kind}")
    existing = session.scalar(select(Placement).where(Placement.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    if matures_on <= on:
        raise InvalidInput("到期日应晚于存入日", "the maturity date must be after the placement")
    fen = _amount(amount_fen)
    open_kind, _, asset, _ = PLACEMENT_KINDS[kind]
    branch = branch_id if branch_id is not None else books.center_id(session)
    journal = post(
        session,
        JournalDraft(
            open_kind,
            branch,
            on,
            on,
            (debit(asset, fen), credit(chart.HPF_BANK_DEPOSITS, fen)),
            memo=f"{counterparty} 到期 {matures_on}"[:200],
        ),
        idempotency_key=idempotency_key,
    ).journal_id
    row = Placement(
        idempotency_key=idempotency_key,
        kind=kind,
        counterparty=counterparty[:60],
        principal_fen=fen,
        annual_rate_pct=annual_rate_pct,
        placed_on=on,
        matures_on=matures_on,
        status="open",
        interest_fen=0,
        branch_id=branch,
        journal_id=journal,
    )
    session.add(row)
    session.flush()
    return row


def mature(session: Session, placement_id: int, on: date, interest_fen: int) -> Placement:
    """Principal and interest back into 101 at maturity (or early redemption)."""
    row = session.get(Placement, placement_id)
    if row is None:
        raise InvalidInput(f"资金运用不存在：{placement_id}", f"no such placement: {placement_id}")
    if row.status != "open":
        raise FinanceError(
            f"资金运用 {placement_id} 已于 {row.matured_on} 到期收回",
            f"placement {placement_id} was already repaid on {row.matured_on}",
        )
    if isinstance(interest_fen, bool) or not isinstance(interest_fen, int) or interest_fen < 0:
        raise InvalidInput("利息不能为负", "interest cannot be negative")
    _, close_kind, asset, income = PLACEMENT_KINDS[row.kind]
    legs: list[Leg] = [
        debit(chart.HPF_BANK_DEPOSITS, row.principal_fen + interest_fen),
        credit(asset, row.principal_fen),
    ]
    if interest_fen:
        legs.append(credit(income, interest_fen))
    row.maturity_journal_id = post(
        session,
        JournalDraft(
            close_kind,
            row.branch_id,
            on,
            on,
            tuple(legs),
            memo=f"{row.counterparty} 到期收回"[:200],
        ),
        idempotency_key=f"placement:{row.id}:mature",
    ).journal_id
    row.status = "matured"
    row.interest_fen = interest_fen
    row.matured_on = on
    session.flush()
    return row
