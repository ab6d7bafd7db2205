"""The batch path for new loans (apply → 受理/复核/审批 → disburse) against the one-at-a-time
path, on both backends: the same requests give the same loans, parties, workflow applications
and steps, ledger accounts, journals (keys, legs, hashes), schedules and rate rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from hpf.db.sequences import sync_id_sequence
from hpf.ledger.models import Account, Journal, Posting
from hpf.ledger.verify import verify_ledger
from hpf.loans import service
from hpf.loans.issue_batch import IssueItem, assess_many, issue
from hpf.loans.models import Installment, Loan, LoanParty, RateChange
from hpf.workflow.models import Application, ApplicationStep
from loan_books import APPLIED, LoanBooks, at
from user_factories import make_user

SEQUENCED = (
    "loan",
    "loan_party",
    "loan_installment",
    "loan_rate_change",
    "workflow_application",
    "workflow_step",
    "ledger_account",
    "ledger_posting",
)


def _items(lb: LoanBooks) -> list[IssueItem]:
    """A spouse pair, an over-limit request asked again at the limit, a person with a loan
    outstanding, a person asking twice in one batch, a term too long."""
    couple, spouse = lb.family()
    assert spouse is not None
    poor, _ = lb.family(spouse=False, extra_fen=0)
    owner, _ = lb.family(spouse=False)
    lb.loan(owner)
    twice, _ = lb.family(spouse=False)
    old, _ = lb.family(spouse=False)
    day = date(2024, 9, 12)

    def item(person: Any, key: str, **fields: Any) -> IssueItem:
        return IssueItem(
            key=key,
            depositor_ref=person.depositor_ref,
            request=lb.request(**fields),
            channel="counter" if len(key) % 2 else "online_hall",
            on=day,
            at=at(day),
        )

    items = [
        item(
            couple,
            "b1",
            co_borrowers=(service.CoBorrower(spouse.id_number, spouse.name),),
            amount_fen=40_000_000,
        ),
        item(poor, "b2", amount_fen=60_000_000),
        item(owner, "b3"),
        item(twice, "b4", amount_fen=20_000_000),
        item(twice, "b5", amount_fen=20_000_000),
        item(old, "b6", term_months=360),
    ]
    verdicts = assess_many(lb.session, items, policy=lb.books.policy)
    assert [v.allowed for v in verdicts] == [True, False, False, True, False, False]
    assert [v.refusals[0].code for v in verdicts if not v.allowed] == [
        "over_limit",
        "hpf_loan_outstanding",
        "hpf_loan_outstanding",
        "term_too_long",
    ]
    limit = verdicts[1].limit_fen // 100_000 * 100_000
    assert limit > 0
    items.insert(2, item(poor, "b2-again", amount_fen=limit))
    return items


def _single(lb: LoanBooks, items: Sequence[IssueItem], staff: dict[str, Any]) -> list[int]:
    ids = []
    for it in items:
        outcome = service.apply(
            lb.session,
            depositor_ref=it.depositor_ref,
            request=it.request,
            applicant=staff["submit"],
            channel=it.channel,
            idempotency_key=it.key,
            on=it.on,
            policy=lb.books.policy,
            now=it.at,
        )
        ids.append(outcome.loan_id)
        if not outcome.allowed:
            continue
        for action in ("accept", "review", "approve"):
            service.decide(
                lb.session, outcome.loan_id, actor=staff[action], action=action, now=it.at
            )
        service.disburse(
            lb.session,
            outcome.loan_id,
            on=it.on,
            actor=staff["accept"],
            policy=lb.books.policy,
            now=it.at,
        )
    lb.session.flush()
    return ids


def _rows(session: Session, table: Any, *where: Any, order: Sequence[Any], drop: set[str]) -> list:
    t: Table = table.__table__
    out = []
    for row in session.execute(select(t).where(*where).order_by(*order)).mappings():
        out.append(
            {
                k: (_utc(v) if isinstance(v, datetime) else v)
                for k, v in row.items()
                if k not in drop
            }
        )
    return out


def _utc(v: datetime) -> datetime:
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _snapshot(session: Session, first_loan: int, first_journal: int) -> dict[str, Any]:
    loans = _rows(session, Loan, Loan.id >= first_loan, order=[Loan.id], drop=set())
    app_ids = [r["application_id"] for r in loans if r["application_id"] is not None]
    refs = [r["loan_ref"] for r in loans]
    journals = _rows(
        session, Journal, Journal.id >= first_journal, order=[Journal.id], drop={"created_at"}
    )
    postings = session.execute(
        select(Posting.journal_id, Account.code, Posting.amount)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.journal_id >= first_journal)
        .order_by(Posting.journal_id, Account.code)
    ).all()
    return {
        "loans": loans,
        "parties": _rows(
            session,
            LoanParty,
            LoanParty.loan_id >= first_loan,
            order=[LoanParty.loan_id, LoanParty.role, LoanParty.id_number],
            drop={"id"},
        ),
        "schedules": _rows(
            session,
            Installment,
            Installment.loan_id >= first_loan,
            order=[Installment.loan_id, Installment.n],
            drop={"id"},
        ),
        "rates": _rows(
            session,
            RateChange,
            RateChange.loan_id >= first_loan,
            order=[RateChange.loan_id],
            drop={"id"},
        ),
        "applications": _rows(
            session, Application, Application.id.in_(app_ids), order=[Application.id], drop=set()
        ),
        "steps": _rows(
            session,
            ApplicationStep,
            ApplicationStep.application_id.in_(app_ids),
            order=[ApplicationStep.application_id, ApplicationStep.id],
            drop={"id"},
        ),
        "accounts": _rows(
            session,
            Account,
            Account.subsidiary_ref.in_(refs),
            order=[Account.code],
            drop=set(),
        ),
        "journals": journals,
        "postings": [tuple(p) for p in postings],
    }


def test_batch_issues_what_the_single_path_issues(lb: LoanBooks, session: Session) -> None:
    items = _items(lb)
    staff = {
        "submit": make_user(session, roles=("clerk",), whole_center=True),
        "accept": lb.clerk,
        "review": lb.reviewer,
        "approve": lb.approver,
    }
    session.flush()
    first_loan = int(session.scalar(select(func.max(Loan.id))) or 0) + 1
    first_journal = int(session.scalar(select(func.max(Journal.id))) or 0) + 1

    savepoint = session.begin_nested()
    single_ids = _single(lb, items, staff)
    single = _snapshot(session, first_loan, first_journal)
    savepoint.rollback()
    session.expire_all()
    sync_id_sequence(session, *SEQUENCED)  # PostgreSQL: sequences do not roll back

    out = issue(
        session,
        items,
        applicant=staff["submit"],
        deciders={k: staff[k] for k in ("accept", "review", "approve")},
        policy=lb.books.policy,
    )
    session.flush()
    batch = _snapshot(session, first_loan, first_journal)
    assert out.loan_ids == single_ids
    assert (out.issued, out.refused) == (3, 4)
    assert [r["status"] for r in batch["loans"]] == [
        "active",
        "refused",
        "active",
        "refused",
        "active",
        "refused",
        "refused",
    ]
    for part in single:
        assert batch[part] == single[part], part
    assert out.disbursed_fen == sum(r["principal_fen"] for r in batch["loans"])
    assert verify_ledger(session).ok
    # a replay writes nothing
    again = issue(
        session,
        items,
        applicant=staff["submit"],
        deciders={k: staff[k] for k in ("accept", "review", "approve")},
        policy=lb.books.policy,
    )
    assert (again.replayed, again.issued, again.loan_ids) == (len(items), 0, single_ids)
    assert items[0].on > APPLIED
