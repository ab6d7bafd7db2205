"""Account statement (对账单 / 明细账): the postings of one account with running balances.

Amounts are shown in the account's normal direction (a depositor's deposit is positive).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.ledger.models import Account, Journal, Posting
from hpf.ledger.rules import LedgerError


@dataclass(frozen=True)
class StatementLine:
    value_date: date
    posting_date: date
    journal_id: int
    kind: str
    memo: str
    amount_fen: int
    balance_fen: int


@dataclass(frozen=True)
class Statement:
    code: str
    name: str
    start: date
    end: date
    opening_fen: int
    lines: tuple[StatementLine, ...]

    @property
    def closing_fen(self) -> int:
        return self.lines[-1].balance_fen if self.lines else self.opening_fen


def account_statement(
    session: Session, code: str, start: date, end: date, *, limit: int = 5000
) -> Statement:
    """Postings value-dated in ``start``..``end`` in value-date then journal order."""
    account = session.scalar(select(Account).where(Account.code == code))
    if account is None:
        raise LedgerError(f"账户不存在：{code}", f"no such account: {code}")
    sign = 1 if account.normal_side == "D" else -1
    opening = session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(Journal, Journal.id == Posting.journal_id)
        .where(Posting.account_id == account.id, Journal.value_date < start)
    )
    running = sign * int(opening or 0)
    lines = []
    for row in session.execute(
        select(
            Journal.value_date,
            Journal.posting_date,
            Journal.id,
            Journal.kind,
            Journal.memo,
            Posting.amount,
        )
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Posting.account_id == account.id, Journal.value_date >= start, Journal.value_date <= end
        )
        .order_by(Journal.value_date, Journal.id, Posting.id)
        .limit(limit)
    ):
        running += sign * row.amount
        lines.append(
            StatementLine(
                row.value_date,
                row.posting_date,
                row.id,
                row.kind,
                row.memo,
                sign * row.amount,
                running,
            )
        )
    return Statement(code, account.name, start, end, sign * int(opening or 0), tuple(lines))
