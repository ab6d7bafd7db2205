"""Partner-API use cases on both backends: partners, tokens kept apart from staff tokens, the
rate-limit window, the call log, and what each look-up answers (and withholds)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from eaudit.conftest import AuditBooks
from hpf.auth import service as auth_service
from hpf.auth.models import AuditRecord
from hpf.auth.principal import system_principal
from hpf.errors import InvalidInput
from hpf.identifiers import make_id_number, make_uscc
from hpf.ops import partner_rules, partners
from hpf.ops.models import PartnerToken
from hpf.policy.loader import load_shipped_policy
from user_factories import make_user

ADMIN = system_principal("admin")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_partner_tokens_and_staff_tokens_never_resolve_as_each_other(session: Session) -> None:
    row = partners.register_partner(
        session,
        code="BDC-Linyi",
        department="临沂市不动产登记中心",
        scopes="depositor_status,loan_certificate",
        actor=ADMIN,
    )
    assert (row.code, row.scopes) == ("bdc-linyi", "depositor_status loan_certificate")
    token_id, token = partners.issue_token(session, "bdc-linyi", actor=ADMIN)
    assert token.startswith(partner_rules.TOKEN_PREFIX)
    stored = session.get(PartnerToken, token_id)
    assert stored is not None and token not in stored.token_hash and len(stored.token_hash) == 64
    auth = partners.resolve_token(session, token, now=T0)
    assert auth is not None and auth.scopes == {"depositor_status", "loan_certificate"}
    assert auth_service.resolve_api_token(session, token) is None  # not a staff token

    clerk = make_user(session, roles=("clerk",))
    staff = auth_service.issue_api_token(
        session, clerk.user_id, name="t", scopes=frozenset({"clerk"})
    )
    assert auth_service.resolve_api_token(session, staff) is not None
    assert partners.resolve_token(session, staff) is None
    assert partners.resolve_token(session, partner_rules.TOKEN_PREFIX + staff) is None

    partners.set_status(session, "bdc-linyi", "suspended", actor=ADMIN)
    assert partners.resolve_token(session, token) is None
    partners.set_status(session, "bdc-linyi", "active", actor=ADMIN)
    assert partners.resolve_token(session, token) is not None
    partners.revoke_token(session, token_id, actor=ADMIN)
    partners.revoke_token(session, token_id, actor=ADMIN)  # twice: no-op
    assert partners.resolve_token(session, token) is None
    actions = session.scalars(
        select(AuditRecord.action)
        .where(AuditRecord.object_type == "ops_partner", AuditRecord.object_id == "bdc-linyi")
        .order_by(AuditRecord.id)
    ).all()
    assert actions == [
        "partner.register",
        "partner.token_issue",
        "partner.suspended",
        "partner.active",
        "partner.token_revoke",
    ]


def test_registration_is_validated(session: Session) -> None:
    with pytest.raises(InvalidInput):
        partners.register_partner(session, code="x y", department="部门", scopes="depositor_status")
    with pytest.raises(InvalidInput):
        partners.register_partner(session, code="ok", department="部门", scopes="everything")
    with pytest.raises(InvalidInput):
        partners.register_partner(session, code="ok", department=" ", scopes="employer_status")
    partners.register_partner(session, code="ok", department="部门", scopes="employer_status")
    with pytest.raises(InvalidInput):
        partners.register_partner(session, code="OK", department="部门", scopes="employer_status")


def test_rate_limit_window_and_call_log(session: Session) -> None:
    policy = load_shipped_policy()
    limit = policy.service_on(T0.date()).partner_calls_per_minute
    partners.register_partner(
        session, code="gjj-qd", department="外地中心", scopes="depositor_status"
    )
    partners.issue_token(session, "gjj-qd")
    _, token = partners.issue_token(session, "gjj-qd")
    auth = partners.resolve_token(session, token)
    assert auth is not None
    for k in range(limit):
        assert not partners.over_limit(session, auth.partner_id, policy, T0 + timedelta(seconds=k))
        partners.record_call(
            session,
            auth,
            route="/depositor-status",
            subject=partner_rules.masked_subject("id_number", "371302198803140219"),
            result="found",
            status_code=200,
            now=T0 + timedelta(seconds=k / 10),
        )
    assert partners.over_limit(session, auth.partner_id, policy, T0 + timedelta(seconds=59))
    # refusals do not count; the window slides: 60 s after the first call it is free again
    partners.record_call(
        session, auth, route="/x", subject="", result="rate_limited", status_code=429, now=T0
    )
    assert not partners.over_limit(session, auth.partner_id, policy, T0 + timedelta(seconds=61))
    calls, total = partners.list_calls(session, partner_code="gjj-qd")
    assert total == limit + 1 and calls[0].result == "rate_limited"
    assert {c.subject for c in calls} >= {"id:3713**********0219"}
    assert not any("198803140219" in c.subject for c in calls)
    assert partners.list_calls(session, result="found")[1] == limit
    (view,) = [p for p in partners.list_partners(session) if p.code == "gjj-qd"]
    assert (view.live_tokens, view.calls) == (2, limit + 1)


def test_depositor_status_answers_loan_and_masks(books: AuditBooks, session: Session) -> None:
    er = books.employer()
    owner = books.person(er)
    spouse_id = make_id_number("371302", date(1990, 6, 6), 77, male=False)
    books.loan(owner, co_borrower=spouse_id)
    books.remittance(er, date(2023, 4, 1), [(owner, 500_000)], posted_on=date(2023, 4, 12))
    books.remittance(er, date(2023, 5, 1), [(owner, 500_000)], posted_on=date(2023, 5, 12))
    books.remittance(
        er, date(2023, 6, 1), [(owner, 500_000)], posted_on=date(2023, 6, 12), status="draft"
    )
    on = date(2023, 6, 20)
    data = partners.depositor_status(session, owner.id_number, on)
    assert data["found"] and data["hpf_loan_outstanding"] and data["outstanding_loans"] == 1
    assert data["last_paid_month"] == "2023-05" and data["contributing"]
    assert data["id_number"] == owner.id_number[:4] + "*" * 10 + owner.id_number[-4:]
    assert owner.id_number not in str(data) and owner.name not in str(data)
    # the spouse has no account here but is a co-borrower: the loan shows
    spouse = partners.depositor_status(session, spouse_id, on)
    assert (spouse["found"], spouse["hpf_loan_outstanding"]) == (False, True)
    stranger = make_id_number("371302", date(1991, 1, 1), 5, male=True)
    assert partners.depositor_status(session, stranger, on)["hpf_loan_outstanding"] is False
    with pytest.raises(InvalidInput):
        partners.depositor_status(
            session, stranger[:17] + ("0" if stranger[17] != "0" else "1"), on
        )


def test_loan_certificate_needs_a_party(books: AuditBooks, session: Session) -> None:
    settled_owner, active_owner = books.person(), books.person()
    settled = books.loan(
        settled_owner, status="settled", disbursed=date(2015, 1, 5), settled=date(2023, 3, 1)
    )
    active = books.loan(active_owner, disbursed=date(2023, 5, 20), principal_fen=40_000_000)
    ok = partners.loan_certificate(session, settled.loan_ref, settled_owner.id_number)
    assert ok["found"] and ok["settled"] and not ok["outstanding"]
    assert ok["settled_on"] == "2023-03-01"
    live = partners.loan_certificate(session, active.loan_ref.lower(), active_owner.id_number)
    assert live["found"] and live["outstanding"] and "balance_fen" not in live
    # a real loan asked with someone else's ID number is answered as not found
    assert not partners.loan_certificate(session, active.loan_ref, settled_owner.id_number)["found"]
    assert not partners.loan_certificate(session, "DK9999999999", active_owner.id_number)["found"]


def test_employer_status_counts_months_in_arrears(books: AuditBooks, session: Session) -> None:
    policy = load_shipped_policy()
    er = books.employer()
    er.first_month = date(2023, 1, 1)
    person = books.person(er)
    for m in (1, 2, 4):
        books.remittance(er, date(2023, m, 1), [(person, 500_000)], posted_on=date(2023, m, 12))
    # pay day 10 + the remittance deadline: May is not due yet on May 12
    data = partners.employer_status(session, er.uscc, date(2023, 5, 12), policy)
    assert data["found"] and data["last_paid_month"] == "2023-04"
    assert data["months_in_arrears"] == 1 and not data["in_good_standing"]  # March
    books.remittance(er, date(2023, 3, 1), [(person, 500_000)], posted_on=date(2023, 5, 12))
    data = partners.employer_status(session, er.uscc, date(2023, 5, 12), policy)
    assert data["months_in_arrears"] == 0 and data["in_good_standing"]
    unknown = make_uscc("91371300MA0000001")
    assert not partners.employer_status(session, unknown, date(2023, 5, 12), policy)["found"]
    with pytest.raises(InvalidInput):
        partners.employer_status(session, "not-a-code", date(2023, 5, 12), policy)
