"""Month-end and year-end close (期末结账), domain.md §7.

- A month (``2023-06``) closes as it stands: postings dated up to its last day are refused
  afterwards. December closes only with its year, because the year's carry and distribution
  are dated December 31.
- A year (``2023``) closes after its value-added income has been carried and distributed
  (``hpf finance distribute``): the close refuses while any income or expense of the year is
  left uncarried, then locks the whole year.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from hpf.finance import books
from hpf.finance.value_added import FinanceError, distribution_of
from hpf.ledger.periods import ClosedPeriod, Period, close_period, parse_period
from hpf.money import format_yuan


def close(session: Session, period: str, *, closed_by: str = "") -> ClosedPeriod:
    """Close a month or a year (see the module doc); nothing is committed here."""
    target: Period = parse_period(period)
    if target.kind == "month" and target.start.month == 12:
        raise FinanceError(
            f"十二月随年度结账：请先分配增值收益，再执行 hpf finance close --period {target.year}",
            f"December closes with its year: distribute, then hpf finance close --period "
            f"{target.year}",
        )
    if target.kind == "year":
        _require_carried(session, target.year)
    return close_period(session, target, closed_by=closed_by)


def _require_carried(session: Session, year: int) -> None:
    left = books.uncarried(session, date(year, 1, 1), date(year, 12, 31))
    if distribution_of(session, year) is None:
        if not left:
            return  # nothing earned or spent: nothing to distribute
        raise FinanceError(
            f"{year} 年度增值收益尚未分配：请先执行 hpf finance distribute --year {year}",
            f"the value-added income of {year} is not distributed yet: run hpf finance "
            f"distribute --year {year} first",
        )
    if left:
        code, fen = next(iter(left.items()))
        raise FinanceError(
            f"{year} 年度分配后又有收支记入（如科目 {code} {format_yuan(abs(fen))} 元），"
            "不能结账：请冲销该凭证并在下一期间重新记账",
            f"income or expenses were posted to {year} after its distribution (e.g. account "
            f"{code}, {format_yuan(abs(fen))} yuan): reverse them and post them in the next "
            "period before closing",
        )
