"""Property: random remittances, transfers, freezes and closures keep the books whole.

After every sequence the depositors' balances equal the model, their sum equals the fund's
control account 201, and ``verify_ledger`` passes.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from deposit_books import make_books
from hpf.dates import add_months
from hpf.deposits import remittance
from hpf.deposits.depositors import (
    DepositorError,
    balance_fen,
    freeze,
    join_employer,
    transfer_in,
    transfer_out,
)
from hpf.deposits.rules import ContributionRuleError
from hpf.ledger import chart
from hpf.ledger.service import balance_of
from hpf.ledger.verify import verify_ledger

ops = st.lists(
    st.one_of(
        st.tuples(st.just("remit"), st.integers(0, 1)),
        st.tuples(st.just("transfer_in"), st.integers(0, 3), st.integers(1, 10**7)),
        st.tuples(st.just("freeze"), st.integers(0, 3)),
        st.tuples(st.just("join"), st.integers(0, 3), st.integers(0, 1)),
        st.tuples(st.just("transfer_out"), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=ops)
def test_random_contribution_histories_keep_invariants(
    session: Session, steps: list[tuple[int, ...]]
) -> None:
    savepoint = session.begin_nested()
    try:
        _run(session, steps)
    finally:
        savepoint.rollback()


def _run(session: Session, steps: list[tuple[int, ...]]) -> None:
    books = make_books(session)
    employers = [books.employer("12"), books.employer("5")]
    people = [books.depositor(employers[i % 2], 300_000 + 100_000 * i) for i in range(4)]
    outside = -balance_of(session, chart.DEPOSITORS_FUNDS)  # other depositors in this database
    model = [0, 0, 0, 0]
    month, day = date(2023, 7, 1), date(2023, 7, 10)
    for n, step in enumerate(steps):
        day += timedelta(days=9)
        kind = step[0]
        try:
            if kind == "remit":
                employer = employers[int(step[1])]
                members = [
                    i
                    for i, p in enumerate(people)
                    if p.employer_id == employer.id and p.status == "01"
                ]
                if members:
                    lst = remittance.draft(session, employer, month, books.policy, books.actor)
                    month = add_months(month, 1) if step[1] else month
                    remittance.confirm(session, lst, books.actor)
                    remittance.receive_funds(
                        session,
                        employer,
                        lst.total_fen,
                        day,
                        books.actor,
                        idempotency_key=f"p-funds-{lst.id}",
                    )
                    remittance.post_remittances(session, [lst.id], day, books.actor)
                    rate = employer.employer_rate_pct + employer.employee_rate_pct
                    for i in members:
                        share = people[i].base_fen * employer.employer_rate_pct / 100
                        model[i] += 2 * int(share.quantize(1)) if rate else 0
            elif kind == "transfer_in":
                i = int(step[1])
                transfer_in(
                    session,
                    people[i],
                    int(step[2]),
                    day,
                    "外市",
                    books.actor,
                    idempotency_key=f"p-in-{people[i].id}-{n}",
                )
                model[i] += int(step[2])
            elif kind == "freeze":
                freeze(session, people[int(step[1])], day, books.actor)
            elif kind == "join":
                join_employer(
                    session,
                    people[int(step[1])],
                    employers[int(step[2])],
                    400_000,
                    day,
                    books.policy,
                    books.actor,
                )
            elif kind == "transfer_out":
                i = int(step[1])
                transfer_out(
                    session,
                    people[i],
                    day,
                    "外市",
                    books.policy,
                    books.actor,
                    idempotency_key=f"p-out-{people[i].id}-{n}",
                )
                model[i] = 0
        except (DepositorError, remittance.RemittanceError, ContributionRuleError):
            pass  # refused in this state: the balances below prove nothing changed
        balances = [balance_fen(session, p) for p in people]
        assert balances == model
        assert -balance_of(session, chart.DEPOSITORS_FUNDS) == outside + sum(balances)
    assert verify_ledger(session).ok
