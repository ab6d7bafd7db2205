"""Builders for contribution tests: employers and depositors made through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from factories import make_branch
from hpf.auth.principal import Principal, system_principal
from hpf.deposits.depositors import DepositorInput, open_depositor
from hpf.deposits.employers import EmployerInput, open_employer
from hpf.deposits.models import Depositor, Employer
from hpf.identifiers import make_id_number, make_uscc
from hpf.policy.loader import Policy, load_shipped_policy

_seq = itertools.count(1)


@dataclass
class Books:
    session: Session
    policy: Policy
    actor: Principal
    branch_code: str

    def employer(
        self, rate: str = "12", *, opened: date = date(2023, 7, 1), pay_day: int = 10
    ) -> Employer:
        n = next(_seq)
        return open_employer(
            self.session,
            EmployerInput(
                uscc=make_uscc(f"91371300MA{n:07d}"),
                name=f"测试单位{n}",
                branch_code=self.branch_code,
                employer_rate_pct=Decimal(rate),
                employee_rate_pct=Decimal(rate),
                opened_on=opened,
                pay_day=pay_day,
            ),
            self.policy,
            self.actor,
        )

    def depositor(
        self, employer: Employer, base_fen: int = 500_000, *, joined: date = date(2023, 7, 1)
    ) -> Depositor:
        n = next(_seq)
        return open_depositor(
            self.session,
            DepositorInput(
                id_number=make_id_number("371302", date(1990, 1, 1 + n % 28), n, male=n % 2 == 0),
                name=f"职工{n}",
                employer_ref=employer.employer_ref,
                base_fen=base_fen,
                joined_on=joined,
            ),
            self.policy,
            self.actor,
        )


def make_books(session: Session) -> Books:
    branch = make_branch(session)
    return Books(session, load_shipped_policy(), system_principal("test"), branch.code)
