"""Calibration of the simulated city (模拟城市参数): the seed's figures per year, and what follows.

Source: the seed goal table (../shared/seeds/000_650216a8e76bc8f1.txt; domain.md §10): for each
indicator the three-year average (2020–2022), last year's value (2022) and the 2023 target.
2020 and 2021 are not given separately: their sum is 3 × average − 2022, split 49 : 51 (a
steady rise, as every series of the table rises). Amounts are yuan at scale 1.0 (Linyi, about
0.8 M depositors); counts and amounts scale linearly with ``--scale``, ratios do not.

Model parameters derived from the seed (each derivation in docs/simulation.md):
- opening deposit balance: interest 4.47 亿 (2022) at 1.50 % means an average balance of
  ≈ 298 亿 over the interest year 2021-07 … 2022-06; the seed's net flows of 2020 and 2021
  (contributions − withdrawals + interest) are ≈ 47.6 亿, so ≈ 250 亿 at the end of 2019; the
  model's own 2020–2021 add ≈ 10 亿 more than the seed's net flows (closure interest, late
  lists), so the books open at 240 亿;
- opening loan book: income − expenses = value-added income gives 4.29 + 4.47 = 8.76 亿 of
  income in 2022; at 3.25 % on loans and ≈ 1.5 % on the bank money (deposits + reserve −
  loans) that is a loan book of ≈ 240 亿 in 2022. With ≈ 50 亿 issued a year and the book
  amortizing and prepaid (≈ 10 % a year), it opens at ≈ 170 亿 (68 % of deposits; national
  loan-to-deposit ratio 84 % in 2021, domain.md §8), annuities at 3.25 % (the 2015-08-26 rate)
  with 3–20 years left;
- the fund's bank and placement interest: the rate of each year is what makes income −
  expenses equal the seed's value-added income, projected from the books on January 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

YI = 100_000_000  # 亿元 in yuan
WAN = 10_000

YEARS = (2020, 2021, 2022, 2023)


def _split(avg: float, last: float) -> tuple[float, float]:
    """2020 and 2021 from the three-year average and 2022 (49 : 51 split of their sum)."""
    both = 3 * avg - last
    return both * 0.49, both * 0.51


def _series(avg: float, last: float, target: float) -> dict[int, float]:
    y20, y21 = _split(avg, last)
    return {2020: y20, 2021: y21, 2022: last, 2023: target}


@dataclass(frozen=True)
class SeedYear:
    """The seed's figures of one year at scale 1.0 (yuan, persons, fractions)."""

    contributions: int
    new_depositors: int
    withdrawals: int
    loans_issued: int
    value_added_distributed: int
    interest_paid: int
    satisfaction: Decimal
    online_rate: Decimal


_CONTRIBUTIONS = _series(72.33, 77, 85)
_NEW = _series(4, 4.2, 5)
_WITHDRAWALS = _series(50.67, 52, 55)
_LOANS = _series(47.67, 50, 52)
_VALUE_ADDED = _series(3.61, 4.29, 4.57)
_INTEREST = _series(4.03, 4.47, 4.90)
_SATISFACTION = {2020: "0.91", 2021: "0.91", 2022: "0.97", 2023: "0.92"}
"""The seed gives 93 % (average), 97 % (2022) and ≥ 90 % (2023 target)."""
_ONLINE = {2020: "0.74", 2021: "0.74", 2022: "0.74", 2023: "0.80"}

SEED: dict[int, SeedYear] = {
    y: SeedYear(
        contributions=round(_CONTRIBUTIONS[y] * YI),
        new_depositors=round(_NEW[y] * WAN),
        withdrawals=round(_WITHDRAWALS[y] * YI),
        loans_issued=round(_LOANS[y] * YI),
        value_added_distributed=round(_VALUE_ADDED[y] * YI),
        interest_paid=round(_INTEREST[y] * YI),
        satisfaction=Decimal(_SATISFACTION[y]),
        online_rate=Decimal(_ONLINE[y]),
    )
    for y in YEARS
}
OVERDUE_RATIO_CEILING = Decimal("0.003")
"""The seed: 逾期率 below 0.3 % every year."""

# --- the city at scale 1.0 ----------------------------------------------------------------------
DEPOSITORS = 800_000
"""Accounts at the start (domain.md §10: ≈ 0.7–0.8 M paying depositors)."""
FROZEN_SHARE = 0.12
"""Accounts frozen (封存) at the start: people between employers."""
DEPOSITORS_PER_EMPLOYER = 40
OPENING_DEPOSITS = 240 * YI
OPENING_LOANS = 170 * YI
OPENING_LOAN_AVERAGE = 250_000
"""Average balance of a pre-2020 loan (yuan): 20-year loans of ≈ 35 万 half repaid."""
OPENING_RESERVE = 5 * YI
"""Loan-risk reserve built before 2020 (2.5 % of the loan book)."""
DEPOSIT_RATE = Decimal("1.5")

LEAVE_RATE_MONTHLY = 0.0025
"""Paying depositors who leave their employer each month (封存), ≈ 3 % a year."""
REJOIN_RATE_MONTHLY = 0.03
"""Frozen accounts that join a new employer each month (启封)."""
ARREARS_SHARE = 0.02
"""Employers whose list of a month is paid one month late (欠缴, then 补缴 next month)."""

# withdrawal type → (share of the year's withdrawals, typical amount asked, yuan at scale 1.0);
# shares after the national annual report's structure (housing consumption ≈ 80 %).
WITHDRAWAL_MIX: dict[str, tuple[float, int]] = {
    "loan_repayment": (0.40, 24_000),
    "purchase": (0.24, 60_000),
    "rent": (0.10, 12_000),
    "retirement": (0.15, 0),  # closes the account: the whole balance
    "unemployment": (0.045, 0),
    "build": (0.01, 30_000),
    "serious_illness": (0.015, 20_000),
    "elevator": (0.005, 15_000),
    "subsistence": (0.004, 10_000),
    "death": (0.007, 0),
    "incapacity": (0.003, 0),
    "emigration": (0.001, 0),
}
WITHDRAWALS_ASKED_PER_PAID = 1.05
"""About 5 % of what is asked is refused (caps, intervals) or left unasked at a type's end."""
ONLINE_SHARE_LOANS = 0.35
"""Loan applications are mostly taken at a counter (signatures, mortgage registration)."""
LOAN_AVERAGE = 380_000
"""Average new loan (yuan)."""
DEBIT_FAILURE_MONTHLY = 0.004
"""Loans whose bank debit fails in a month (the installment falls overdue)."""
CURE_MONTHLY = 0.6
"""Overdue loans that pay up the next month."""
PREPAY_MONTHLY = 0.006
"""Active loans partly prepaid in a month (提前还款), 20–50 % of the balance each."""
MANAGEMENT_SHARE = Decimal("0.15")
"""Management expenses approved in the budget, as a share of value-added income."""


def per_month(amount: int, scale: float) -> int:
    """A yearly figure at ``scale``, per month (rounded)."""
    return round(amount * scale / 12)
