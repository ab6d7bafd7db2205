"""Value-added income (增值收益) of a year and its distribution, posted as journals.

domain.md §7. ``hpf finance distribute --year Y`` posts, all dated December 31 of Y (so the
year must still be open):
1. the carry (结转, kind ``value_added_carry``): every income and expense account's net of
   the year to 311 增值收益 (credit 311 with the value-added income);
2. the distribution (kind ``value_added_distribution``): debit 321 增值收益分配, credit 301
   贷款风险准备 (reserve), 21902 应付管理费用 (management expenses), 21402 廉租住房建设补充资金
   (supplement), amounts from :func:`hpf.finance.rules.plan_distribution`;
3. the close of 321 into 311 (kind ``distribution_close``).
After it, 311 and 321 hold nothing for the year and the income and expense accounts are zero.
A year is distributed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.errors import DomainError, InvalidInput
from hpf.finance import books
from hpf.finance.models import Distribution
from hpf.finance.rules import DistributionPlan, plan_distribution, value_added_income
from hpf.ledger import chart
from hpf.ledger.periods import require_open
from hpf.ledger.rules import JournalDraft, Leg
from hpf.ledger.service import post
from hpf.policy.loader import Policy

DISTRIBUTION_KIND = "value_added_distribution"
CLOSE_KIND = "distribution_close"
MANAGEMENT_PAYABLE = "21902"  # 应付管理费用 (added by migration 0009)


class FinanceError(DomainError):
    """A fund-accounting action was refused (already distributed, nothing carried, …)."""

    code = "finance_error"


@dataclass(frozen=True)
class YearFigures:
    """A year's business income and expenses (fen, positive), by line and in total."""

    year: int
    income: dict[str, int]
    expenses: dict[str, int]

    @property
    def income_fen(self) -> int:
        return sum(self.income.values())

    @property
    def expenses_fen(self) -> int:
        return sum(self.expenses.values())

    @property
    def value_added_fen(self) -> int:
        return value_added_income(self.income_fen, self.expenses_fen)


def figures(session: Session, start: date, end: date) -> YearFigures:
    """Income (401…) and expenses (411…) posted from ``start`` to ``end``, the carry excluded."""
    return YearFigures(
        start.year,
        books.lines_of_category(session, "income", start, end),
        books.lines_of_category(session, "expense", start, end),
    )


def year_figures(session: Session, year: int) -> YearFigures:
    return figures(session, date(year, 1, 1), date(year, 12, 31))


def planned(
    session: Session, year: int, policy: Policy, management_budget_fen: int
) -> tuple[DistributionPlan, int, int]:
    """The distribution the rules give for ``year`` now: (plan, loan balance, reserve before)."""
    end = date(year, 12, 31)
    entry = policy.on(end).value_added
    loans = books.loan_balance(session, end)
    reserve_before = -books.balance_at(session, chart.LOAN_RISK_RESERVE, end)
    plan = plan_distribution(
        year_figures(session, year).value_added_fen,
        reserve_share=entry.reserve_share,
        management_budget_fen=management_budget_fen,
        reserve_cap_of_loans=entry.reserve_cap_of_loans,
        loan_balance_fen=loans,
        reserve_balance_fen=reserve_before,
    )
    return plan, loans, reserve_before


def distribution_of(session: Session, year: int) -> Distribution | None:
    return session.scalar(select(Distribution).where(Distribution.year == year))


def distribute(
    session: Session,
    year: int,
    policy: Policy,
    *,
    management_budget_fen: int = 0,
    actor: str = "",
    branch_id: int | None = None,
) -> Distribution:
    """Carry ``year``'s income and expenses to 311 and distribute it (see the module doc)."""
    if not 1900 <= year <= 9999:
        raise InvalidInput(f"年度无效：{year}", f"bad year: {year}")
    existing = distribution_of(session, year)
    if existing is not None:
        raise FinanceError(
            f"{year} 年度增值收益已分配（凭证 {existing.journal_id}）",
            f"value-added income of {year} was already distributed (journal {existing.journal_id})",
        )
    end = date(year, 12, 31)
    require_open(session, end)
    branch = branch_id if branch_id is not None else books.center_id(session)
    figs = year_figures(session, year)
    plan, loans, reserve_before = planned(session, year, policy, management_budget_fen)
    row = Distribution(
        year=year,
        income_fen=figs.income_fen,
        expenses_fen=figs.expenses_fen,
        value_added_fen=plan.value_added_fen,
        reserve_fen=plan.reserve_fen,
        management_fen=plan.management_fen,
        supplement_fen=plan.supplement_fen,
        management_budget_fen=management_budget_fen,
        loan_balance_fen=loans,
        reserve_before_fen=reserve_before,
        posted_on=end,
        created_by=actor,
    )
    carry = books.uncarried(session, date(year, 1, 1), end)
    if carry:
        legs = [Leg(code, -amount) for code, amount in carry.items()]
        net = sum(carry.values())
        if net:
            legs.append(Leg(chart.VALUE_ADDED_INCOME, net))
        row.carry_journal_id = post(
            session,
            JournalDraft(
                books.CARRY_KIND,
                branch,
                end,
                end,
                tuple(legs),
                memo=f"{year} 年度业务收支结转增值收益",
            ),
            idempotency_key=f"finance:carry:{year}",
        ).journal_id
    if plan.total_fen:
        credits = [
            Leg(code, -fen)
            for code, fen in (
                (chart.LOAN_RISK_RESERVE, plan.reserve_fen),
                (MANAGEMENT_PAYABLE, plan.management_fen),
                (chart.PUBLIC_HOUSING_SUPPLEMENT, plan.supplement_fen),
            )
            if fen
        ]
        row.journal_id = post(
            session,
            JournalDraft(
                DISTRIBUTION_KIND,
                branch,
                end,
                end,
                (Leg(chart.VALUE_ADDED_DISTRIBUTION, plan.total_fen), *credits),
                memo=f"{year} 年度增值收益分配",
            ),
            idempotency_key=f"finance:distribution:{year}",
        ).journal_id
        row.close_journal_id = post(
            session,
            JournalDraft(
                CLOSE_KIND,
                branch,
                end,
                end,
                (
                    Leg(chart.VALUE_ADDED_INCOME, plan.total_fen),
                    Leg(chart.VALUE_ADDED_DISTRIBUTION, -plan.total_fen),
                ),
                memo=f"{year} 年度增值收益分配结转",
            ),
            idempotency_key=f"finance:distribution-close:{year}",
        ).journal_id
    session.add(row)
    session.flush()
    return row
