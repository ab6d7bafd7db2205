"""Builders for loan tests: borrowers with a real contribution history, staff to decide."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from deposit_books import Books, make_books
from hpf.auth.principal import Principal
from hpf.dates import add_months
from hpf.deposits import remittance
from hpf.deposits.depositors import DepositorInput, open_depositor, transfer_in
from hpf.deposits.models import Depositor, Employer
from hpf.identifiers import make_id_number
from hpf.loans import service
from hpf.loans.models import Loan
from hpf.workflow.stats import BUSINESS_TZ
from user_factories import make_user

_seq = itertools.count(8001)
APPLIED = date(2024, 9, 10)
DISBURSED = date(2024, 9, 20)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BUSINESS_TZ)


@dataclass
class LoanBooks:
    session: Session
    books: Books
    clerk: Principal
    reviewer: Principal
    approver: Principal

    def employer(self) -> Employer:
        return self.books.employer()

    def person(
        self,
        employer: Employer,
        *,
        base_fen: int = 800_000,
        born: date = date(1985, 3, 1),
        male: bool = True,
        card: str = "6222020200112233445",
    ) -> Depositor:
        n = next(_seq)
        return open_depositor(
            self.session,
            DepositorInput(
                id_number=make_id_number("371302", born.replace(day=1 + n % 28), n, male=male),
                name=f"借款人{n}",
                employer_ref=employer.employer_ref,
                base_fen=base_fen,
                joined_on=date(2023, 7, 1),
                bank_card=card,
            ),
            self.books.policy,
            self.books.actor,
        )

    def contribute(self, employer: Employer, first: date, months: int) -> None:
        """Post ``months`` monthly lists of ``employer`` from ``first`` (funds received too)."""
        for k in range(months):
            month = add_months(first, k)
            day = add_months(month, 0, day=15)
            lst = remittance.draft(
                self.session, employer, month, self.books.policy, self.books.actor
            )
            remittance.confirm(self.session, lst, self.books.actor)
            remittance.receive_funds(
                self.session,
                employer,
                lst.total_fen,
                day,
                self.books.actor,
                idempotency_key=f"lb-funds-{lst.id}",
            )
            remittance.post_remittances(self.session, [lst.id], day, self.books.actor)

    def fund(self, depositor: Depositor, fen: int, on: date = date(2024, 1, 10)) -> None:
        transfer_in(
            self.session,
            depositor,
            fen,
            on,
            "济南",
            self.books.actor,
            idempotency_key=f"lb-fund:{depositor.depositor_ref}:{next(_seq)}",
        )

    def family(
        self, *, months: int = 8, extra_fen: int = 5_000_000, spouse: bool = True
    ) -> tuple[Depositor, Depositor | None]:
        """A borrower (and spouse) contributing monthly since 2024-01, topped up by ``extra``."""
        employer = self.employer()
        borrower = self.person(employer)
        partner = self.person(employer, male=False) if spouse else None
        self.contribute(
            employer, date(2024, 9 - months, 1) if months < 9 else date(2024, 1, 1), months
        )
        if extra_fen:
            self.fund(borrower, extra_fen)
        return borrower, partner

    def request(self, **fields: Any) -> service.LoanRequest:
        base: dict[str, Any] = {
            "amount_fen": 30_000_000,
            "term_months": 240,
            "method": "annuity",
            "house_contract_ref": f"LY-HT-{next(_seq)}",
            "price_fen": 100_000_000,
            "area_m2": Decimal("89.5"),
            "home_number": 1,
            "security_kind": "mortgage",
            "security_ref": f"鲁(2024)临沂市不动产证明第{next(_seq)}号",
        }
        base.update(fields)
        return service.LoanRequest(**base)

    def apply(
        self, borrower: Depositor, *, on: date = APPLIED, key: str | None = None, **fields: Any
    ) -> service.Outcome:
        return service.apply(
            self.session,
            depositor_ref=borrower.depositor_ref,
            request=self.request(**fields),
            applicant=make_user(self.session, roles=("clerk",), whole_center=True),
            channel="counter",
            idempotency_key=key or f"lb{next(_seq)}",
            on=on,
            policy=self.books.policy,
            now=at(on),
        )

    def approve(self, loan_id: int, day: date = APPLIED) -> Loan:
        row = service.get(self.session, loan_id)
        for actor, action in (
            (self.clerk, "accept"),
            (self.reviewer, "review"),
            (self.approver, "approve"),
        ):
            row = service.decide(self.session, loan_id, actor=actor, action=action, now=at(day, 11))
            if row.status != "in_review":
                break
        return row

    def loan(self, borrower: Depositor, *, disbursed: date = DISBURSED, **fields: Any) -> Loan:
        """A loan applied for, approved and disbursed."""
        outcome = self.apply(borrower, **fields)
        assert outcome.allowed, outcome.text_zh
        self.approve(outcome.loan_id)
        return service.disburse(
            self.session,
            outcome.loan_id,
            on=disbursed,
            actor=self.books.actor,
            policy=self.books.policy,
        )


def make_loan_books(session: Session) -> LoanBooks:
    return LoanBooks(
        session,
        make_books(session),
        clerk=make_user(session, roles=("clerk",), whole_center=True),
        reviewer=make_user(session, roles=("reviewer",), whole_center=True),
        approver=make_user(session, roles=("approver",), whole_center=True),
    )
