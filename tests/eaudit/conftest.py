"""E-audit test books: rows planted directly in the business tables (the data the checks read).

The checks exist to find data that slipped past the services' own validation, so these builders
write rows as they might be found, not through the use cases.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from factories import make_branch
from hpf.deposits.models import Depositor, Employer, Remittance, RemittanceLine
from hpf.identifiers import make_id_number, make_uscc
from hpf.loans.models import Loan, LoanParty
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from hpf.withdrawals.models import Withdrawal

_seq = itertools.count(1)


@dataclass
class AuditBooks:
    session: Session
    branch: OrgUnit

    def employer(self, er: str = "12", ee: str = "12") -> Employer:
        n = next(_seq)
        row = Employer(
            employer_ref=f"EA{n:06d}",
            uscc=make_uscc(f"91371300EA{n:07d}"),
            name=f"稽核单位{n}",
            branch_id=self.branch.id,
            status="01",
            employer_rate_pct=Decimal(er),
            employee_rate_pct=Decimal(ee),
            pay_day=10,
            first_month=date(2020, 1, 1),
            opened_on=date(2020, 1, 1),
        )
        self.session.add(row)
        self.session.flush()
        return row

    def person(
        self,
        employer: Employer | None = None,
        *,
        id_number: str | None = None,
        card: str = "",
        status: str = "01",
        opened: date = date(2020, 1, 1),
        frozen_on: date | None = None,
        closed_on: date | None = None,
    ) -> Depositor:
        n = next(_seq)
        employer = employer or self.employer()
        row = Depositor(
            depositor_ref=f"PA{n:08d}",
            id_number=id_number
            or make_id_number("371302", date(1985, 3, 1 + n % 28), n, male=True),
            name=f"稽核人{n}",
            birth_date=date(1985, 3, 1),
            sex="M",
            bank_card=card,
            status=status,
            employer_id=employer.id,
            branch_id=self.branch.id,
            base_fen=500_000,
            opened_on=opened,
            frozen_on=frozen_on,
            closed_on=closed_on,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def remittance(
        self,
        employer: Employer,
        month: date,
        lines: list[tuple[Depositor, int]],
        *,
        posted_on: date,
        kind: str = "remittance",
        status: str = "posted",
    ) -> Remittance:
        rem = Remittance(
            employer_id=employer.id,
            branch_id=self.branch.id,
            month=month,
            kind=kind,
            status=status,
            source="test",
            lines=len(lines),
            posted_on=posted_on,
        )
        self.session.add(rem)
        self.session.flush()
        for person, base in lines:
            share = base * 12 // 100
            self.session.add(
                RemittanceLine(
                    remittance_id=rem.id,
                    depositor_id=person.id,
                    base_fen=base,
                    employer_fen=share,
                    employee_fen=share,
                )
            )
        self.session.flush()
        return rem

    def withdrawal(
        self,
        person: Depositor,
        wtype: str = "rent",
        *,
        applied: date = date(2023, 5, 15),
        status: str = "paid",
        contract: str | None = None,
        card: str = "6222000000000000001",
        evidence: dict[str, Any] | None = None,
        amount_fen: int = 100_000,
    ) -> Withdrawal:
        n = next(_seq)
        row = Withdrawal(
            idempotency_key=f"ea-w-{n}",
            depositor_id=person.id,
            depositor_ref=person.depositor_ref,
            branch_id=self.branch.id,
            type=wtype,
            reason_code="01",
            closes_account=False,
            channel="counter",
            fully_online=False,
            status=status,
            applied_on=applied,
            applied_at=datetime.combine(applied, time(10), UTC),
            amount_fen=amount_fen,
            contract_ref=contract,
            evidence=json.dumps(evidence or {}),
            payee_name=person.name,
            payee_card=card,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def loan(
        self,
        person: Depositor,
        *,
        status: str = "active",
        applied: date = date(2023, 5, 5),
        approved: date | None = date(2023, 5, 10),
        disbursed: date | None = None,
        settled: date | None = None,
        co_borrower: str | None = None,
        contract: str = "",
        price_fen: int = 100_000_000,
        area: str = "88",
        second_home: bool = False,
        requested_fen: int = 50_000_000,
        limit_fen: int = 60_000_000,
        principal_fen: int = 0,
        rate: str = "3.10",
        term: int = 240,
    ) -> Loan:
        n = next(_seq)
        row = Loan(
            loan_ref=f"DK{n:010d}",
            idempotency_key=f"ea-l-{n}",
            depositor_id=person.id,
            depositor_ref=person.depositor_ref,
            branch_id=self.branch.id,
            status=status,
            channel="counter",
            applied_on=applied,
            applied_at=datetime.combine(applied, time(10), UTC),
            house_contract_ref=contract or f"HT-{n}",
            price_fen=price_fen,
            area_m2=Decimal(area),
            home_number=2 if second_home else 1,
            requested_fen=requested_fen,
            limit_fen=limit_fen,
            term_months=term,
            method="annuity",
            second_home=second_home,
            annual_rate_pct=Decimal(rate),
            security_kind="mortgage",
            security_ref=f"DY-{n}",
            approved_at=None if approved is None else datetime.combine(approved, time(3), UTC),
            principal_fen=principal_fen,
            disbursed_on=disbursed,
            settled_on=settled,
            balance_fen=principal_fen,
        )
        self.session.add(row)
        self.session.flush()
        self.session.add(
            LoanParty(
                loan_id=row.id,
                role="borrower",
                id_number=person.id_number,
                name=person.name,
                depositor_id=person.id,
            )
        )
        if co_borrower:
            self.session.add(
                LoanParty(
                    loan_id=row.id,
                    role="co_borrower",
                    id_number=co_borrower,
                    name="配偶",
                    relation="spouse",
                )
            )
        self.session.flush()
        return row


@pytest.fixture
def ab(session: Session) -> AuditBooks:
    return AuditBooks(session, make_branch(session))


@pytest.fixture(scope="session")
def policy():  # type: ignore[no-untyped-def]
    return load_shipped_policy()
