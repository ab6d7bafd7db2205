"""Users, sign-in with lock-out, sessions and API tokens, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories import make_branch
from hpf.auth import service, totp
from hpf.auth.models import AuditRecord, UserAccount
from hpf.auth.principal import system_principal
from hpf.errors import InvalidInput
from user_factories import PASSWORD, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _actions(session: Session, user_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.object_type == "user", AuditRecord.object_id == str(user_id))
            .order_by(AuditRecord.id)
        )
    )


def _fail(session: Session, login: str, password: str = "Wrong12345") -> Exception:
    with pytest.raises(service.AuthError) as exc:
        service.authenticate(session, kind="staff", login_name=login, password=password, now=T0)
    return exc.value


def test_create_user_and_sign_in(session: Session) -> None:
    branch = make_branch(session)
    clerk = make_user(session, roles=["clerk", "reviewer"], branch_id=branch.id)
    assert clerk.roles == {"clerk", "reviewer"}
    assert clerk.has("workflow.accept") and clerk.has("workflow.review")
    assert clerk.can_see_branch(branch.id)
    p = service.authenticate(
        session, kind="staff", login_name=clerk.login_name, password=PASSWORD, ip="10.0.0.1"
    )
    assert p == clerk
    stored = session.scalar(select(UserAccount.password_hash).where(UserAccount.id == p.user_id))
    assert stored and PASSWORD not in stored
    assert _actions(session, p.user_id) == ["user.create", "signin.success"]


def test_duplicate_login_and_bad_roles(session: Session) -> None:
    make_user(session, login_name="dup-login")
    with pytest.raises(service.DuplicateLogin):
        make_user(session, login_name="dup-login")
    with pytest.raises(service.UnknownRole):
        make_user(session, roles=["nobody"])
    with pytest.raises(service.UnknownRole):
        make_user(session, roles=["depositor"])
    with pytest.raises(service.WeakPassword):
        make_user(session, password="short1")


def test_depositor_login_is_a_valid_id_number(session: Session) -> None:
    dep = make_user(session, kind="depositor", depositor_ref="P1")
    assert dep.roles == {"depositor"} and dep.depositor_ref == "P1"
    with pytest.raises(InvalidInput):
        make_user(session, kind="depositor", login_name="371302199001010010")


def test_lockout_after_exactly_five_failures(session: Session) -> None:
    user = make_user(session)
    for _ in range(4):
        assert isinstance(_fail(session, user.login_name), service.AuthenticationFailed)
    assert service.list_locked(session) == []
    assert isinstance(_fail(session, user.login_name), service.AccountLocked)
    locked = service.list_locked(session)
    assert [u.user_id for u in locked] == [user.user_id]
    assert locked[0].failed_attempts == 5
    # even the right password is refused now
    assert isinstance(_fail(session, user.login_name, PASSWORD), service.AccountLocked)
    actions = _actions(session, user.user_id)
    assert actions.count("signin.failure") == 5
    assert actions.count("account.lock") == 1
    assert actions[-1] == "signin.refused_locked"
    # unlocking needs users.manage
    with pytest.raises(service.PermissionDenied):
        service.unlock(session, user.user_id, actor=user)
    admin = make_user(session, roles=["sysadmin"])
    service.unlock(session, user.user_id, actor=admin)
    assert service.list_locked(session) == []
    assert _actions(session, user.user_id)[-1] == "account.unlock"
    assert (
        service.authenticate(session, kind="staff", login_name=user.login_name, password=PASSWORD)
        == user
    )


def test_success_resets_the_failure_count(session: Session) -> None:
    user = make_user(session)
    for _ in range(4):
        _fail(session, user.login_name)
    service.authenticate(session, kind="staff", login_name=user.login_name, password=PASSWORD)
    for _ in range(4):
        assert isinstance(_fail(session, user.login_name), service.AuthenticationFailed)
    assert service.list_locked(session) == []


def test_failure_message_does_not_reveal_the_login(session: Session) -> None:
    user = make_user(session)
    wrong_password = _fail(session, user.login_name)
    no_such_login = _fail(session, "nobody-here")
    assert type(wrong_password) is type(no_such_login) is service.AuthenticationFailed
    assert str(wrong_password) == str(no_such_login)
    assert wrong_password.message_zh == no_such_login.message_zh  # type: ignore[attr-defined]
    n = session.scalar(
        select(func.count()).where(
            AuditRecord.action == "signin.failure", AuditRecord.detail.contains("nobody-here")
        )
    )
    assert n == 1
    # repeated failures on a missing login lock nothing and keep the same message
    for _ in range(5):
        assert isinstance(_fail(session, "nobody-here"), service.AuthenticationFailed)


def test_totp_required_when_enabled(session: Session) -> None:
    user = make_user(session)
    secret, uri = service.enable_totp(session, user.user_id)
    assert uri.startswith("otpauth://totp/") and secret in uri
    with pytest.raises(service.AuthenticationFailed):
        service.authenticate(session, kind="staff", login_name=user.login_name, password=PASSWORD)
    code = totp.totp_at(secret, T0.timestamp())
    p = service.authenticate(
        session,
        kind="staff",
        login_name=user.login_name,
        password=PASSWORD,
        totp_code=code,
        now=T0,
    )
    assert p.user_id == user.user_id


def test_a_totp_code_is_accepted_once(session: Session) -> None:
    user = make_user(session)
    secret, _ = service.enable_totp(session, user.user_id)
    code = totp.totp_at(secret, T0.timestamp())

    def sign_in(code: str, at: datetime) -> object:
        return service.authenticate(
            session,
            kind="staff",
            login_name=user.login_name,
            password=PASSWORD,
            totp_code=code,
            now=at,
        )

    assert sign_in(code, T0)
    # the same code, still inside its window, is a replay
    with pytest.raises(service.AuthenticationFailed):
        sign_in(code, T0 + timedelta(seconds=20))
    # so is the previous step's code, which the window would otherwise still accept
    with pytest.raises(service.AuthenticationFailed):
        sign_in(totp.totp_at(secret, T0.timestamp() - 30), T0 + timedelta(seconds=5))
    # the next step's code is fresh
    later = T0 + timedelta(seconds=30)
    assert sign_in(totp.totp_at(secret, later.timestamp()), later)
    # a new secret starts afresh
    secret2, _ = service.enable_totp(session, user.user_id)
    assert sign_in(totp.totp_at(secret2, T0.timestamp()), T0 + timedelta(seconds=31))


def test_session_idle_and_absolute_expiry(session: Session) -> None:
    user = make_user(session)
    token, csrf = service.create_session(session, user, ip="1.2.3.4", user_agent="ua", now=T0)
    assert service.resolve_session(session, "not-a-token", now=T0) is None
    resolved = service.resolve_session(session, token, now=T0 + timedelta(minutes=29))
    assert resolved == (user, csrf)
    # idle clock was touched at +29 min, so +58 min is still live
    t = T0 + timedelta(minutes=58)
    assert service.resolve_session(session, token, now=t) is not None
    assert service.resolve_session(session, token, now=t + timedelta(minutes=30)) is None
    # absolute: kept busy every 20 minutes, it still ends at 12 h
    token2, _ = service.create_session(session, user, now=T0)
    t = T0
    while t + timedelta(minutes=20) < T0 + timedelta(hours=12):
        t += timedelta(minutes=20)
        assert service.resolve_session(session, token2, now=t) is not None
    assert service.resolve_session(session, token2, now=T0 + timedelta(hours=12)) is None


def test_session_revocation_and_lock(session: Session) -> None:
    user = make_user(session)
    token, _ = service.create_session(session, user, now=T0)
    service.revoke_session(session, token, now=T0)
    assert service.resolve_session(session, token, now=T0) is None
    assert _actions(session, user.user_id)[-1] == "signout"
    token, _ = service.create_session(session, user, now=T0)
    for _ in range(5):
        _fail(session, user.login_name)
    assert service.resolve_session(session, token, now=T0) is None


def test_set_password_ends_sessions(session: Session) -> None:
    user = make_user(session)
    token, _ = service.create_session(session, user)
    service.set_password(session, user.user_id, "NewPass2024", actor=user)
    assert service.resolve_session(session, token) is None
    other = make_user(session)
    with pytest.raises(service.PermissionDenied):
        service.set_password(session, user.user_id, "NewPass2025", actor=other)
    assert service.authenticate(
        session, kind="staff", login_name=user.login_name, password="NewPass2024"
    )


def test_api_token_scopes_and_revocation(session: Session) -> None:
    user = make_user(session, roles=["clerk", "finance"])
    token = service.issue_api_token(
        session, user.user_id, name="对账脚本", scopes=frozenset({"finance", "auditor"})
    )
    p = service.resolve_api_token(session, token)
    assert p is not None
    assert p.roles == {"finance"}  # auditor is not held; clerk is not in scope
    assert p.has("ledger.post") and not p.has("workflow.accept")
    assert service.resolve_api_token(session, token + "x") is None
    token_id = service.api_token_id(session, token)
    assert token_id is not None
    service.revoke_api_token(session, token_id, actor=system_principal())
    assert service.resolve_api_token(session, token) is None
    with pytest.raises(service.UnknownRole):
        service.issue_api_token(session, user.user_id, name="x", scopes=frozenset())
    assert [t.token_id for t in service.list_api_tokens(session, user.user_id)] == [token_id]


def test_grant_and_revoke_roles(session: Session) -> None:
    user = make_user(session, roles=["clerk"])
    assert service.grant_roles(session, user.user_id, ["reviewer"]) == {"clerk", "reviewer"}
    assert service.revoke_roles(session, user.user_id, ["clerk"]) == {"reviewer"}
    with pytest.raises(service.PermissionDenied):
        service.grant_roles(session, user.user_id, ["sysadmin"], actor=user)
    assert _actions(session, user.user_id)[-2:] == ["user.grant", "user.revoke"]
