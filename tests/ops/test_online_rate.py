"""网办率 per month and business type from the workflow's applications (hand counts)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from factories import make_branch
from hpf.workflow.models import Application
from hpf.workflow.stats import BUSINESS_TZ, online_rate_by_month_and_type
from user_factories import make_user


def test_online_rate_by_month_and_type(session: Session) -> None:
    branch = make_branch(session)
    user = make_user(session, roles=("clerk",), whole_center=True)
    n = 0

    def app(
        btype: str, online: bool, completed: datetime | None, status: str = "completed"
    ) -> None:
        nonlocal n
        n += 1
        session.add(
            Application(
                business_type=btype,
                status=status,
                route="accept",
                applicant_user_id=user.user_id,
                applicant_kind="staff",
                branch_id=branch.id,
                channel="online_hall" if online else "counter",
                fully_online=online,
                idempotency_key=f"or-{n}",
                request_hash="h",
                created_at=datetime(2023, 4, 1, tzinfo=UTC),
                updated_at=datetime(2023, 4, 1, tzinfo=UTC),
                completed_at=completed,
            )
        )

    may = datetime(2023, 5, 10, tzinfo=UTC)
    app("withdrawal.rent", True, may)
    app("withdrawal.rent", True, may)
    app("withdrawal.rent", False, may)
    app("withdrawal.rent", True, None, status="accepted")  # not completed: not counted
    app("loan.apply", False, may)
    # 2023-05-31 16:30 UTC is June 1st in China: counted in June
    app("loan.apply", True, datetime(2023, 5, 31, 16, 30, tzinfo=UTC))
    session.flush()
    rates = online_rate_by_month_and_type(session, date(2023, 5, 1), date(2023, 6, 1))
    # May: rent 2 online of 3 completed; loan 0 of 1. June: loan 1 of 1.
    assert rates == {
        (date(2023, 5, 1), "withdrawal.rent"): (2, 3),
        (date(2023, 5, 1), "loan.apply"): (0, 1),
        (date(2023, 6, 1), "loan.apply"): (1, 1),
    }
    assert BUSINESS_TZ.utcoffset(None).total_seconds() == 8 * 3600  # type: ignore[union-attr]
