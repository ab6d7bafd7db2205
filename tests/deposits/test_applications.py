"""降比 (employer_rate_change) and 缓缴 (employer_deferral) as workflow applications, both databases."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deposit_books import Books, make_books
from hpf.auth import passwords
from hpf.auth.models import AuditRecord
from hpf.auth.principal import Principal
from hpf.deposits import arrears
from hpf.deposits.employers import EmployerError
from hpf.deposits.models import Employer
from hpf.deposits.rules import ContributionRuleError
from hpf.errors import InvalidInput
from hpf.workflow import service
from hpf.workflow.business_types import route_table
from hpf.workflow.models import Application
from hpf.workflow.rules import NotPermitted, SeparationOfDuties
from user_factories import make_user

JULY_3 = datetime(2023, 7, 3, 2, 0, tzinfo=UTC)  # 10:00 China time
_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@dataclass
class Office:
    """An employer of a branch, its agent (单位经办人) and three staff for the three steps."""

    books: Books
    employer: Employer
    agent: Principal
    clerk: Principal
    reviewer: Principal
    approver: Principal

    @property
    def session(self) -> Session:
        return self.books.session


def make_office(books: Books, *, opened: date = date(2023, 7, 1)) -> Office:
    s = books.session
    employer = books.employer("12", opened=opened)
    books.depositor(employer, 500_000, joined=opened)
    branch = employer.branch_id
    return Office(
        books,
        employer,
        make_user(s, kind="employer", employer_ref=employer.employer_ref),
        make_user(s, roles=("clerk",), branch_id=branch),
        make_user(s, roles=("reviewer",), branch_id=branch),
        make_user(s, roles=("approver",), branch_id=branch),
    )


def rate_payload(office: Office, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "employer_ref": office.employer.employer_ref,
        "employer_rate_pct": "8",
        "employee_rate_pct": "8",
        "effective_month": "2023-08",
        "months": 12,
        "reason": "受市场影响经营困难",
        "consent": "2023年第1次职工代表大会决议",
    }
    return payload | changes


def deferral_payload(office: Office, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "employer_ref": office.employer.employer_ref,
        "from_month": "2023-07",
        "months": 3,
        "reason": "停产整顿",
        "consent": "工会同意意见 2023-07",
    }
    return payload | changes


def submit(
    office: Office,
    business_type: str,
    payload: dict[str, Any],
    *,
    applicant: Principal | None = None,
    channel: str | None = None,
    branch_id: int | None = None,
    now: datetime = JULY_3,
) -> int:
    who = applicant or office.agent
    return service.submit(
        office.session,
        business_type=business_type,
        applicant=who,
        channel=channel or ("online_hall" if who.kind == "employer" else "counter"),
        payload=payload,
        branch_id=branch_id or office.employer.branch_id,
        subject_ref=office.employer.employer_ref,
        idempotency_key=f"dep-app-{next(_keys)}",
        now=now,
    )


def walk(office: Office, app_id: int, moves: Iterable[tuple[Principal, str]]) -> str:
    status = ""
    for actor, action in moves:
        status = service.act(office.session, app_id, actor=actor, action=action, now=JULY_3).status
    return status


def three_steps(office: Office) -> list[tuple[Principal, str]]:
    return [(office.clerk, "accept"), (office.reviewer, "review"), (office.approver, "approve")]


def counts(session: Session) -> tuple[int, int]:
    return (
        int(session.scalar(select(func.count()).select_from(Application)) or 0),
        int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0),
    )


def test_rate_change_walk_by_three_people_lowers_the_rates(books: Books) -> None:
    office = make_office(books)
    app_id = submit(office, "employer_rate_change", rate_payload(office))
    view = service.get(office.session, app_id)
    assert view.route == ("accept", "review", "approve") and view.fully_online
    assert office.employer.employer_rate_pct == Decimal("12")  # nothing changes before 办结
    assert walk(office, app_id, three_steps(office)) == "completed"
    office.session.refresh(office.employer)
    assert office.employer.employer_rate_pct == Decimal("8")
    assert office.employer.employee_rate_pct == Decimal("8")
    actor_id = office.session.scalar(
        select(AuditRecord.actor_id).where(
            AuditRecord.action == "employer.rates",
            AuditRecord.object_id == office.employer.employer_ref,
        )
    )
    assert actor_id == office.approver.user_id  # the change is the approver's


def test_same_person_may_not_take_two_steps(books: Books) -> None:
    office = make_office(books)
    both = make_user(
        office.session, roles=("clerk", "reviewer"), branch_id=office.employer.branch_id
    )
    app_id = submit(office, "employer_rate_change", rate_payload(office))
    walk(office, app_id, [(both, "accept")])
    with pytest.raises(SeparationOfDuties):
        walk(office, app_id, [(both, "review")])
    assert service.get(office.session, app_id).status == "accepted"
    office.session.refresh(office.employer)
    assert office.employer.employer_rate_pct == Decimal("12")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"employer_rate_pct": "4"}, ContributionRuleError),  # below the 5% floor in force
        ({"employee_rate_pct": "4.99"}, ContributionRuleError),
        ({"employer_rate_pct": "13", "employee_rate_pct": "8"}, ContributionRuleError),
        ({"employer_rate_pct": "12", "employee_rate_pct": "12"}, EmployerError),  # not lower
        ({"employer_rate_pct": "7.555"}, InvalidInput),  # finer than 0.01%
        ({"months": 13}, EmployerError),  # at most one year at a time
        ({"effective_month": "2023-06"}, InvalidInput),  # no retroactive change
        ({"consent": ""}, InvalidInput),  # the employees' representatives' consent
    ],
)
def test_bad_rate_change_is_refused_at_submission_writing_nothing(
    books: Books, changes: dict[str, Any], error: type[Exception]
) -> None:
    office = make_office(books)
    before = counts(office.session)
    with pytest.raises(error):
        submit(office, "employer_rate_change", rate_payload(office, **changes))
    assert counts(office.session) == before


def test_who_may_apply_and_through_which_channel(books: Books) -> None:
    office = make_office(books)
    other = make_office(make_books(books.session))  # another employer, in another branch
    payload = rate_payload(office)
    with pytest.raises(NotPermitted):  # another employer's agent
        submit(office, "employer_rate_change", payload, applicant=other.agent)
    with pytest.raises(InvalidInput, match="online hall"):  # an agent at the counter
        submit(office, "employer_rate_change", payload, channel="counter")
    with pytest.raises(NotPermitted):  # staff of another branch
        submit(office, "employer_rate_change", payload, applicant=other.clerk)
    with pytest.raises(InvalidInput, match="counter"):  # staff from the online hall
        submit(office, "employer_rate_change", payload, applicant=office.clerk, channel="wechat")
    with pytest.raises(InvalidInput, match="branch"):  # filed with the wrong branch
        submit(office, "employer_rate_change", payload, branch_id=other.employer.branch_id)
    # a clerk takes it in at the window (窗口); three other people then handle it
    window_clerk = make_user(books.session, roles=("clerk",), branch_id=office.employer.branch_id)
    app_id = submit(office, "employer_rate_change", payload, applicant=window_clerk)
    assert not service.get(books.session, app_id).fully_online
    assert walk(office, app_id, three_steps(office)) == "completed"
    office.session.refresh(office.employer)
    assert office.employer.employer_rate_pct == Decimal("8")


def _arrears_months(books: Books, employer: Employer, as_of: date) -> list[date]:
    return [
        i.month
        for i in arrears.arrears(books.session, as_of, books.policy)
        if i.employer_ref == employer.employer_ref
    ]


def test_deferral_walk_defers_and_suspends_arrears_for_the_deferred_months(books: Books) -> None:
    office = make_office(books)
    dec_1 = date(2023, 12, 1)
    months = [date(2023, m, 1) for m in range(7, 12)]
    assert _arrears_months(books, office.employer, dec_1) == months
    app_id = submit(office, "employer_deferral", deferral_payload(office))
    assert service.get(books.session, app_id).route == ("accept", "review", "approve")
    assert walk(office, app_id, three_steps(office)) == "completed"
    books.session.refresh(office.employer)
    assert office.employer.status == "03"
    assert office.employer.deferred_until == date(2023, 9, 1)
    # July-September are deferred; October and November are still owed
    assert _arrears_months(books, office.employer, dec_1) == months[3:]


@pytest.mark.parametrize(
    ("changes", "now", "error", "match"),
    [
        ({"months": 13}, JULY_3, EmployerError, "12"),  # domain.md: at most one year at a time
        ({"months": 0}, JULY_3, InvalidInput, "months"),
        ({"from_month": "2023-13"}, JULY_3, InvalidInput, "YYYY-MM"),
        ({"reason": " "}, JULY_3, InvalidInput, "reason"),
        # from September while July and August are unpaid: arrears are paid first
        (
            {"from_month": "2023-09"},
            datetime(2023, 9, 2, tzinfo=UTC),
            EmployerError,
            "2 unpaid",
        ),
        # no retroactive deferral (applied for in September)
        ({"from_month": "2023-08"}, datetime(2023, 9, 2, tzinfo=UTC), InvalidInput, "2023-09"),
    ],
)
def test_bad_deferral_is_refused_at_submission_writing_nothing(
    books: Books, changes: dict[str, Any], now: datetime, error: type[Exception], match: str
) -> None:
    office = make_office(books)
    before = counts(office.session)
    with pytest.raises(error, match=match):
        submit(office, "employer_deferral", deferral_payload(office, **changes), now=now)
    assert counts(office.session) == before


def test_deferral_cannot_overlap_a_running_one(books: Books) -> None:
    office = make_office(books)
    first = submit(office, "employer_deferral", deferral_payload(office))
    walk(office, first, three_steps(office))
    with pytest.raises(EmployerError, match="deferred until 2023-09"):
        submit(office, "employer_deferral", deferral_payload(office, from_month="2023-08"))


def test_types_are_registered_with_their_routes() -> None:
    codes = {b.code for b in service.business_types()}
    assert {"employer_rate_change", "employer_deferral", "employer_onboarding"} <= codes
    table = route_table()
    assert table.steps_for("employer_onboarding", 0) == ("accept", "review")
    assert table.steps_for("employer_deferral", 0) == ("accept", "review", "approve")
