"""Property test: random sequences of journals, reversals and replays keep every invariant.

A model in plain Python (dict of expected balances) runs beside the real ledger; after each
sequence the database must agree with the model and ``verify_ledger`` must pass.
"""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.models import Journal
from hpf.ledger.rules import IdempotencyConflict, JournalDraft, Leg, UnbalancedJournal
from hpf.ledger.service import balance_of, post, reverse
from hpf.ledger.verify import verify_ledger

GL = [chart.HPF_BANK_DEPOSITS, chart.INCOME_LOAN_INTEREST, chart.EXPENSE_DEPOSITOR_INTEREST]

amounts = st.integers(min_value=1, max_value=10**12)
op = st.one_of(
    st.tuples(
        st.just("post"), st.lists(st.tuples(st.integers(0, 5), amounts), min_size=1, max_size=4)
    ),
    st.tuples(st.just("reverse"), st.integers(0, 1000)),
    st.tuples(st.just("replay"), st.integers(0, 1000)),
    st.tuples(st.just("conflict"), st.integers(0, 1000)),
    st.tuples(
        st.just("unbalanced"),
        st.lists(st.tuples(st.integers(0, 5), amounts), min_size=2, max_size=4),
    ),
    st.tuples(
        st.just("bulk"), st.lists(st.tuples(st.integers(0, 5), amounts), min_size=1, max_size=5)
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=12))
def test_random_operations_keep_invariants(session: Session, ops: list[tuple[str, object]]) -> None:
    savepoint = session.begin_nested()
    try:
        _run(session, ops)
    finally:
        savepoint.rollback()


def _run(session: Session, ops: list[tuple[str, object]]) -> None:
    branch = make_branch(session)
    accounts = [*make_depositor_accounts(session, branch, 3), *GL]
    model = {a: balance_of(session, a) for a in accounts}
    posted: list[tuple[str, JournalDraft, int]] = []
    reversed_ids: set[int] = set()
    n = 0

    def draft_of(pairs: object, bank_side: int) -> JournalDraft:
        legs = [Leg(accounts[i % len(accounts)], -amt) for i, amt in pairs]  # type: ignore[attr-defined]
        total = sum(leg.amount for leg in legs)
        legs.append(Leg(chart.HPF_BANK_DEPOSITS, -total + bank_side))
        legs = [leg for leg in legs if leg.amount != 0]
        return JournalDraft("test", branch.id, date(2023, 7, 1), date(2023, 7, 1), tuple(legs))

    def apply(draft: JournalDraft, sign: int = 1) -> None:
        for leg in draft.legs:
            model[leg.account] += sign * leg.amount

    for kind, arg in ops:
        n += 1
        before = int(session.scalar(select(func.count()).select_from(Journal)) or 0)
        if kind == "post":
            draft = draft_of(arg, 0)
            if len(draft.legs) < 2:
                continue
            key = f"p-{branch.id}-{n}"
            result = post(session, draft, idempotency_key=key)
            posted.append((key, draft, result.journal_id))
            apply(draft)
        elif kind == "bulk":
            items = []
            for j, pair in enumerate(arg):  # type: ignore[attr-defined]
                draft = draft_of([pair], 0)
                if len(draft.legs) >= 2:
                    items.append((f"b-{branch.id}-{n}-{j}", draft))
            res = post_many(session, items)
            assert res.posted == len(items)
            for offset, (key, draft) in enumerate(items):
                assert res.first_id is not None
                posted.append((key, draft, res.first_id + offset))
                apply(draft)
            # the whole batch again is a replay of every item
            assert post_many(session, items).replayed == len(items)
        elif kind == "reverse" and posted:
            key, draft, jid = posted[int(arg) % len(posted)]  # type: ignore[call-overload]
            if jid in reversed_ids:
                continue
            reverse(session, jid, idempotency_key=f"r-{jid}", posting_date=date(2023, 7, 2))
            reversed_ids.add(jid)
            apply(draft, -1)
        elif kind == "replay" and posted:
            key, draft, jid = posted[int(arg) % len(posted)]  # type: ignore[call-overload]
            again = post(session, draft, idempotency_key=key)
            assert again.replayed and again.journal_id == jid
        elif kind == "conflict" and posted:
            key, draft, _ = posted[int(arg) % len(posted)]  # type: ignore[call-overload]
            changed = JournalDraft(
                draft.kind,
                draft.branch_id,
                draft.posting_date,
                draft.value_date,
                draft.legs,
                memo="changed",
            )
            try:
                post(session, changed, idempotency_key=key)
                raise AssertionError("a reused key with a different request must be refused")
            except IdempotencyConflict:
                pass
        elif kind == "unbalanced":
            draft = draft_of(arg, 1)
            try:
                post(session, draft, idempotency_key=f"u-{branch.id}-{n}")
                raise AssertionError("an unbalanced journal must be refused")
            except UnbalancedJournal:
                pass
            after = int(session.scalar(select(func.count()).select_from(Journal)) or 0)
            assert after == before
        for account, expected in model.items():
            assert balance_of(session, account) == expected, account
    report = verify_ledger(session)
    assert report.ok, report.problems
