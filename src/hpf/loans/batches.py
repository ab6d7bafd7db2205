"""Daily overdue batch (逾期日终) and the January-1 repricing (利率调整) of existing loans.

Both are set-based: a handful of SQL statements whatever the number of loans, resumable and
idempotent (a re-run on the same day gives the same state).

Overdue (:func:`run_overdue`, domain.md §6, rules in :mod:`hpf.loans.overdue`):
1. installments unpaid after their due date become ``overdue`` (and ``overdue`` ones not yet
   past due on the day, after a re-run for an earlier day, go back to ``scheduled``);
2. each overdue installment's days overdue and penalty interest (罚息 = unpaid principal and
   interest × its rate × the policy's factor / day count × days, half-up to the fen, computed
   with exact integers in SQL);
3. each active loan's days past due (its oldest overdue installment), overdue principal,
   interest and penalty, and risk grade (:data:`hpf.loans.overdue.RISK_GRADE_UPTO_DAYS`);
4. the collection work list (催收): an open item for every loan overdue, kept current, resolved
   when nothing is overdue any more.

Repricing (:func:`run_repricing`, :mod:`hpf.loans.repricing`): on January 1 (or the effective day
of an "immediately" entry) the policy entry taking effect for existing loans is found; one query
selects every active loan disbursed before its effective date, with a term over the threshold,
whose rate in its band and home column differs; for each, :func:`hpf.loans.repricing.reprice`
recomputes the level from the scheduled balance after the last installment due before the day,
over the remaining installments. The rows are staged and written with one DELETE, one INSERT …
SELECT of the new installments, one UPDATE of the loans and one INSERT of the rate history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.db.engine import is_sqlite
from hpf.errors import InvalidInput
from hpf.ledger.staging import stage
from hpf.loans.overdue import AGING_UPTO_DAYS, RISK_GRADE_UPTO_DAYS, AgingBucket
from hpf.loans.position import LoanPosition
from hpf.loans.repricing import reprice
from hpf.loans.rules import parse_method
from hpf.policy.loader import Policy, get_policy
from hpf.policy.schema import LoanRateEntry

Progress = Callable[[int, int], None]
"""on_progress(done, total) for progress bars."""


@dataclass(frozen=True)
class OverdueSummary:
    on: date
    overdue_installments: int
    loans_overdue: int
    overdue_principal_fen: int
    penalty_fen: int
    collections_opened: int
    collections_resolved: int


@dataclass(frozen=True)
class RepricingSummary:
    on: date
    policy_effective: date | None
    loans: int
    installments: int


def days_between(session: Session, later: str, earlier: str) -> str:
    """SQL for the whole days from ``earlier`` to ``later`` (both date expressions)."""
    if is_sqlite(session):
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _case(column: str, bounds: tuple[tuple[int, str], ...], last: str) -> str:
    whens = " ".join(f"WHEN {column} <= {upto} THEN '{value}'" for upto, value in bounds)
    return f"CASE {whens} ELSE '{last}' END"


def bucket_sql(column: str) -> str:
    """SQL CASE giving the aging bucket of ``column`` days (≥ 1), as :func:`aging_bucket`."""
    bounds = tuple((upto, bucket.value) for upto, bucket in AGING_UPTO_DAYS)
    return _case(column, bounds, AgingBucket.OVER_180.value)


def run_overdue(
    session: Session,
    on: date,
    *,
    policy: Policy | None = None,
    on_progress: Progress | None = None,
) -> OverdueSummary:
    """The daily overdue batch for ``on`` (see the module doc); returns the day's totals."""
    policy = policy or get_policy()
    entry = policy.on(on).overdue
    fnum, fden = entry.penalty_factor.as_integer_ratio()
    den = 1000 * 100 * fden * entry.day_count
    days = days_between(session, ":on", "due_date")
    rate = "CAST(ROUND(rate_pct * 1000) AS BIGINT)"
    unpaid = "(principal_fen - paid_principal_fen + interest_fen - paid_interest_fen)"
    steps = [
        "UPDATE loan_installment SET status = 'scheduled', days_overdue = 0, penalty_fen = 0 "
        "WHERE status = 'overdue' AND due_date >= :on",
        "UPDATE loan_installment SET status = 'overdue' "
        "WHERE status = 'scheduled' AND due_date < :on",
        f"UPDATE loan_installment SET days_overdue = {days}, "
        f"penalty_fen = ({unpaid} * {rate} * {fnum} * {days} * 2 + {den}) / {2 * den} "
        "WHERE status = 'overdue'",
        "UPDATE loan SET days_past_due = 0, overdue_principal_fen = 0, overdue_interest_fen = 0, "
        "penalty_fen = 0, risk_grade = '01', overdue_as_of = :on "
        "WHERE status = 'active' AND NOT EXISTS (SELECT 1 FROM loan_installment i "
        "WHERE i.loan_id = loan.id AND i.status = 'overdue')",
        "UPDATE loan SET days_past_due = agg.days, overdue_principal_fen = agg.principal, "
        "overdue_interest_fen = agg.interest, penalty_fen = agg.penalty, "
        f"risk_grade = {_case('agg.days', RISK_GRADE_UPTO_DAYS, '05')}, overdue_as_of = :on "
        "FROM (SELECT loan_id, MAX(days_overdue) AS days, "
        "SUM(principal_fen - paid_principal_fen) AS principal, "
        "SUM(interest_fen - paid_interest_fen) AS interest, SUM(penalty_fen) AS penalty "
        "FROM loan_installment WHERE status = 'overdue' GROUP BY loan_id) AS agg "
        "WHERE loan.id = agg.loan_id AND loan.status = 'active'",
        "UPDATE loan_collection SET status = 'resolved', resolved_on = :on, open_key = NULL "
        "WHERE status = 'open' AND NOT EXISTS (SELECT 1 FROM loan l WHERE l.id = "
        "loan_collection.loan_id AND l.status = 'active' AND l.days_past_due > 0)",
        f"UPDATE loan_collection SET as_of = :on, days_past_due = l.days_past_due, "
        f"bucket = {bucket_sql('l.days_past_due')}, "
        "overdue_principal_fen = l.overdue_principal_fen, "
        "overdue_interest_fen = l.overdue_interest_fen, penalty_fen = l.penalty_fen "
        "FROM loan l WHERE l.id = loan_collection.loan_id AND loan_collection.status = 'open'",
        "INSERT INTO loan_collection (loan_id, branch_id, open_key, status, opened_on, as_of, "
        "days_past_due, bucket, overdue_principal_fen, overdue_interest_fen, penalty_fen, "
        "contacts, last_action) "
        f"SELECT l.id, l.branch_id, l.id, 'open', :on, :on, l.days_past_due, "
        f"{bucket_sql('l.days_past_due')}, l.overdue_principal_fen, l.overdue_interest_fen, "
        "l.penalty_fen, 0, '' FROM loan l WHERE l.status = 'active' AND l.days_past_due > 0 "
        "AND NOT EXISTS (SELECT 1 FROM loan_collection c WHERE c.open_key = l.id)",
    ]
    counts = []
    for done, sql in enumerate(steps, start=1):
        counts.append(session.execute(text(sql), {"on": on}).rowcount)  # type: ignore[attr-defined]
        if on_progress:
            on_progress(done, len(steps))
    totals = session.execute(
        text(
            "SELECT COUNT(*), COALESCE(SUM(overdue_principal_fen), 0), "
            "COALESCE(SUM(penalty_fen), 0) FROM loan WHERE status = 'active' "
            "AND days_past_due > 0"
        )
    ).one()
    installments = session.execute(
        text("SELECT COUNT(*) FROM loan_installment WHERE status = 'overdue'")
    ).scalar_one()
    session.expire_all()
    return OverdueSummary(
        on,
        int(installments),
        int(totals[0]),
        int(totals[1]),
        int(totals[2]),
        counts[7],
        counts[5],
    )


def entry_for_repricing(policy: Policy, on: date) -> LoanRateEntry | None:
    """The loan-rate entry that existing loans take on ``on`` (the latest of several)."""
    found = [e for e in policy.document.loan_rate if e.existing_loans_from() == on]
    return found[-1] if found else None


def run_repricing(
    session: Session,
    on: date,
    *,
    policy: Policy | None = None,
    on_progress: Progress | None = None,
) -> RepricingSummary:
    """Reprice every existing loan that takes a new rate on ``on`` (see the module doc)."""
    policy = policy or get_policy()
    entry = entry_for_repricing(policy, on)
    if entry is None:
        return RepricingSummary(on, None, 0, 0)
    new_rate = (
        "CASE WHEN l.second_home THEN "
        "(CASE WHEN l.term_months <= :band THEN :s_short ELSE :s_long END) "
        "ELSE (CASE WHEN l.term_months <= :band THEN :f_short ELSE :f_long END) END"
    )
    params = {
        "on": on,
        "effective": entry.effective,
        "over": entry.reprice_if_term_over_months,
        "band": entry.band_upto_months,
        "s_short": entry.second_home_upto_5y_pct,
        "s_long": entry.second_home_over_5y_pct,
        "f_short": entry.first_home_upto_5y_pct,
        "f_long": entry.first_home_over_5y_pct,
    }
    if is_sqlite(session):  # SQLite compares REAL: bind the rates as floats there
        params.update({k: float(v) for k, v in params.items() if isinstance(v, Decimal)})
    selected = session.execute(
        text(
            "SELECT l.id, l.method, l.first_due, l.last_n, l.paid_n, l.balance_fen, l.level_fen, "
            f"l.annual_rate_pct, {new_rate} AS new_rate, COALESCE(k.n, 0), "
            "COALESCE(r.rest, 0) "
            "FROM loan l "
            "LEFT JOIN (SELECT loan_id, MAX(n) AS n FROM loan_installment WHERE due_date < :on "
            "GROUP BY loan_id) k ON k.loan_id = l.id "
            # the scheduled principal still to come: a prepayment on the last due date before
            # :on re-lays the installments after it, not that installment's balance_after
            "LEFT JOIN (SELECT loan_id, SUM(principal_fen) AS rest FROM loan_installment "
            "WHERE due_date >= :on GROUP BY loan_id) r ON r.loan_id = l.id "
            "WHERE l.status = 'active' AND l.disbursed_on < :effective "
            f"AND l.term_months > :over AND l.annual_rate_pct <> {new_rate} "
            "ORDER BY l.id"
        ),
        params,
    ).all()
    loans: list[tuple[int, int, Decimal, int, date]] = []
    rows: list[tuple[object, ...]] = []
    total = len(selected)
    for done, item in enumerate(selected, start=1):
        loan_id, method, first_due, last_n, _paid, _bal, level, old, new, k, base = item
        first = first_due if isinstance(first_due, date) else date.fromisoformat(str(first_due))
        rate = _rate(new)
        if k >= last_n or base <= 0:
            continue
        before = LoanPosition(parse_method(method), _rate(old), first, k, last_n, int(base), level)
        _, after = reprice(before, rate, on)
        for r in after.schedule():
            rows.append((loan_id, r.n, r.due_date, r.principal, r.interest, r.balance, str(rate)))
        loans.append((loan_id, k, rate, after.level_fen, on))
        if on_progress and (done % 1000 == 0 or done == total):
            on_progress(done, total)
    if not loans:
        return RepricingSummary(on, entry.effective, 0, 0)
    stage(
        session,
        "hpf_stage_reprice",
        "loan_id BIGINT, k INTEGER, rate NUMERIC, level BIGINT, applies DATE",
        [(a, b, str(c), d, e) for a, b, c, d, e in loans],
    )
    stage(
        session,
        "hpf_stage_installment",
        "loan_id BIGINT, n INTEGER, due_date DATE, principal BIGINT, interest BIGINT, "
        "balance BIGINT, rate NUMERIC",
        rows,
    )
    session.execute(
        text("CREATE INDEX IF NOT EXISTS hpf_stage_reprice_loan ON hpf_stage_reprice (loan_id)")
    )
    for sql in (
        "DELETE FROM loan_installment WHERE EXISTS (SELECT 1 FROM hpf_stage_reprice s "
        "WHERE s.loan_id = loan_installment.loan_id AND loan_installment.n > s.k)",
        "INSERT INTO loan_installment (loan_id, n, due_date, principal_fen, interest_fen, "
        "balance_after_fen, rate_pct, status, paid_principal_fen, paid_interest_fen, "
        "paid_penalty_fen, days_overdue, penalty_fen) "
        "SELECT loan_id, n, due_date, principal, interest, balance, rate, 'scheduled', "
        "0, 0, 0, 0, 0 FROM hpf_stage_installment",
        "UPDATE loan SET annual_rate_pct = s.rate, level_fen = s.level, "
        "rate_effective = :effective FROM hpf_stage_reprice s WHERE s.loan_id = loan.id",
        "INSERT INTO loan_rate_change (loan_id, applies_from, rate_pct, policy_effective, "
        "reason, level_fen) SELECT loan_id, applies, rate, :effective, 'repricing', level "
        "FROM hpf_stage_reprice WHERE NOT EXISTS (SELECT 1 FROM loan_rate_change c "
        "WHERE c.loan_id = hpf_stage_reprice.loan_id AND c.applies_from = hpf_stage_reprice.applies)",
    ):
        session.execute(text(sql), {"effective": entry.effective})
    session.expire_all()
    return RepricingSummary(on, entry.effective, len(loans), len(rows))


def _rate(value: object) -> Decimal:
    """A rate read back from either database, as the exact 3-decimal Decimal it was stored as."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.001")).normalize() if value else Decimal(0)
    if isinstance(value, float | int | str):
        return Decimal(str(value)).quantize(Decimal("0.001")).normalize()
    raise InvalidInput(f"利率无效：{value!r}", f"bad rate: {value!r}")
