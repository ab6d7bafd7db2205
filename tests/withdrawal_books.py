"""Builders for withdrawal tests: a depositor with a balance and a bank card, staff to decide."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from deposit_books import Books, make_books
from hpf.auth.principal import Principal
from hpf.deposits.depositors import DepositorInput, open_depositor, transfer_in
from hpf.deposits.models import Depositor
from hpf.identifiers import make_id_number
from hpf.withdrawals import service
from hpf.withdrawals.models import Withdrawal
from hpf.workflow.stats import BUSINESS_TZ
from user_factories import make_user

_seq = itertools.count(7001)
APPLIED = date(2024, 9, 10)
FUNDED = date(2024, 1, 10)


def at(day: date, hour: int = 10) -> datetime:
    """A moment of a business day (China Standard Time)."""
    return datetime.combine(day, time(hour), tzinfo=BUSINESS_TZ)


@dataclass
class WithdrawalBooks:
    session: Session
    books: Books
    clerk: Principal
    reviewer: Principal
    approver: Principal
    applicants: list[Principal] = field(default_factory=list)

    def person(self, balance_fen: int, *, card: str = "6222020200112233445") -> Depositor:
        """A depositor (joined 2023-07-01) with ``balance_fen`` moved in on 2024-01-10."""
        n = next(_seq)
        employer = self.books.employer()
        depositor = open_depositor(
            self.session,
            DepositorInput(
                id_number=make_id_number("371302", date(1980, 1, 1 + n % 28), n, male=n % 2 == 0),
                name=f"提取人{n}",
                employer_ref=employer.employer_ref,
                base_fen=500_000,
                joined_on=date(2023, 7, 1),
                bank_card=card,
            ),
            self.books.policy,
            self.books.actor,
        )
        if balance_fen:
            transfer_in(
                self.session,
                depositor,
                balance_fen,
                FUNDED,
                "济南",
                self.books.actor,
                idempotency_key=f"fund:{depositor.depositor_ref}",
            )
        return depositor

    def applicant(self) -> Principal:
        """A new counter clerk to submit: another window serving the same person at once."""
        return make_user(self.session, roles=("clerk",), whole_center=True)

    def apply(
        self,
        depositor: Depositor,
        wtype: str,
        *,
        on: date = APPLIED,
        channel: str = "counter",
        applicant: Principal | None = None,
        key: str | None = None,
        **fields: Any,
    ) -> service.Outcome:
        rule = getattr(self.books.policy.on(on).withdrawal.types, wtype, None)
        fields.setdefault("documents", tuple(rule.documents) if rule else ())
        return service.apply(
            self.session,
            depositor_ref=depositor.depositor_ref,
            application=service.Application(type=wtype, **fields),
            applicant=applicant or self.applicant(),
            channel=channel,
            idempotency_key=key or f"t{next(_seq)}",
            on=on,
            policy=self.books.policy,
            now=at(on),
        )

    def approve(self, withdrawal_id: int, day: date = APPLIED) -> Withdrawal:
        """Accept and review (and approve, for the higher band): the last step posts."""
        row = service.get(self.session, withdrawal_id)
        assert row.application_id is not None
        for actor, action in (
            (self.clerk, "accept"),
            (self.reviewer, "review"),
            (self.approver, "approve"),
        ):
            row = service.decide(
                self.session, withdrawal_id, actor=actor, action=action, now=at(day, 11)
            )
            if row.status != "in_review":
                break
        return row


def make_withdrawal_books(session: Session) -> WithdrawalBooks:
    books = make_books(session)
    return WithdrawalBooks(
        session,
        books,
        clerk=make_user(session, roles=("clerk",), whole_center=True),
        reviewer=make_user(session, roles=("reviewer",), whole_center=True),
        approver=make_user(session, roles=("approver",), whole_center=True),
    )
