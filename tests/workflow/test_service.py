"""Applications on both databases: steps, separation of duties, scope, idempotency, 网办率."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factories import make_branch
from hpf.auth.errors import PermissionDenied
from hpf.auth.models import AuditRecord, UserAccount
from hpf.auth.service import Principal, create_user, principal_of
from hpf.errors import InvalidInput
from hpf.identifiers import make_id_number
from hpf.workflow import service
from hpf.workflow.models import Application
from hpf.workflow.rules import (
    AlreadyInProgress,
    ApplicationClosed,
    ApplicationNotFound,
    IdempotencyConflict,
    NotPermitted,
    SeparationOfDuties,
    UnknownBusinessType,
    UnknownChannel,
)
from hpf.workflow.views import ApplicationView

_seq = itertools.count(1)
PASSWORD = "secret123"


def staff(
    session: Session, branch_id: int | None, *roles: str, whole_center: bool = False
) -> Principal:
    """A staff principal with ``roles`` in ``branch_id``."""
    n = next(_seq)
    uid = create_user(
        session,
        kind="staff",
        login_name=f"wf_staff_{n}",
        password=PASSWORD,
        display_name=f"员工{n}",
        roles=roles,
        branch_id=branch_id,
        whole_center=whole_center,
    )
    return principal_of(session, uid)


def depositor(session: Session) -> Principal:
    """A depositor principal (缴存职工) with an old phone number."""
    n = next(_seq)
    id_number = make_id_number("371302", date(1980, 1, 1) + timedelta(days=n), n, male=True)
    uid = create_user(
        session,
        kind="depositor",
        login_name=id_number,
        password=PASSWORD,
        display_name=f"职工{n}",
        depositor_ref=f"P{n:09d}",
        phone="13000000000",
    )
    return principal_of(session, uid)


class Office:
    """A branch with a clerk (经办), a reviewer (复核) and an approver (审批), and a depositor."""

    def __init__(self, session: Session) -> None:
        self.branch = make_branch(session).id
        self.clerk = staff(session, self.branch, "clerk")
        self.reviewer = staff(session, self.branch, "reviewer")
        self.approver = staff(session, self.branch, "approver")
        self.applicant = depositor(session)


def apply(
    session: Session,
    office: Office,
    *,
    phone: str = "13912345678",
    channel: str = "mobile_app",
    key: str | None = None,
    applicant: Principal | None = None,
    now: datetime | None = None,
) -> int:
    return service.submit(
        session,
        business_type="contact_change",
        applicant=applicant or office.applicant,
        channel=channel,
        payload={"phone": phone},
        branch_id=office.branch,
        subject_ref=(applicant or office.applicant).depositor_ref,
        idempotency_key=key or f"wf-{next(_seq)}",
        now=now,
    )


def walk(
    session: Session,
    app_id: int,
    moves: Iterable[tuple[Principal, str]],
    *,
    now: datetime | None = None,
    at_counter: bool = False,
) -> ApplicationView:
    view = service.get(session, app_id)
    for actor, action in moves:
        view = service.act(
            session, app_id, actor=actor, action=action, now=now, at_counter=at_counter
        )
    return view


def phone_of(session: Session, user_id: int) -> str | None:
    return session.scalar(select(UserAccount.phone).where(UserAccount.id == user_id))


def audit_actions(session: Session, app_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditRecord.action)
            .where(
                AuditRecord.object_type == "workflow_application",
                AuditRecord.object_id == str(app_id),
            )
            .order_by(AuditRecord.id)
        )
    )


def test_full_walk_of_contact_change(session: Session) -> None:
    office = Office(session)
    app_id = apply(session, office)
    view = service.get(session, app_id)
    assert (view.status, view.awaiting, view.route) == ("submitted", "accept", ("accept", "review"))
    assert view.fully_online and view.channel == "mobile_app"
    assert view.business_name_zh == "变更联系方式"
    accepted = service.act(session, app_id, actor=office.clerk, action="accept")
    assert (accepted.status, accepted.awaiting) == ("accepted", "review")
    assert phone_of(session, office.applicant.user_id) == "13000000000"
    done = service.act(session, app_id, actor=office.reviewer, action="review", comment="核对无误")
    assert done.status == "completed" and done.awaiting is None
    assert done.completed_at is not None and done.completed_at.tzinfo is not None
    assert phone_of(session, office.applicant.user_id) == "13912345678"
    assert [(s.step, s.action, s.actor_user_id) for s in done.steps] == [
        ("submit", "submit", office.applicant.user_id),
        ("accept", "accept", office.clerk.user_id),
        ("review", "review", office.reviewer.user_id),
    ]
    assert done.steps[-1].comment == "核对无误"
    assert all(s.at <= done.completed_at for s in done.steps)
    assert audit_actions(session, app_id) == [
        "workflow.submit",
        "workflow.accept",
        "workflow.review",
    ]
    row = session.get(Application, app_id)
    assert row is not None and row.in_progress_key is None
    with pytest.raises(ApplicationClosed):
        service.act(session, app_id, actor=office.approver, action="approve")


def test_steps_are_append_only_in_the_database(session: Session) -> None:
    office = Office(session)
    app_id = apply(session, office)
    service.act(session, app_id, actor=office.clerk, action="accept")
    with pytest.raises(Exception, match="immutable"), session.begin_nested():
        session.execute(
            text("UPDATE workflow_step SET actor_name = 'someone else' WHERE application_id = :a"),
            {"a": app_id},
        )
    with pytest.raises(Exception, match="immutable"), session.begin_nested():
        session.execute(text("DELETE FROM workflow_step WHERE application_id = :a"), {"a": app_id})
    assert [s.action for s in service.get(session, app_id).steps] == ["submit", "accept"]


def test_return_and_resubmit(session: Session) -> None:
    office = Office(session)
    app_id = apply(session, office)
    with pytest.raises(InvalidInput):  # a return needs a reason
        walk(session, app_id, [(office.clerk, "return")])
    returned = service.act(
        session, app_id, actor=office.clerk, action="return", comment="号码与本人不符"
    )
    assert (returned.status, returned.awaiting) == ("returned", "applicant")
    with pytest.raises(NotPermitted):
        service.resubmit(session, app_id, applicant=office.clerk)
    again = service.resubmit(
        session, app_id, applicant=office.applicant, payload={"phone": "13712345678"}
    )
    assert again.status == "submitted" and again.payload == {"phone": "13712345678"}
    done = walk(session, app_id, [(office.clerk, "accept"), (office.reviewer, "review")])
    assert done.status == "completed"
    assert phone_of(session, office.applicant.user_id) == "13712345678"


def test_reject_frees_the_in_progress_slot(session: Session) -> None:
    office = Office(session)
    app_id = apply(session, office)
    view = service.act(session, app_id, actor=office.clerk, action="reject", comment="材料不全")
    assert view.status == "rejected" and view.completed_at is None
    assert phone_of(session, office.applicant.user_id) == "13000000000"
    assert apply(session, office) != app_id


def test_same_person_may_not_take_two_steps(session: Session) -> None:
    office = Office(session)
    both = staff(session, office.branch, "clerk", "reviewer")
    app_id = apply(session, office)
    service.act(session, app_id, actor=both, action="accept")
    with pytest.raises(SeparationOfDuties):
        service.act(session, app_id, actor=both, action="review")
    # a clerk who submits for themself may not accept their own application
    own = apply(session, office, applicant=both)
    with pytest.raises(SeparationOfDuties):
        service.act(session, own, actor=both, action="accept")
    assert service.get(session, own).status == "submitted"


def test_missing_permission_is_refused(session: Session) -> None:
    office = Office(session)
    app_id = apply(session, office)
    with pytest.raises(PermissionDenied):
        service.act(session, app_id, actor=office.reviewer, action="accept")
    with pytest.raises(PermissionDenied):  # returning at accept needs the accept permission
        service.act(session, app_id, actor=office.reviewer, action="return", comment="x")
    with pytest.raises(PermissionDenied):
        service.submit(
            session,
            business_type="contact_change",
            applicant=office.reviewer,
            channel="counter",
            payload={"phone": "13912345678"},
            branch_id=office.branch,
            idempotency_key="no-submit",
        )


def test_other_branch_clerk_is_refused_and_whole_center_is_not(session: Session) -> None:
    office = Office(session)
    elsewhere = Office(session)
    app_id = apply(session, office)
    with pytest.raises(NotPermitted):
        service.act(session, app_id, actor=elsewhere.clerk, action="accept")
    with pytest.raises(NotPermitted):  # a depositor sees no branch
        service.act(session, app_id, actor=elsewhere.applicant, action="accept")
    central = staff(session, elsewhere.branch, "clerk", whole_center=True)
    assert service.act(session, app_id, actor=central, action="accept").status == "accepted"


def test_counter_clerk_may_apply_for_many_people_but_once_each(session: Session) -> None:
    office = Office(session)

    def at_counter(subject: str) -> int:
        return service.submit(
            session,
            business_type="contact_change",
            applicant=office.clerk,
            channel="counter",
            payload={"phone": "13912345678"},
            branch_id=office.branch,
            subject_ref=subject,
            idempotency_key=f"wf-{next(_seq)}",
        )

    first = at_counter("P-ONE")
    at_counter("P-TWO")  # the same clerk, another person: accepted
    with pytest.raises(AlreadyInProgress) as err:
        at_counter("P-ONE")
    assert str(first) in err.value.message_zh


def test_one_application_of_a_type_in_progress(session: Session) -> None:
    office = Office(session)
    first = apply(session, office)
    with pytest.raises(AlreadyInProgress) as err:
        apply(session, office, phone="13811112222")
    assert str(first) in err.value.message_zh
    # the database enforces it too
    row = session.get(Application, first)
    assert row is not None
    clash = Application(
        business_type=row.business_type,
        status="submitted",
        awaiting="accept",
        route=row.route,
        applicant_user_id=row.applicant_user_id,
        applicant_kind=row.applicant_kind,
        branch_id=row.branch_id,
        channel="counter",
        fully_online=False,
        amount_fen=0,
        payload="{}",
        idempotency_key="raw-insert",
        request_hash="x",
        created_at=row.created_at,
        updated_at=row.created_at,
        in_progress_key=row.in_progress_key,
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(clash)
        session.flush()
    # withdrawing frees the slot; only the applicant may withdraw
    with pytest.raises(NotPermitted):
        service.withdraw(session, first, applicant=office.clerk)
    assert service.withdraw(session, first, applicant=office.applicant).status == "withdrawn"
    assert apply(session, office) != first


def test_idempotent_submit(session: Session) -> None:
    office = Office(session)
    first = apply(session, office, key="same-key")
    assert apply(session, office, key="same-key") == first
    count = session.scalar(select(func.count()).select_from(Application))
    assert count == 1
    with pytest.raises(IdempotencyConflict):
        apply(session, office, key="same-key", phone="13811112222")
    # a replay is answered even after the application moved on
    service.act(session, first, actor=office.clerk, action="accept")
    assert apply(session, office, key="same-key") == first


def test_submission_input_is_checked(session: Session) -> None:
    office = Office(session)
    with pytest.raises(InvalidInput):
        apply(session, office, phone="1391234567")
    with pytest.raises(UnknownChannel):
        apply(session, office, channel="fax")
    with pytest.raises(UnknownBusinessType):
        service.submit(
            session,
            business_type="no_such_type",
            applicant=office.applicant,
            channel="counter",
            payload={},
            branch_id=office.branch,
            idempotency_key="x",
        )
    with pytest.raises(ApplicationNotFound):
        service.get(session, 987_654_321)


def test_inbox(session: Session) -> None:
    office = Office(session)
    other = Office(session)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    early = apply(session, office, now=t0)
    late = apply(session, office, applicant=depositor(session), now=t0 + timedelta(hours=1))
    apply(session, other, now=t0)
    assert [v.id for v in service.inbox(session, office.clerk)] == [early, late]
    assert service.inbox(session, office.reviewer) == []
    both = staff(session, office.branch, "clerk", "reviewer")
    service.act(session, early, actor=both, action="accept")
    assert [v.id for v in service.inbox(session, office.reviewer)] == [early]
    assert [v.id for v in service.inbox(session, both)] == [late]  # may not review own accept
    assert service.inbox(session, office.applicant) == []
    central = staff(session, None, "clerk", whole_center=True)
    assert {v.id for v in service.inbox(session, central)} >= {late}
    # filtered by business type in the query, before the limit
    assert [v.id for v in service.inbox(session, office.clerk, business_type="contact_change")] == [
        late
    ]
    assert service.inbox(session, office.clerk, limit=1, business_type="withdrawal") == []


def test_amount_bands_and_on_complete(session: Session) -> None:
    completed: list[int] = []
    service.register_business_type(
        "test_band_withdrawal",
        "测试提取",
        "test withdrawal",
        lambda _session, view: completed.append(view.id),
    )
    office = Office(session)
    small = service.submit(
        session,
        business_type="test_band_withdrawal",
        applicant=office.applicant,
        channel="counter",
        payload={},
        amount_fen=100,
        branch_id=office.branch,
        idempotency_key="band-1",
    )
    assert service.get(session, small).route == ("accept", "review")
    done = walk(session, small, [(office.clerk, "accept"), (office.reviewer, "review")])
    assert done.status == "completed" and completed == [small]


def test_online_rate_and_counts(session: Session) -> None:
    office = Office(session)
    march = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    first_of_april_cst = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 2026-04-01 00:30 CST

    def finish(channel: str, at: datetime, *, at_counter: bool = False) -> int:
        app_id = apply(session, office, channel=channel, applicant=depositor(session), now=at)
        walk(
            session,
            app_id,
            [(office.clerk, "accept"), (office.reviewer, "review")],
            now=at,
            at_counter=at_counter,
        )
        return app_id

    finish("mobile_app", march)
    finish("counter", march)
    finish("wechat", march, at_counter=True)  # came to a counter after all
    finish("online_hall", first_of_april_cst)  # outside March in China time
    apply(session, office, channel="online_hall", now=march)  # still in progress
    assert service.online_rate(session, date(2026, 3, 1), date(2026, 3, 31)) == (1, 3)
    assert service.online_rate(session, date(2026, 4, 1), date(2026, 4, 1)) == (1, 1)
    assert service.online_rate(
        session, date(2026, 3, 1), date(2026, 3, 31), office.branch + 999
    ) == (0, 0)
    by = service.counts(session, date(2026, 3, 1), date(2026, 3, 31), branch_id=office.branch)
    assert by[("completed", "mobile_app")] == 1
    assert by[("completed", "wechat")] == 1
    assert by[("submitted", "online_hall")] == 1
    assert ("completed", "online_hall") not in by
    with pytest.raises(InvalidInput):
        service.online_rate(session, date(2026, 3, 2), date(2026, 3, 1))


def test_search_pages_what_the_viewer_may_see(session: Session) -> None:
    office = Office(session)
    other = Office(session)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    mine = apply(session, office, now=t0)
    second = apply(session, office, applicant=depositor(session), now=t0 + timedelta(hours=1))
    apply(session, other, now=t0)
    page, total = service.search(session, office.clerk, size=1)
    assert total == 2 and [v.id for v in page] == [second]  # newest first
    page, _ = service.search(session, office.clerk, page=2, size=1)
    assert [v.id for v in page] == [mine]
    own, total = service.search(session, office.applicant)
    assert total == 1 and own[0].id == mine and own[0].steps[0].action == "submit"
    assert service.search(session, office.clerk, status="completed") == ([], 0)
    assert service.search(session, staff(session, office.branch, "finance")) == ([], 0)
