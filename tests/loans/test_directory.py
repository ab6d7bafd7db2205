"""The HPF loans of people by ID number: a month's batch (more people than one statement takes)
finds exactly what asking person by person finds."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hpf.loans import service
from hpf.loans.directory import CHUNK, hpf_loan_directory
from loan_books import LoanBooks


def test_many_people_at_once_equal_one_by_one(lb: LoanBooks, session: Session) -> None:
    borrower, spouse = lb.family()
    assert spouse is not None
    active = lb.loan(borrower, co_borrowers=(service.CoBorrower(spouse.id_number, spouse.name),))
    signed_by, _ = lb.family(spouse=False)
    signed = lb.approve(lb.apply(signed_by).loan_id)
    nobody, _ = lb.family(spouse=False)
    not_asked, _ = lb.family(spouse=False)
    lb.loan(not_asked)
    assert active.status == "active" and signed.status == "approved"
    people = [borrower.id_number, spouse.id_number, signed_by.id_number, nobody.id_number]
    strangers = [f"37130219800101{k:04d}" for k in range(CHUNK + 1)]
    one_by_one = {fact for who in people for fact in hpf_loan_directory(session, frozenset({who}))}
    at_once = hpf_loan_directory(session, frozenset(people + strangers))
    assert len(people + strangers) > CHUNK
    assert set(at_once) == one_by_one and len(at_once) == 2
    by_ref = {fact.loan_ref: fact for fact in at_once}
    assert by_ref[active.loan_ref].borrower_ids == {borrower.id_number, spouse.id_number}
    assert by_ref[active.loan_ref].outstanding_fen == active.balance_fen
    assert by_ref[signed.loan_ref].outstanding_fen == signed.requested_fen
    assert hpf_loan_directory(session, frozenset({nobody.id_number})) == ()
