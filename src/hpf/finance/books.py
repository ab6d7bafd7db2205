"""Reading the books for fund accounting: chart accounts, their movements in a period, income
and expenses by line, balances at a date (domain.md §7).

Every figure is reckoned from postings by **posting date** (记账日期), the date periods close
on, so a closed period's figures never change: a correction posted later belongs to the
period it is posted in. Subsidiary accounts (one per depositor, employer, loan) are rolled up
into their control account in SQL, so a chart-level query returns a few dozen rows.

A reversal counts as the kind of the journal it reverses (its "effective kind").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.ledger import chart

CARRY_KIND = "value_added_carry"
"""结转: the year-end journal moving income and expenses into 311; not income or expense itself."""

EFFECTIVE_KIND = "COALESCE(o.kind, j.kind)"
JOURNALS = "JOIN ledger_journal j ON j.id = p.journal_id LEFT JOIN ledger_journal o ON o.id = j.reverses_id"
"""Postings ``p`` joined to their journal ``j`` and the journal ``o`` it reverses, if any."""

ACCOUNT_POSTINGS = "ledger_account a CROSS JOIN ledger_posting p"
"""Accounts ``a`` and their postings ``p`` (``WHERE p.account_id = a.id``), for the few accounts
of a category: SQLite keeps the order of a ``CROSS JOIN`` (PostgreSQL plans it like any join),
so it reads those accounts' postings by the (account, journal) index instead of every journal
of the period and all of its postings (a year's income lines at 1,000,000 depositors: 0.8 s
against minutes)."""

POSTED_FROM = (
    "p.journal_id >= (SELECT COALESCE(MIN(id), 0) FROM ledger_journal WHERE posting_date >= :s)"
)
"""Postings of journals dated ``:s`` or later have journal ids at least this: bounds the index
range read before the dates are checked (the dates are still checked)."""


@dataclass(frozen=True)
class ChartAccount:
    """A chart-of-accounts entry (not a subsidiary account)."""

    id: int
    code: str
    name: str
    category: str
    normal_side: str
    parent_id: int | None
    is_control: bool


@dataclass(frozen=True)
class Movement:
    """An account's opening balance, gross debits and credits in a period (debit-positive)."""

    opening: int = 0
    debit: int = 0
    credit: int = 0

    @property
    def closing(self) -> int:
        return self.opening + self.debit - self.credit


def chart_accounts(session: Session) -> list[ChartAccount]:
    """Every chart account (no subsidiaries), in code order."""
    rows = session.execute(
        text(
            "SELECT id, code, name, category, normal_side, parent_id, is_control "
            "FROM ledger_account WHERE subsidiary_kind IS NULL ORDER BY code"
        )
    )
    return [ChartAccount(int(r[0]), r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]


def movements(session: Session, start: date, end: date) -> dict[int, Movement]:
    """Chart account id → movement from ``start`` to ``end`` (inclusive), subsidiaries rolled
    into their control account; ancestors are not summed here (see ``rolled_up``)."""
    rows = session.execute(
        text(
            "SELECT CASE WHEN a.subsidiary_kind IS NULL THEN a.id ELSE a.parent_id END AS acct, "
            "SUM(CASE WHEN j.posting_date < :s THEN p.amount ELSE 0 END), "
            "SUM(CASE WHEN j.posting_date >= :s AND p.amount > 0 THEN p.amount ELSE 0 END), "
            "SUM(CASE WHEN j.posting_date >= :s AND p.amount < 0 THEN -p.amount ELSE 0 END) "
            "FROM ledger_posting p JOIN ledger_journal j ON j.id = p.journal_id "
            "JOIN ledger_account a ON a.id = p.account_id WHERE j.posting_date <= :e "
            "GROUP BY CASE WHEN a.subsidiary_kind IS NULL THEN a.id ELSE a.parent_id END"
        ),
        {"s": start, "e": end},
    )
    return {int(r[0]): Movement(int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in rows}


def rolled_up(accounts: Iterable[ChartAccount], own: dict[int, Movement]) -> dict[str, Movement]:
    """Code → movement of the account and all its chart descendants."""
    accounts = list(accounts)
    children: dict[int | None, list[ChartAccount]] = {}
    for a in accounts:
        children.setdefault(a.parent_id, []).append(a)

    def total(a: ChartAccount) -> Movement:
        m = own.get(a.id, Movement())
        o, d, c = m.opening, m.debit, m.credit
        for child in children.get(a.id, []):
            t = total(child)
            o, d, c = o + t.opening, d + t.debit, c + t.credit
        return Movement(o, d, c)

    return {a.code: total(a) for a in accounts}


def is_leaf(account: ChartAccount, accounts: Iterable[ChartAccount]) -> bool:
    """A chart account with no chart children (its subsidiaries, if any, are rolled into it)."""
    return not any(a.parent_id == account.id for a in accounts)


def lines_of_category(session: Session, category: str, start: date, end: date) -> dict[str, int]:
    """Leaf code → net amount in the account's normal direction, of ``category`` (income or
    expense) accounts posted from ``start`` to ``end``, the year-end carry excluded."""
    rows = session.execute(
        text(
            f"SELECT a.code, a.normal_side, SUM(p.amount) FROM {ACCOUNT_POSTINGS} {JOURNALS} "
            f"WHERE p.account_id = a.id AND a.category = :cat AND {POSTED_FROM} "
            "AND j.posting_date >= :s "
            f"AND j.posting_date <= :e AND {EFFECTIVE_KIND} <> :carry "
            "GROUP BY a.code, a.normal_side"
        ),
        {"cat": category, "s": start, "e": end, "carry": CARRY_KIND},
    )
    return {r[0]: (int(r[2]) if r[1] == "D" else -int(r[2])) for r in rows if r[2]}


def uncarried(session: Session, start: date, end: date) -> dict[str, int]:
    """Leaf code → net debit-positive amount of income and expense accounts posted in the
    period, carry included: what a year-end carry still has to move to 311."""
    rows = session.execute(
        text(
            f"SELECT a.code, SUM(p.amount) FROM {ACCOUNT_POSTINGS} "
            "JOIN ledger_journal j ON j.id = p.journal_id "
            "WHERE p.account_id = a.id AND a.category IN ('income', 'expense') "
            f"AND {POSTED_FROM} "
            "AND j.posting_date >= :s AND j.posting_date <= :e GROUP BY a.code ORDER BY a.code"
        ),
        {"s": start, "e": end},
    )
    return {r[0]: int(r[1]) for r in rows if r[1]}


_MATCHED = "(a.code = :c OR (a.subsidiary_kind IS NOT NULL AND c.code = :c))"
"""Account ``a`` (its parent ``c``) is ``:c`` itself or one of its subsidiary accounts."""


def balance_at(session: Session, code: str, on: date) -> int:
    """Debit-positive balance of ``code`` and its subsidiaries from postings dated ≤ ``on``
    (``balances_at`` for one day)."""
    return balances_at(session, code, [on])[on]


def balances_at(session: Session, code: str, days: Iterable[date]) -> dict[date, int]:
    """Debit-positive balance of ``code`` and its subsidiaries from postings dated ≤ each day.

    Reckoned backwards from the running balances (each equals the sum of its account's
    postings: ``hpf ledger verify`` proves it) less the postings dated after the day — one pass
    over the postings since the earliest day, summed by date — so the cost follows the postings
    since then (none at a year end closed today), not the whole history (millions of loan
    postings at a city's scale). Control accounts are left out of the sum: they take no
    postings, and their running balance is their children's.
    """
    wanted = sorted(set(days))
    if not wanted:
        return {}
    current = session.execute(
        text(
            "SELECT SUM(a.balance) FROM ledger_account a "
            "LEFT JOIN ledger_account c ON c.id = a.parent_id "
            f"WHERE {_MATCHED} AND a.is_control = FALSE"
        ),
        {"c": code},
    ).scalar()
    # Driven from the journals dated after the first day (their date index); CROSS JOIN keeps
    # that order on SQLite and is an ordinary join on PostgreSQL.
    later = session.execute(
        text(
            "SELECT j.posting_date, SUM(p.amount) FROM ledger_journal j "
            "CROSS JOIN ledger_posting p CROSS JOIN ledger_account a "
            "LEFT JOIN ledger_account c ON c.id = a.parent_id "
            f"WHERE j.posting_date > :d AND p.journal_id = j.id AND a.id = p.account_id "
            f"AND {_MATCHED} GROUP BY j.posting_date"
        ),
        {"c": code, "d": wanted[0]},
    ).all()
    moved = [
        (day if isinstance(day, date) else date.fromisoformat(str(day)), int(amount or 0))
        for day, amount in later
    ]
    total = int(current or 0)
    return {on: total - sum(amount for day, amount in moved if day > on) for on in wanted}


def loan_balance(session: Session, on: date) -> int:
    """个贷余额 from the ledger: 121 and 122 subsidiaries dated ≤ ``on`` (debit-positive)."""
    return balance_at(session, chart.ENTRUSTED_LOANS, on) + balance_at(
        session, chart.OVERDUE_LOANS, on
    )


def center_id(session: Session) -> int:
    """The org unit of the center (管理中心), to which the fund's own journals are booked."""
    from hpf.errors import InvalidInput

    value = session.execute(
        text("SELECT id FROM org_unit WHERE kind = 'center' ORDER BY id LIMIT 1")
    ).scalar()
    if value is None:
        raise InvalidInput("尚未建立管理中心", "no center: run hpf org init first")
    return int(value)
