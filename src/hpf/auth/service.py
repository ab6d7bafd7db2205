"""Identity service (身份认证服务): sign-in with lock-out, and the public API of ``hpf.auth``.

``authenticate`` checks a login and password (and TOTP code when enabled). Five consecutive
failures lock the account (账户锁定); a locked account refuses even the right password until an
administrator unlocks it; a success resets the counter. An address with too many failures in a
short window is refused before any check (登录限流, threshold from the settings). Every success,
failure, lock and throttled attempt is written to the audit trail. Nothing commits: because a refused sign-in must still persist its
failure count and audit records, the caller catches ``AuthError`` inside its unit of work and
lets the transaction commit (see ``authenticate``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth import audit, passwords, totp
from hpf.auth.errors import (
    AccountLocked,
    AuthenticationFailed,
    AuthError,
    DuplicateLogin,
    PermissionDenied,
    SignInThrottled,
    UnknownRole,
    UnknownUser,
    WeakPassword,
)
from hpf.auth.masking import mask_id_number
from hpf.auth.models import AuditRecord, UserAccount
from hpf.auth.principal import Principal, system_principal
from hpf.auth.sessions import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    ApiTokenInfo,
    api_token_id,
    create_session,
    issue_api_token,
    list_api_tokens,
    resolve_api_token,
    resolve_session,
    revoke_api_token,
    revoke_session,
)
from hpf.auth.users import (
    UserSummary,
    create_user,
    enable_totp,
    find_user_id,
    grant_roles,
    list_locked,
    list_users,
    principal_of,
    revoke_roles,
    revoke_user_sessions,
    set_password,
    unlock,
)
from hpf.db.engine import is_sqlite

MAX_FAILED_ATTEMPTS = 5

__all__ = [
    "ABSOLUTE_TIMEOUT",
    "IDLE_TIMEOUT",
    "MAX_FAILED_ATTEMPTS",
    "AccountLocked",
    "ApiTokenInfo",
    "AuthError",
    "AuthenticationFailed",
    "DuplicateLogin",
    "PermissionDenied",
    "Principal",
    "SignInThrottled",
    "UnknownRole",
    "UnknownUser",
    "UserSummary",
    "WeakPassword",
    "api_token_id",
    "authenticate",
    "create_session",
    "create_user",
    "enable_totp",
    "find_user_id",
    "grant_roles",
    "issue_api_token",
    "list_api_tokens",
    "list_locked",
    "list_users",
    "principal_of",
    "resolve_api_token",
    "resolve_session",
    "revoke_api_token",
    "revoke_roles",
    "revoke_session",
    "revoke_user_sessions",
    "set_password",
    "system_principal",
    "unlock",
]


def _claimed(kind: str, login_name: str) -> str:
    login = (login_name or "").strip()[:60]
    return mask_id_number(login) if kind == "depositor" else login


def authenticate(
    session: Session,
    *,
    kind: str,
    login_name: str,
    password: str,
    totp_code: str | None = None,
    ip: str = "",
    now: datetime | None = None,
    ip_max_failures: int = 0,
    ip_window: timedelta = timedelta(minutes=15),
) -> Principal:
    """Sign in (登录): the principal, or AuthenticationFailed (generic) / AccountLocked /
    SignInThrottled.

    With ``ip_max_failures`` > 0, an address (``ip``) with that many failed sign-ins within
    ``ip_window`` is refused before any check (登录限流): this slows password guessing spread
    over many logins, which the per-account lock does not see.

    The failure count, the lock and the audit records are flushed to ``session`` *before* the
    error is raised; the caller must still commit them, e.g.::

        with unit_of_work() as s:
            try:
                principal = authenticate(s, ...)
            except AuthError as exc:
                error = exc   # leave the block normally so the failure is committed
    """
    at = audit.utc(now) if now is not None else datetime.now(UTC)
    if (
        ip
        and ip_max_failures > 0
        and _recent_failures(session, ip, at - ip_window) >= ip_max_failures
    ):
        audit.record(
            session,
            actor=None,
            action="signin.throttled",
            object_type="user",
            detail={"kind": kind, "login": _claimed(kind, login_name)},
            ip=ip,
            now=at,
        )
        session.flush()
        raise SignInThrottled(max(1, int(ip_window.total_seconds() // 60)))
    user_id = find_user_id(session, kind, login_name)
    user = _lock_user(session, user_id) if user_id is not None else None
    if user is None or not user.active:
        passwords.verify_password(passwords.dummy_hash(), password)  # same time as a real check
        audit.record(
            session,
            actor=None,
            action="signin.failure",
            object_type="user",
            object_id=user.id if user is not None else "",
            detail={
                "kind": kind,
                "login": _claimed(kind, login_name),
                "reason": "inactive" if user is not None else "unknown_login",
            },
            ip=ip,
            now=at,
        )
        raise AuthenticationFailed()
    if user.locked_at is not None:
        audit.record(
            session,
            actor=None,
            action="signin.refused_locked",
            object_type="user",
            object_id=user.id,
            detail={"kind": kind, "login": _claimed(kind, login_name)},
            ip=ip,
            now=at,
        )
        raise AccountLocked()
    ok = passwords.verify_password(user.password_hash, password)
    reason = "password"
    if ok and user.totp_secret is not None:
        step = (
            None
            if totp_code is None
            else totp.matching_step(user.totp_secret, totp_code, now=at.timestamp())
        )
        # a code is good once: one already used (or older than the last used) is a replay
        ok = step is not None and (user.totp_last_step is None or step > user.totp_last_step)
        if ok:
            user.totp_last_step = step
        reason = "totp"
    if not ok:
        _count_failure(session, user, kind, login_name, reason, ip, at)
    user.failed_attempts = 0
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    principal = principal_of(session, user.id)
    audit.record(
        session,
        actor=principal,
        action="signin.success",
        object_type="user",
        object_id=user.id,
        detail={"kind": kind},
        ip=ip,
        now=at,
    )
    return principal


def _recent_failures(session: Session, ip: str, since: datetime) -> int:
    """Failed sign-ins from ``ip`` since ``since`` (the audit trail is the record of them)."""
    stmt = (
        select(func.count())
        .select_from(AuditRecord)
        .where(
            AuditRecord.at >= since,
            AuditRecord.action == "signin.failure",
            AuditRecord.ip == ip[:64],
        )
    )
    return int(session.scalar(stmt) or 0)


def _lock_user(session: Session, user_id: int) -> UserAccount | None:
    stmt = select(UserAccount).where(UserAccount.id == user_id)
    if not is_sqlite(session):  # concurrent failures must count one by one
        stmt = stmt.with_for_update()
    return session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def _count_failure(
    session: Session,
    user: UserAccount,
    kind: str,
    login_name: str,
    reason: str,
    ip: str,
    at: datetime,
) -> NoReturn:
    """Record one failure; the fifth in a row locks the account. Always raises."""
    user.failed_attempts += 1
    audit.record(
        session,
        actor=None,
        action="signin.failure",
        object_type="user",
        object_id=user.id,
        detail={
            "kind": kind,
            "login": _claimed(kind, login_name),
            "reason": reason,
            "failed_attempts": user.failed_attempts,
        },
        ip=ip,
        now=at,
    )
    if user.failed_attempts < MAX_FAILED_ATTEMPTS:
        session.flush()
        raise AuthenticationFailed()
    user.locked_at = at
    revoke_user_sessions(session, user.id, now=at)
    audit.record(
        session,
        actor=None,
        action="account.lock",
        object_type="user",
        object_id=user.id,
        detail={"failed_attempts": user.failed_attempts, "login": _claimed(kind, login_name)},
        ip=ip,
        now=at,
    )
    session.flush()
    raise AccountLocked()
