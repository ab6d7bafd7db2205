"""User accounts and roles (用户与角色): creation, roles, passwords, TOTP, lock and unlock.

Every change is written to the audit trail. Nothing here commits; the caller owns the transaction.
An ``actor`` of None means the operator at the command line (audited as ``system``); a given
actor must hold ``users.manage`` (or, for a password change, be the user themself).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hpf.auth import audit, passwords, totp
from hpf.auth.errors import DuplicateLogin, PermissionDenied, UnknownRole, UnknownUser
from hpf.auth.masking import mask_id_number
from hpf.auth.models import USER_KINDS, UserAccount, UserRole, WebSession
from hpf.auth.permissions import ROLES_BY_KIND
from hpf.auth.principal import Principal
from hpf.errors import InvalidInput
from hpf.identifiers import parse_id_number

DEFAULT_ROLE = {"employer": "employer_agent", "depositor": "depositor"}


@dataclass(frozen=True)
class UserSummary:
    """One line of the user list (用户列表); a depositor's login (ID number) is masked."""

    user_id: int
    kind: str
    login_name: str
    display_name: str
    roles: frozenset[str]
    branch_id: int | None
    whole_center: bool
    active: bool
    failed_attempts: int
    locked_at: datetime | None
    totp_enabled: bool


def normalise_login(kind: str, login_name: str) -> str:
    """The stored form of a login: trimmed; a depositor's is a valid ID number, upper-case X."""
    if kind not in USER_KINDS:
        raise InvalidInput(f"未知的用户类型：{kind}", f"unknown user kind: {kind}")
    value = (login_name or "").strip()
    if kind == "depositor":
        return parse_id_number(value).value
    if not value or len(value) > 60:
        raise InvalidInput("登录名应为1-60个字符", "a login name has 1-60 characters")
    return value


def _require(actor: Principal | None, permission: str) -> None:
    if actor is not None and not actor.has(permission):
        raise PermissionDenied(permission)


def _checked_roles(kind: str, roles: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(roles)
    bad = wanted - ROLES_BY_KIND[kind]
    if bad:
        names = ", ".join(sorted(bad))
        raise UnknownRole(
            f"角色无效或不适用于该类用户：{names}",
            f"roles unknown or not allowed for {kind}: {names}",
        )
    return wanted


def get_user(session: Session, user_id: int) -> UserAccount:
    user = session.get(UserAccount, user_id)
    if user is None:
        raise UnknownUser(f"用户不存在：{user_id}", f"no such user: {user_id}")
    return user


def find_user_id(session: Session, kind: str, login_name: str) -> int | None:
    """The id of the user with this kind and login, or None."""
    try:
        login = normalise_login(kind, login_name)
    except InvalidInput:
        return None
    return session.scalar(
        select(UserAccount.id).where(UserAccount.kind == kind, UserAccount.login_name == login)
    )


def roles_of(session: Session, user_id: int) -> frozenset[str]:
    return frozenset(session.scalars(select(UserRole.role).where(UserRole.user_id == user_id)))


def principal_of(session: Session, user_id: int, roles: frozenset[str] | None = None) -> Principal:
    """The principal of a user; ``roles`` restricts the roles (an API token's scopes)."""
    user = get_user(session, user_id)
    held = roles_of(session, user_id)
    return Principal(
        user_id=user.id,
        kind=user.kind,
        login_name=user.login_name,
        display_name=user.display_name,
        roles=held if roles is None else held & roles,
        branch_id=user.branch_id,
        whole_center=user.whole_center,
        employer_ref=user.employer_ref,
        depositor_ref=user.depositor_ref,
    )


def create_user(
    session: Session,
    *,
    kind: str,
    login_name: str,
    password: str,
    display_name: str,
    roles: Iterable[str] = (),
    branch_id: int | None = None,
    whole_center: bool = False,
    employer_ref: str | None = None,
    depositor_ref: str | None = None,
    phone: str | None = None,
    actor: Principal | None = None,
    now: datetime | None = None,
) -> int:
    """Create a user account with its roles (新增用户) and return its id."""
    _require(actor, "users.manage")
    login = normalise_login(kind, login_name)
    wanted = _checked_roles(kind, roles) or frozenset(
        {DEFAULT_ROLE[kind]} if kind in DEFAULT_ROLE else ()
    )
    if not (display_name or "").strip():
        raise InvalidInput("姓名/名称不能为空", "a display name is required")
    passwords.check_rules(password)
    if find_user_id(session, kind, login) is not None:
        raise DuplicateLogin(f"登录名已存在：{login}", f"login name already taken: {login}")
    at = now or datetime.now(UTC)
    user = UserAccount(
        kind=kind,
        login_name=login,
        display_name=display_name.strip(),
        password_hash=passwords.hash_password(password),
        phone=phone,
        branch_id=branch_id,
        whole_center=whole_center and kind == "staff",
        employer_ref=employer_ref,
        depositor_ref=depositor_ref,
        active=True,
        failed_attempts=0,
        created_at=at,
        password_changed_at=at,
    )
    session.add(user)
    session.flush()
    session.add_all(UserRole(user_id=user.id, role=r) for r in sorted(wanted))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        detail={
            "kind": kind,
            "login": mask_id_number(login) if kind == "depositor" else login,
            "roles": sorted(wanted),
            "branch_id": branch_id,
            "whole_center": user.whole_center,
        },
    )
    return user.id


def grant_roles(
    session: Session, user_id: int, roles: Iterable[str], *, actor: Principal | None = None
) -> frozenset[str]:
    """Add roles to a user (授予角色); returns the roles now held."""
    _require(actor, "users.manage")
    user = get_user(session, user_id)
    wanted = _checked_roles(user.kind, roles)
    held = roles_of(session, user_id)
    new = sorted(wanted - held)
    session.add_all(UserRole(user_id=user_id, role=r) for r in new)
    session.flush()
    if new:
        audit.record(
            session,
            actor=actor,
            action="user.grant",
            object_type="user",
            object_id=user_id,
            detail={"roles": new},
        )
    return held | frozenset(new)


def revoke_roles(
    session: Session, user_id: int, roles: Iterable[str], *, actor: Principal | None = None
) -> frozenset[str]:
    """Remove roles from a user (收回角色); returns the roles now held."""
    _require(actor, "users.manage")
    get_user(session, user_id)
    gone = sorted(frozenset(roles) & roles_of(session, user_id))
    if gone:
        session.execute(
            delete(UserRole).where(UserRole.user_id == user_id, UserRole.role.in_(gone))
        )
        audit.record(
            session,
            actor=actor,
            action="user.revoke",
            object_type="user",
            object_id=user_id,
            detail={"roles": gone},
        )
    return roles_of(session, user_id)


def set_password(
    session: Session,
    user_id: int,
    password: str,
    *,
    actor: Principal | None = None,
    now: datetime | None = None,
) -> None:
    """Set a new password (修改密码) and end the user's sessions elsewhere."""
    if actor is not None and actor.user_id != user_id:
        _require(actor, "users.manage")
    passwords.check_rules(password)
    user = get_user(session, user_id)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now or datetime.now(UTC)
    revoke_user_sessions(session, user_id, now=now)
    audit.record(
        session, actor=actor, action="user.set_password", object_type="user", object_id=user_id
    )


def enable_totp(
    session: Session, user_id: int, *, actor: Principal | None = None, issuer: str = "HPF"
) -> tuple[str, str]:
    """Turn on two-factor sign-in (动态口令): returns (base32 secret, otpauth:// URI)."""
    if actor is not None and actor.user_id != user_id:
        _require(actor, "users.manage")
    user = get_user(session, user_id)
    secret = totp.generate_secret()
    user.totp_secret = secret
    user.totp_last_step = None
    audit.record(
        session, actor=actor, action="user.enable_totp", object_type="user", object_id=user_id
    )
    return secret, totp.provisioning_uri(secret, user.login_name, issuer)


def revoke_user_sessions(session: Session, user_id: int, *, now: datetime | None = None) -> int:
    """End every open web session of a user (after a password change or lock); returns how many."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def unlock(session: Session, user_id: int, *, actor: Principal, ip: str = "") -> None:
    """Unlock an account locked after failed sign-ins (解锁); needs ``users.manage``."""
    _require(actor, "users.manage")
    user = get_user(session, user_id)
    was_locked = user.locked_at
    user.locked_at = None
    user.failed_attempts = 0
    audit.record(
        session,
        actor=actor,
        action="account.unlock",
        object_type="user",
        object_id=user_id,
        detail={"was_locked_at": was_locked.isoformat() if was_locked else None},
        ip=ip,
    )


def _summaries(session: Session, users: Iterable[UserAccount]) -> list[UserSummary]:
    users = list(users)
    roles: dict[int, set[str]] = {u.id: set() for u in users}
    if users:
        for uid, role in session.execute(
            select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(list(roles)))
        ):
            roles[uid].add(role)
    return [
        UserSummary(
            user_id=u.id,
            kind=u.kind,
            login_name=mask_id_number(u.login_name) if u.kind == "depositor" else u.login_name,
            display_name=u.display_name,
            roles=frozenset(roles[u.id]),
            branch_id=u.branch_id,
            whole_center=u.whole_center,
            active=u.active,
            failed_attempts=u.failed_attempts,
            locked_at=audit.utc(u.locked_at) if u.locked_at else None,
            totp_enabled=u.totp_secret is not None,
        )
        for u in users
    ]


def list_users(session: Session, kind: str | None = None) -> list[UserSummary]:
    """Every user (or every user of one kind), by kind and login."""
    stmt = select(UserAccount).order_by(UserAccount.kind, UserAccount.login_name)
    if kind is not None:
        stmt = stmt.where(UserAccount.kind == kind)
    return _summaries(session, session.scalars(stmt))


def list_locked(session: Session) -> list[UserSummary]:
    """Locked accounts awaiting an administrator (待解锁账户), oldest lock first."""
    stmt = (
        select(UserAccount)
        .where(UserAccount.locked_at.is_not(None))
        .order_by(UserAccount.locked_at, UserAccount.id)
    )
    return _summaries(session, session.scalars(stmt))
