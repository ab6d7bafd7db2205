"""一链办理 (employer onboarding) on both databases: all or nothing, idempotent, as a workflow type."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deposit_books import Books
from hpf.auth import passwords
from hpf.auth.models import AuditRecord, UserAccount
from hpf.deposits.depositors import freeze
from hpf.deposits.employers import EmployerInput
from hpf.deposits.models import Depositor, Employer, EmploymentSpell, Remittance, RemittanceLine
from hpf.deposits.onboarding import (
    IdempotencyConflict,
    NewDepositor,
    OnboardingRefused,
    OnboardingRequest,
    check_request,
    depositors_from_file,
    onboard,
    request_payload,
)
from hpf.identifiers import make_id_number, make_uscc
from hpf.org.models import OrgUnit
from hpf.workflow import service
from hpf.workflow.models import Application
from user_factories import make_user

JULY = date(2023, 7, 1)
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def person_id(n: int) -> str:
    return make_id_number("371312", date(1985, 3, 1 + n % 28), 500 + n, male=n % 2 == 0)


def request(books: Books, *, people: int = 3, **employer: Any) -> OnboardingRequest:
    n = next(_seq)
    fields: dict[str, Any] = {
        "uscc": make_uscc(f"91371300MB{n:07d}"),
        "name": f"一链单位{n}",
        "branch_code": books.branch_code,
        "employer_rate_pct": Decimal("10"),
        "employee_rate_pct": Decimal("10"),
        "opened_on": JULY,
    } | employer
    rows = tuple(
        NewDepositor(
            id_number=person_id(n * 100 + i),
            name=f"职工{n}-{i}",
            base_yuan=f"{5000 + i * 1000}.00",
            line=i + 2,  # as in a file under a header line
        )
        for i in range(people)
    )
    return OnboardingRequest(EmployerInput(**fields), rows)


def written(session: Session) -> tuple[int, ...]:
    return tuple(
        int(session.scalar(select(func.count()).select_from(t)) or 0)
        for t in (Employer, Depositor, EmploymentSpell, Remittance, RemittanceLine, AuditRecord)
    )


def test_onboarding_opens_enrols_and_drafts_the_first_list(books: Books) -> None:
    s = books.session
    req = request(books, first_month=date(2023, 8, 1))
    result = onboard(s, req, books.policy, books.actor, idempotency_key="onb-1")
    employer = s.scalar(select(Employer).where(Employer.employer_ref == result.employer_ref))
    assert employer is not None and employer.uscc == req.employer.uscc
    assert employer.first_month == date(2023, 8, 1) and not result.replayed
    people = s.scalars(select(Depositor).where(Depositor.employer_id == employer.id)).all()
    assert sorted(p.depositor_ref for p in people) == sorted(result.depositor_refs)
    assert sorted(p.base_fen for p in people) == [500_000, 600_000, 700_000]
    lst = s.get(Remittance, result.remittance_id)
    assert lst is not None and lst.status == "draft" and lst.month == date(2023, 8, 1)
    # 10% + 10% of 5,000 + 6,000 + 7,000 yuan
    assert lst.lines == 3 and lst.total_fen == result.total_fen == 2 * 180_000


def test_replay_with_the_same_key_writes_nothing_and_returns_the_first_outcome(
    books: Books,
) -> None:
    s = books.session
    req = request(books)
    first = onboard(s, req, books.policy, books.actor, idempotency_key="onb-replay")
    before = written(s)
    again = onboard(s, req, books.policy, books.actor, idempotency_key="onb-replay")
    assert again.replayed and written(s) == before
    assert (again.employer_ref, again.depositor_refs, again.remittance_id, again.total_fen) == (
        first.employer_ref,
        first.depositor_refs,
        first.remittance_id,
        first.total_fen,
    )
    with pytest.raises(IdempotencyConflict):
        onboard(s, request(books), books.policy, books.actor, idempotency_key="onb-replay")
    assert written(s) == before


def test_any_bad_row_refuses_the_whole_request_with_row_errors(books: Books) -> None:
    s = books.session
    good = request(books, people=2)
    bad_id = person_id(7)[:17] + ("0" if person_id(7)[17] != "0" else "1")
    rows = (
        *good.depositors,
        NewDepositor(bad_id, "校验位错", "5000", line=4),
        NewDepositor(person_id(8), "低于下限", "1899.99", line=5),  # city floor 1,900 yuan
        NewDepositor(good.depositors[0].id_number, "重复", "5000", line=6),
        NewDepositor(person_id(9), "", "五千", line=7),
        NewDepositor(person_id(10), "卡号错", "5000", line=8, bank_card="12ab"),
    )
    before = written(s)
    with pytest.raises(OnboardingRefused) as refused:
        onboard(
            s,
            OnboardingRequest(good.employer, rows),
            books.policy,
            books.actor,
            idempotency_key="x",
        )
    errors = refused.value.errors
    assert [(e.line, e.field) for e in errors] == [
        (4, "身份证号"),
        (5, "缴存基数"),
        (6, "身份证号"),
        (7, "姓名"),
        (7, "缴存基数"),
        (8, "银行卡号"),
    ]
    assert "第 6 行" in refused.value.message_zh and "line 2" in errors[2].message_en
    assert written(s) == before


def test_bad_employer_data_refuses_everything(books: Books) -> None:
    s = books.session
    req = request(
        books,
        uscc="91371300MA3C000001",  # wrong check character
        employer_rate_pct=Decimal("13"),
        branch_code=books.branch_code,
    )
    before = written(s)
    with pytest.raises(OnboardingRefused) as refused:
        onboard(s, req, books.policy, books.actor, idempotency_key="bad-employer")
    assert {e.field for e in refused.value.errors} == {"统一社会信用代码", "缴存比例"}
    assert all(e.line == 0 for e in refused.value.errors)
    assert written(s) == before
    # an already registered credit code
    done = request(books)
    onboard(s, done, books.policy, books.actor, idempotency_key="first-open")
    with pytest.raises(OnboardingRefused, match="exists"):
        check_request(s, request(books, uscc=done.employer.uscc), books.policy)


def test_existing_people_are_unfrozen_and_closed_ones_refused(books: Books) -> None:
    s = books.session
    old = books.employer()
    mover = books.depositor(old)
    freeze(s, mover, date(2023, 6, 30), books.actor)
    req = request(books, people=1)
    rows = (*req.depositors, NewDepositor(mover.id_number, mover.name, "8000", line=3))
    result = onboard(
        s, OnboardingRequest(req.employer, rows), books.policy, books.actor, idempotency_key="mv"
    )
    s.refresh(mover)
    assert mover.status == "01" and mover.depositor_ref in result.depositor_refs
    closed = books.depositor(old)
    closed.status = "05"
    s.flush()
    with pytest.raises(OnboardingRefused, match="closed"):
        check_request(
            s,
            OnboardingRequest(
                request(books).employer, (NewDepositor(closed.id_number, "张三", "5000", line=2),)
            ),
            books.policy,
        )


def test_depositors_from_csv_file_keep_line_numbers() -> None:
    text = "身份证号,姓名,缴存基数,手机号\n" + f"{person_id(1)},张三,5000,13912345678\n\n"
    text += f"{person_id(2)},李四,6000.50,\n"
    rows = depositors_from_file(text.encode("gbk"), "list.csv")
    assert [(r.line, r.name, r.base_yuan, r.phone) for r in rows] == [
        (2, "张三", "5000", "13912345678"),
        (4, "李四", "6000.50", ""),
    ]
    with pytest.raises(OnboardingRefused, match="缴存基数"):
        depositors_from_file("身份证号,姓名\n".encode(), "list.csv")


def _branch_id(books: Books) -> int:
    branch = books.session.scalar(select(OrgUnit).where(OrgUnit.code == books.branch_code))
    assert branch is not None
    return branch.id


def test_onboarding_as_a_workflow_application(books: Books) -> None:
    s = books.session
    branch = _branch_id(books)
    window, clerk, reviewer = (
        make_user(s, roles=(role,), branch_id=branch) for role in ("clerk", "clerk", "reviewer")
    )
    bad = request_payload(request(books))
    bad["depositors"][1]["base_yuan"] = "100"
    before = written(s)
    apps = int(s.scalar(select(func.count()).select_from(Application)) or 0)
    with pytest.raises(OnboardingRefused, match="line 3"):
        service.submit(
            s,
            business_type="employer_onboarding",
            applicant=window,
            channel="counter",
            payload=bad,
            branch_id=branch,
            idempotency_key="wf-onb-bad",
        )
    assert written(s) == before
    assert int(s.scalar(select(func.count()).select_from(Application)) or 0) == apps
    req = request(books)
    app_id = service.submit(
        s,
        business_type="employer_onboarding",
        applicant=window,
        channel="counter",
        payload=request_payload(req),
        branch_id=branch,
        idempotency_key="wf-onb-good",
    )
    assert service.get(s, app_id).route == ("accept", "review")
    assert s.scalar(select(Employer.id).where(Employer.uscc == req.employer.uscc)) is None
    service.act(s, app_id, actor=clerk, action="accept")
    view = service.act(s, app_id, actor=reviewer, action="review")
    assert view.status == "completed"
    employer = s.scalar(select(Employer).where(Employer.uscc == req.employer.uscc))
    assert employer is not None
    assert s.scalar(
        select(func.count()).select_from(Depositor).where(Depositor.employer_id == employer.id)
    ) == len(req.depositors)
    assert s.scalar(
        select(AuditRecord.object_id)
        .where(AuditRecord.action == "employer.onboard")
        .where(AuditRecord.object_id == f"workflow:{app_id}")
    )


def test_new_employer_agent_onboards_online_and_is_linked(books: Books) -> None:
    s = books.session
    branch = _branch_id(books)
    agent = make_user(s, kind="employer")
    clerk, reviewer = (make_user(s, roles=(r,), branch_id=branch) for r in ("clerk", "reviewer"))
    req = request(books, people=1)
    app_id = service.submit(
        s,
        business_type="employer_onboarding",
        applicant=agent,
        channel="online_hall",
        payload=request_payload(req),
        branch_id=branch,
        idempotency_key="wf-onb-online",
        now=datetime(2023, 7, 3, tzinfo=UTC),
    )
    service.act(s, app_id, actor=clerk, action="accept")
    service.act(s, app_id, actor=reviewer, action="review")
    ref = s.scalar(select(Employer.employer_ref).where(Employer.uscc == req.employer.uscc))
    user = s.get(UserAccount, agent.user_id)
    assert user is not None
    s.refresh(user)
    assert ref is not None and user.employer_ref == ref


def test_employer_type_is_checked_and_recorded(books: Books) -> None:
    s = books.session
    before = written(s)
    with pytest.raises(OnboardingRefused) as refused:
        onboard(
            s,
            request(books, employer_type="火星企业"),
            books.policy,
            books.actor,
            idempotency_key="bad-type",
        )
    assert {e.field for e in refused.value.errors} == {"单位性质"}
    assert written(s) == before
    result = onboard(
        s,
        request(books, employer_type="外商投资企业"),
        books.policy,
        books.actor,
        idempotency_key="good-type",
    )
    employer = s.scalar(select(Employer).where(Employer.employer_ref == result.employer_ref))
    assert employer is not None and employer.employer_type == "foreign_invested"
