"""Small SQL builders shared by the checks: policy values by date, date shifts, JSON fields.

The policy is effective-dated data in a file, not a table; :func:`by_date` turns one parameter's
history into a ``CASE`` so a set-based query applies the entry in force on each row's own date.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Date, and_, case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from hpf.db.engine import is_sqlite
from hpf.loans.models import LoanParty
from hpf.policy.schema import PolicyEntry

E = TypeVar("E", bound=PolicyEntry)
Column = Any
"""A column or mapped attribute (SQLAlchemy's own union of both is private)."""


def by_date(column: Column, entries: Sequence[E], value: Callable[[E], Any]) -> ColumnElement[Any]:
    """``value(entry)`` of the entry in force on ``column`` (entries oldest first; NULL before)."""
    whens = [
        (column >= literal(entry.effective, Date), value(entry)) for entry in reversed(entries)
    ]
    return case(*whens, else_=None)


def days_before(session: Session, column: Column, days: int) -> ColumnElement[Any]:
    """``column`` (a date) minus ``days`` days, on either backend."""
    if is_sqlite(session):
        return func.date(column, f"-{days} days")
    shifted: ColumnElement[Any] = column - days  # PostgreSQL: date - integer is a date
    return shifted


def json_text(session: Session, column: Column, key: str) -> ColumnElement[Any]:
    """The text of ``key`` in a JSON text column (NULL when absent)."""
    if is_sqlite(session):
        return func.json_extract(column, f"$.{key}")
    text: ColumnElement[Any] = cast(column, JSONB)[key].astext
    return text


def as_date(session: Session, expr: Column) -> ColumnElement[Any]:
    """An ISO date text as a date value comparable with date columns on either backend."""
    return expr if is_sqlite(session) else cast(expr, Date)


def related(id_a: Column, id_b: Column) -> ColumnElement[bool]:
    """True when two ID numbers are the same person or parties of one loan (e.g. spouses)."""
    p1, p2 = LoanParty.__table__.alias("rel_a"), LoanParty.__table__.alias("rel_b")
    together = (
        select(literal(1))
        .select_from(p1.join(p2, p1.c.loan_id == p2.c.loan_id))
        .where(p1.c.id_number == id_a, p2.c.id_number == id_b)
        .exists()
    )
    return or_(id_a == id_b, together)


def within(column: Column, first: date, last: date) -> ColumnElement[bool]:
    return and_(column >= first, column <= last)
