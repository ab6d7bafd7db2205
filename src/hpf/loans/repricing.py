"""Repricing (利率调整) of existing loans when the policy's loan rate changes.

docs/domain.md section 6: existing loans with a term over one year take a new rate from January 1
of the year following the change; approved but undisbursed loans take it at disbursement.
**Convention:** the new rate applies to every installment due on or after that January 1; the
level (payment A, or the principal part for 等额本金) is recomputed from the balance left after
the last installment due before it, over the remaining number of installments. The policy file
says how (``[[loan_rate]] reprice_existing``: "next-january-1" or "immediately") and from which
term (``reprice_if_term_over_months``, 12 = "over one year").

So a change effective on 2024-05-18 reprices an existing loan on 2025-01-01; a change effective on
January 1 itself also waits for the next January 1 (2025-01-01 for a change on 2024-01-01).

Rules chosen here where domain.md is silent:

- a loan whose term is not over the threshold (≤ 12 months) keeps its contract rate to the end;
- the rate band (≤ 5 years / over 5 years) and the first/second-home column are those of the
  contract (the original term, not the remaining one);
- a policy entry in force at disbursement is the contract rate, not a repricing; of several
  changes that take effect on the same January 1, the latest entry wins;
- a change that leaves the loan's own rate unchanged (e.g. the 2022-10-01 entry for second homes)
  does not reprice it: its level is not recomputed;
- a change dated on or before the first due date recomputes the whole schedule from the principal
  at the new rate.

Pure domain logic: no database, web or IO.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from itertools import pairwise

from hpf.errors import InvalidInput
from hpf.loans.position import LoanPosition, advance_before, new_loan
from hpf.loans.rules import Installment, RepaymentMethod, parse_method, validate_loan
from hpf.policy.schema import LoanRateEntry


@dataclass(frozen=True, slots=True)
class RateChange:
    """A loan's rate from ``applies_from`` on (the first one is the contract rate)."""

    applies_from: date
    annual_rate_pct: Decimal
    policy_effective: date


def reprice_date(entry: LoanRateEntry, disbursed: date, term_months: int) -> date | None:
    """The day an existing loan takes ``entry``'s rates, or None when it never does.

    None when the entry was already in force at disbursement (it is then the contract rate, or an
    older one) or when the term is not over ``reprice_if_term_over_months``.
    """
    if entry.effective <= disbursed or term_months <= entry.reprice_if_term_over_months:
        return None
    return entry.existing_loans_from()


def loan_rate_timeline(
    entries: Iterable[LoanRateEntry], disbursed: date, term_months: int, *, second_home: bool
) -> list[RateChange]:
    """The loan's rates over its life: the contract rate, then each repricing that changes it."""
    history = sorted(entries, key=lambda entry: entry.effective)
    contract = [entry for entry in history if entry.effective <= disbursed]
    if not contract:
        raise InvalidInput(
            f"{disbursed} 没有生效的贷款利率", f"no loan rate in force on {disbursed}"
        )
    rate = contract[-1].rate_pct(second_home=second_home, term_months=term_months)
    timeline = [RateChange(disbursed, rate, contract[-1].effective)]
    by_day: dict[date, LoanRateEntry] = {}
    for entry in history:
        day = reprice_date(entry, disbursed, term_months)
        if day is not None:
            by_day[day] = entry  # history is sorted: the latest entry wins on a shared day
    for day in sorted(by_day):
        entry = by_day[day]
        new_rate = entry.rate_pct(second_home=second_home, term_months=term_months)
        if new_rate != timeline[-1].annual_rate_pct:
            timeline.append(RateChange(max(day, disbursed), new_rate, entry.effective))
    return timeline


def reprice(
    position: LoanPosition, new_rate_pct: Decimal, from_day: date
) -> tuple[list[Installment], LoanPosition]:
    """Apply ``new_rate_pct`` to every installment due on or after ``from_day``.

    Returns the installments due before ``from_day`` (paid as scheduled, at the old rate) and the
    position after them at the new rate, its level recomputed from the balance over the remaining
    installments. A settled loan, or an unchanged rate, is left as it is.
    """
    validate_loan(1, new_rate_pct, 1)
    last_paid = position.last_paid_due
    if last_paid is not None and last_paid >= from_day:
        raise InvalidInput(
            f"调整日 {from_day} 早于已还的最后一期（{last_paid}）",
            f"repricing day {from_day} is before the last paid installment ({last_paid})",
        )
    paid, before = advance_before(position, from_day)
    if before.settled or new_rate_pct == before.annual_rate_pct:
        return paid, before
    return paid, replace(before, annual_rate_pct=new_rate_pct).with_level_recomputed()


def repriced_schedule(
    method: RepaymentMethod | str,
    principal_fen: int,
    months: int,
    first_due: date,
    timeline: Sequence[RateChange] | Sequence[tuple[date, Decimal]],
) -> list[Installment]:
    """A loan's whole schedule under a rate timeline (first entry: the contract rate).

    Each later entry reprices the loan from its date per the convention above.
    """
    changes = [_pair(change) for change in timeline]
    if not changes:
        raise InvalidInput("利率时间表为空", "empty rate timeline")
    if any(b[0] <= a[0] for a, b in pairwise(changes)):
        raise InvalidInput("利率调整日期须递增", "rate change dates must increase")
    position = new_loan(parse_method(method), principal_fen, changes[0][1], months, first_due)
    rows: list[Installment] = []
    for day, rate in changes[1:]:
        paid, position = reprice(position, rate, day)
        rows.extend(paid)
    return rows + position.schedule()


def policy_schedule(
    entries: Iterable[LoanRateEntry],
    method: RepaymentMethod | str,
    principal_fen: int,
    months: int,
    disbursed: date,
    first_due: date,
    *,
    second_home: bool,
) -> list[Installment]:
    """The schedule of a loan disbursed on ``disbursed`` under the policy's rate history."""
    timeline = loan_rate_timeline(entries, disbursed, months, second_home=second_home)
    return repriced_schedule(method, principal_fen, months, first_due, timeline)


def _pair(change: RateChange | tuple[date, Decimal]) -> tuple[date, Decimal]:
    if isinstance(change, RateChange):
        return change.applies_from, change.annual_rate_pct
    return change
