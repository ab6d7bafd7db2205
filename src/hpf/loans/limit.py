"""Loan eligibility and limit (贷款资格与可贷额度), docs/domain.md section 6.

可贷额度 = min(price × loan-to-value, counted balance × multiple, city cap, repayment capacity),
rounded down to the policy's granularity (whole 100 yuan), where

- loan-to-value = 1 − down payment: 20% (first home ≤ 90 m²), 30% (first home > 90 m²), 50%
  (second home); no loan for a third home (建金〔2010〕179号) unless the policy allows it;
- the multiple (15), the minimum counted balance (20,000 yuan: a smaller balance counts as this
  much) and the cap (600,000 yuan; 800,000 for two contributors) are policy placeholders;
- repayment capacity = the largest principal whose 等额本息 payment at the loan's rate and term is
  at most (monthly wage + employer monthly contribution) × 40% − existing monthly debt payments,
  with monthly wage = total monthly contribution ÷ (employer rate + employee rate);
- the term is at most 30 years and age + term ≤ retirement age + 5 (65 men, 60 women);
- the applicant needs a contribution history (months, consecutive if the policy says so).

Every refusal and every binding constraint carries a plain-language reason in Chinese and English.
All parameters come from the ``[[loan_limit]]`` and ``[[loan_rate]]`` policy entries.

Rules chosen here where domain.md is silent:

- the rate is the policy's rate for new loans of the chosen term (≤ 5 years / longer band) and
  home (second-home column for a second — or allowed third — home);
- age is whole years at application; the longest term is (max age − age) × 12 months, also capped
  at the policy's and the schedules' 360 months; no term given → the longest allowed; a longer
  term asked for is shortened to it (with a note), not refused; age below 18 is refused as input;
- a co-borrower (spouse) counts as a second contributor — their balance is added and the
  two-contributor cap applies — only when they meet the same contribution history requirement;
  their income counts towards repayment capacity in any case (they are jointly liable);
- the minimum counted balance applies to each counted contributor separately;
- each constraint is rounded down to the fen before the minimum is taken; every constraint equal
  to the unrounded minimum is reported as binding, the first of them (in the order loan-to-value,
  balance, cap, repayment capacity) as *the* binding constraint;
- a limit that rounds down to 0 is a refusal naming the binding constraint;
- the monthly allowance is floored to the fen (a payment in fen is at most a real amount iff it is
  at most its floor).

Pure domain logic: no database, web or IO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from hpf.errors import InvalidInput
from hpf.loans.rules import MAX_MONTHS, annuity_payment
from hpf.money import format_yuan, truncate_to
from hpf.policy.schema import LoanLimitEntry, LoanRateEntry

MIN_AGE = 18


class Constraint(StrEnum):
    """The four bounds of the limit, in the order ties are reported."""

    LOAN_TO_VALUE = "loan_to_value"
    BALANCE = "balance"
    CAP = "cap"
    REPAYMENT_CAPACITY = "repayment_capacity"

    @property
    def label_zh(self) -> str:
        return {
            Constraint.LOAN_TO_VALUE: "房价贷款成数",
            Constraint.BALANCE: "公积金余额倍数",
            Constraint.CAP: "最高贷款额度",
            Constraint.REPAYMENT_CAPACITY: "还款能力",
        }[self]

    @property
    def label_en(self) -> str:
        return self.value.replace("_", " ")


class TermLimit(StrEnum):
    """What limits the longest term: the policy's maximum or the borrower's age."""

    MAX_TERM = "max_term"
    AGE = "age"


@dataclass(frozen=True, slots=True)
class Reason:
    """A refusal, a binding constraint or a note, in plain Chinese and English."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Contributor:
    """A borrower's HPF side (借款人/共同借款人): balance, income and contribution history.

    ``monthly_wage_fen`` and ``employer_monthly_fen`` are exact rationals of fen (the wage is
    derived from contributions by a division). ``consecutive_months`` is the unbroken run of
    contributions up to the application; ``total_months`` all months contributed.
    """

    balance_fen: int
    monthly_wage_fen: Fraction
    employer_monthly_fen: Fraction
    consecutive_months: int
    total_months: int

    @classmethod
    def from_contribution(
        cls,
        balance_fen: int,
        monthly_contribution_fen: int,
        employer_rate_pct: Decimal,
        employee_rate_pct: Decimal,
        consecutive_months: int,
        total_months: int | None = None,
    ) -> Contributor:
        """domain.md: wage = total monthly contribution ÷ (employer rate + employee rate)."""
        _non_negative_fen(monthly_contribution_fen, "月缴存额", "monthly contribution")
        for rate in (employer_rate_pct, employee_rate_pct):
            if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 < rate < 100:
                raise InvalidInput(
                    f"缴存比例须在 0 至 100% 之间：{rate}", f"rates must be in (0, 100)%: {rate}"
                )
        er, ee = Fraction(employer_rate_pct), Fraction(employee_rate_pct)
        wage = Fraction(monthly_contribution_fen) * 100 / (er + ee)
        employer = Fraction(monthly_contribution_fen) * er / (er + ee)
        total = consecutive_months if total_months is None else total_months
        return cls(balance_fen, wage, employer, consecutive_months, total)

    @classmethod
    def from_wage(
        cls,
        balance_fen: int,
        monthly_wage_fen: int,
        employer_monthly_fen: int,
        consecutive_months: int,
        total_months: int | None = None,
    ) -> Contributor:
        """A contributor whose monthly wage and employer contribution are known."""
        _non_negative_fen(monthly_wage_fen, "月工资", "monthly wage")
        _non_negative_fen(employer_monthly_fen, "单位月缴存额", "employer monthly contribution")
        total = consecutive_months if total_months is None else total_months
        return cls(
            balance_fen,
            Fraction(monthly_wage_fen),
            Fraction(employer_monthly_fen),
            consecutive_months,
            total,
        )

    def __post_init__(self) -> None:
        _non_negative_fen(self.balance_fen, "公积金余额", "balance")
        for months in (self.consecutive_months, self.total_months):
            if isinstance(months, bool) or not isinstance(months, int) or months < 0:
                raise InvalidInput(
                    f"缴存月数必须是非负整数：{months!r}",
                    f"contribution months must be a non-negative integer: {months!r}",
                )
        if self.consecutive_months > self.total_months:
            raise InvalidInput("连续缴存月数不能多于累计缴存月数", "consecutive months > total")

    @property
    def income_basis_fen(self) -> Fraction:
        """Monthly wage + employer monthly contribution (exact fen)."""
        return self.monthly_wage_fen + self.employer_monthly_fen


@dataclass(frozen=True, slots=True)
class LimitApplication:
    """What the limit is computed from (money in integer fen).

    ``home_number``: 1 = first home, 2 = second, 3 or more = third or later.
    """

    applicant: Contributor
    price_fen: int
    area_m2: Decimal
    home_number: int
    age: int
    male: bool
    co_borrower: Contributor | None = None
    term_months: int | None = None
    existing_monthly_debt_fen: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.price_fen, bool) or not isinstance(self.price_fen, int):
            raise InvalidInput("房价必须是整数分", "price must be integer fen")
        if self.price_fen <= 0:
            raise InvalidInput("房价必须大于零", "price must be positive")
        if not isinstance(self.area_m2, Decimal) or not self.area_m2.is_finite():
            raise InvalidInput("面积必须是有限的 Decimal", "area must be a finite Decimal")
        if self.area_m2 <= 0:
            raise InvalidInput(
                f"面积必须大于零：{self.area_m2}", f"area must be positive: {self.area_m2}"
            )
        _positive_int(self.home_number, "第几套住房", "home number")
        _positive_int(self.age, "年龄", "age")
        if not MIN_AGE <= self.age <= 120:
            raise InvalidInput(
                f"年龄须在 {MIN_AGE} 至 120 岁之间：{self.age}",
                f"age must be between {MIN_AGE} and 120: {self.age}",
            )
        if self.term_months is not None:
            _positive_int(self.term_months, "贷款期限（月）", "term in months")
        _non_negative_fen(self.existing_monthly_debt_fen, "已有月还款额", "existing monthly debt")

    @property
    def second_home(self) -> bool:
        return self.home_number >= 2


@dataclass(frozen=True, slots=True)
class ConstraintAmount:
    """One bound of the limit, rounded down to the fen, with how it was computed."""

    constraint: Constraint
    amount_fen: int
    reason: Reason


@dataclass(frozen=True, slots=True)
class LimitResult:
    """The outcome: eligible or refused, the limit and which constraint bound it."""

    eligible: bool
    limit_fen: int
    binding: tuple[Constraint, ...]
    constraints: tuple[ConstraintAmount, ...]
    refusals: tuple[Reason, ...]
    reasons: tuple[Reason, ...]
    term_months: int
    max_term_months: int
    term_limited_by: TermLimit
    annual_rate_pct: Decimal | None
    monthly_payment_fen: int
    down_payment_pct: Decimal | None
    two_contributors: bool

    @property
    def binding_constraint(self) -> Constraint | None:
        """The constraint that set the limit (the first in order on a tie)."""
        return self.binding[0] if self.binding else None

    def amount(self, constraint: Constraint) -> int:
        """The bound of ``constraint`` in fen."""
        for item in self.constraints:
            if item.constraint is constraint:
                return item.amount_fen
        raise KeyError(constraint)


def meets_history(contributor: Contributor, limits: LoanLimitEntry) -> bool:
    """Whether ``contributor`` has the contribution history the policy asks for."""
    months = (
        contributor.consecutive_months
        if limits.contribution_months_consecutive
        else contributor.total_months
    )
    return months >= limits.min_contribution_months


def max_term_months(age: int, male: bool, limits: LoanLimitEntry) -> tuple[int, TermLimit]:
    """The longest term in months and what limits it (age + term ≤ retirement age + years)."""
    by_policy = min(limits.max_term_years * 12, MAX_MONTHS)
    by_age = (limits.max_age_at_maturity(male=male) - age) * 12
    if by_age < by_policy:
        return max(by_age, 0), TermLimit.AGE
    return by_policy, TermLimit.MAX_TERM


def max_principal_for_payment(payment_fen: int, annual_rate_pct: Decimal, months: int) -> int:
    """The largest principal P (fen) whose 等额本息 payment is at most ``payment_fen``.

    annuity_payment(P) = round_half_up(P·f) with f = i(1+i)^n / ((1+i)^n − 1) (1/n at 0%), so
    the payment is at most M iff P·f < M + 1/2: P = ⌈(M + 1/2) / f⌉ − 1.
    """
    if payment_fen <= 0:
        return 0
    i = Fraction(annual_rate_pct) / 1200
    if i == 0:
        factor = Fraction(1, months)
    else:
        grown = (1 + i) ** months
        factor = i * grown / (grown - 1)
    principal = math.ceil((payment_fen + Fraction(1, 2)) / factor) - 1
    # The closed form is exact; the loops only guard it against the real payment function.
    while principal > 0 and annuity_payment(principal, annual_rate_pct, months) > payment_fen:
        principal -= 1  # pragma: no cover
    while annuity_payment(principal + 1, annual_rate_pct, months) <= payment_fen:
        principal += 1  # pragma: no cover
    return principal


def loan_limit(
    application: LimitApplication, limits: LoanLimitEntry, rates: LoanRateEntry
) -> LimitResult:
    """可贷额度 of ``application`` under the policy entries in force (see the module docstring)."""
    app = application
    refusals: list[Reason] = []
    notes: list[Reason] = []
    if app.home_number >= 3 and not limits.third_home_allowed:
        refusals.append(
            Reason(
                "third_home",
                f"这是第 {app.home_number} 套住房：不支持第三套及以上住房贷款（建金〔2010〕179号）",
                f"this would be home number {app.home_number}: no loan for a third or later home",
            )
        )
    if not meets_history(app.applicant, limits):
        kind_zh = "连续" if limits.contribution_months_consecutive else "累计"
        kind_en = "consecutive" if limits.contribution_months_consecutive else "total"
        have = (
            app.applicant.consecutive_months
            if limits.contribution_months_consecutive
            else app.applicant.total_months
        )
        refusals.append(
            Reason(
                "contribution_history",
                f"申请人{kind_zh}缴存 {have} 个月，不足 {limits.min_contribution_months} 个月",
                f"the applicant has {have} {kind_en} months of contributions; "
                f"{limits.min_contribution_months} are required",
            )
        )
    longest, limited_by = max_term_months(app.age, app.male, limits)
    max_age = limits.max_age_at_maturity(male=app.male)
    sex_zh, sex_en = ("男", "men") if app.male else ("女", "women")
    if longest <= 0:
        refusals.append(
            Reason(
                "age",
                f"年龄 {app.age} 岁已达到贷款到期年龄上限 {max_age} 岁（{sex_zh}），不能再贷款",
                f"age {app.age} has reached the limit of {max_age} at maturity ({sex_en})",
            )
        )
    if refusals:
        return _refused(refusals, notes, app.term_months or 0, longest, limited_by)

    term = longest if app.term_months is None else min(app.term_months, longest)
    why_zh = (
        f"年龄 {app.age} 岁 + 期限不超过 {max_age} 岁（{sex_zh}）"
        if limited_by is TermLimit.AGE
        else f"最长贷款期限 {longest // 12} 年"
    )
    why_en = (
        f"age {app.age} + term may not exceed {max_age} ({sex_en})"
        if limited_by is TermLimit.AGE
        else f"the longest term is {longest // 12} years"
    )
    if app.term_months is None:
        notes.append(
            Reason(
                "term_longest",
                f"按最长可贷期限 {term} 个月计算（{why_zh}）",
                f"computed for the longest term allowed, {term} months ({why_en})",
            )
        )
    elif app.term_months > longest:
        notes.append(
            Reason(
                "term_shortened",
                f"申请期限 {app.term_months} 个月超过上限，按 {term} 个月计算（{why_zh}）",
                f"the term asked for, {app.term_months} months, is over the limit; "
                f"{term} months used ({why_en})",
            )
        )
    rate = rates.rate_pct(second_home=app.second_home, term_months=term)
    co = app.co_borrower
    two = co is not None and meets_history(co, limits)
    if co is not None and not two:
        notes.append(
            Reason(
                "co_borrower_not_counted",
                "共同借款人缴存时间不足，其余额不计入、按单人最高额度计算（收入仍计入还款能力）",
                "the co-borrower's contribution history is too short: their balance is not "
                "counted and the one-contributor cap applies (their income still counts)",
            )
        )
    counted = [app.applicant, co] if two and co is not None else [app.applicant]
    constraints = (
        _loan_to_value(app, limits),
        _balance(counted, limits),
        _cap(two, limits),
        _capacity(app, limits, rate, term),
    )
    lowest = min(item.amount_fen for item in constraints)
    binding = tuple(item.constraint for item in constraints if item.amount_fen == lowest)
    limit = truncate_to(lowest, limits.granularity_fen)
    first = next(item for item in constraints if item.constraint is binding[0])
    bound = Reason(
        f"binding_{binding[0].value}",
        f"可贷额度由{binding[0].label_zh}决定：{first.reason.zh}；按 "
        f"{_whole(limits.granularity_fen)} 元向下取整为 "
        f"{format_yuan(limit, grouping=True)} 元",
        f"the limit is set by {binding[0].label_en}: {first.reason.en}; rounded down to "
        f"whole {_whole(limits.granularity_fen)} yuan: {format_yuan(limit, grouping=True)} yuan",
    )
    dp = limits.down_payment_pct(second_home=app.second_home, area_m2=app.area_m2)
    payment = annuity_payment(limit, rate, term) if limit > 0 else 0
    eligible_refusals: list[Reason] = []
    if limit <= 0:
        eligible_refusals.append(
            Reason(
                "no_limit",
                f"可贷额度为零：{first.reason.zh}",
                f"the limit is zero: {first.reason.en}",
            )
        )
    return LimitResult(
        eligible=not eligible_refusals,
        limit_fen=max(limit, 0),
        binding=binding,
        constraints=constraints,
        refusals=tuple(eligible_refusals),
        reasons=(bound, *notes),
        term_months=term,
        max_term_months=longest,
        term_limited_by=limited_by,
        annual_rate_pct=rate,
        monthly_payment_fen=payment,
        down_payment_pct=dp,
        two_contributors=two,
    )


def _refused(
    refusals: list[Reason], notes: list[Reason], term: int, longest: int, limited_by: TermLimit
) -> LimitResult:
    return LimitResult(
        eligible=False,
        limit_fen=0,
        binding=(),
        constraints=(),
        refusals=tuple(refusals),
        reasons=tuple(notes),
        term_months=min(term, max(longest, 0)),
        max_term_months=max(longest, 0),
        term_limited_by=limited_by,
        annual_rate_pct=None,
        monthly_payment_fen=0,
        down_payment_pct=None,
        two_contributors=False,
    )


def _loan_to_value(app: LimitApplication, limits: LoanLimitEntry) -> ConstraintAmount:
    dp = limits.down_payment_pct(second_home=app.second_home, area_m2=app.area_m2)
    amount = math.floor(Fraction(app.price_fen) * (100 - Fraction(dp)) / 100)
    if app.second_home:
        what_zh, what_en = "二套住房", "second home"
    else:
        small = app.area_m2 <= limits.small_home_max_area_m2
        cmp = "≤" if small else ">"
        what_zh = f"首套住房，面积 {app.area_m2}㎡ {cmp} {limits.small_home_max_area_m2}㎡"
        what_en = f"first home of {app.area_m2} m² {cmp} {limits.small_home_max_area_m2} m²"
    price = format_yuan(app.price_fen, grouping=True)
    return ConstraintAmount(
        Constraint.LOAN_TO_VALUE,
        amount,
        Reason(
            Constraint.LOAN_TO_VALUE.value,
            f"{what_zh}，首付不低于 {dp}%，最多贷房价的 {100 - dp}%：{price} 元 × {100 - dp}% = "
            f"{format_yuan(amount, grouping=True)} 元",
            f"{what_en}: down payment at least {dp}%, so at most {100 - dp}% of the price: "
            f"{price} × {100 - dp}% = {format_yuan(amount, grouping=True)} yuan",
        ),
    )


def _balance(counted: list[Contributor], limits: LoanLimitEntry) -> ConstraintAmount:
    floor = limits.min_counted_balance_fen
    total = sum(max(person.balance_fen, floor) for person in counted)
    amount = math.floor(Fraction(total) * Fraction(limits.balance_multiple))
    who_zh = "夫妻双方" if len(counted) == 2 else "申请人"
    who_en = "both contributors'" if len(counted) == 2 else "the applicant's"
    return ConstraintAmount(
        Constraint.BALANCE,
        amount,
        Reason(
            Constraint.BALANCE.value,
            f"{who_zh}公积金余额按 {format_yuan(total, grouping=True)} 元计（每人不足 "
            f"{format_yuan(floor, grouping=True)} 元按此计）× {limits.balance_multiple} 倍 = "
            f"{format_yuan(amount, grouping=True)} 元",
            f"{who_en} balance counted as {format_yuan(total, grouping=True)} yuan (each at "
            f"least {format_yuan(floor, grouping=True)}) × {limits.balance_multiple} = "
            f"{format_yuan(amount, grouping=True)} yuan",
        ),
    )


def _cap(two: bool, limits: LoanLimitEntry) -> ConstraintAmount:
    amount = limits.cap_fen(two_contributors=two)
    return ConstraintAmount(
        Constraint.CAP,
        amount,
        Reason(
            Constraint.CAP.value,
            f"{'双方' if two else '单方'}缴存家庭最高贷款额度 {format_yuan(amount, grouping=True)} 元",
            f"the cap for a family with {'two contributors' if two else 'one contributor'} is "
            f"{format_yuan(amount, grouping=True)} yuan",
        ),
    )


def _capacity(
    app: LimitApplication, limits: LoanLimitEntry, rate: Decimal, term: int
) -> ConstraintAmount:
    people = [app.applicant] if app.co_borrower is None else [app.applicant, app.co_borrower]
    basis = sum((person.income_basis_fen for person in people), Fraction(0))
    allowed = basis * Fraction(limits.repayment_capacity_share) - app.existing_monthly_debt_fen
    allowed_fen = math.floor(allowed)
    amount = max_principal_for_payment(allowed_fen, rate, term)
    share = f"{limits.repayment_capacity_share * 100:.0f}%"
    basis_text = format_yuan(math.floor(basis), grouping=True)
    debt = format_yuan(app.existing_monthly_debt_fen, grouping=True)
    allowed_text = format_yuan(max(allowed_fen, 0), grouping=True)
    return ConstraintAmount(
        Constraint.REPAYMENT_CAPACITY,
        amount,
        Reason(
            Constraint.REPAYMENT_CAPACITY.value,
            f"月还款不超过（月工资 + 单位月缴存额）{basis_text} 元 × {share} − 已有月还款 {debt} 元 = "
            f"{allowed_text} 元；按年利率 {rate}%、{term} 期等额本息最多可贷 "
            f"{format_yuan(amount, grouping=True)} 元",
            f"monthly payment at most (wage + employer contribution) {basis_text} × {share} − "
            f"existing debt payments {debt} = {allowed_text} yuan; at {rate}% over {term} "
            f"months (annuity) that repays at most {format_yuan(amount, grouping=True)} yuan",
        ),
    )


def _whole(fen: int) -> str:
    """Yuan without a zero fraction: 10000 fen -> "100"."""
    return format_yuan(fen, grouping=True).removesuffix(".00")


def _non_negative_fen(value: int, what_zh: str, what_en: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(
            f"{what_zh}必须是非负整数分：{value!r}",
            f"{what_en} must be non-negative integer fen: {value!r}",
        )


def _positive_int(value: int, what_zh: str, what_en: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(
            f"{what_zh}必须是正整数：{value!r}", f"{what_en} must be a positive integer: {value!r}"
        )
