"""Web sessions and API tokens (会话与接口令牌): server-side rows keyed by the token's SHA-256.

A web session expires after 30 minutes idle or 12 hours in all; signing out revokes it. An API
token (32 random bytes, shown once) acts with the user's roles ∩ the token's scopes and is
revocable. A deactivated or locked user's sessions and tokens stop resolving at once.

Their "last seen/used" times are refreshed at most once per ``TOUCH_INTERVAL``, so a request
whose session or token was used a moment ago writes nothing. A refresh joins the transaction of
a write session; a read session (a GET) commits it in a short transaction of its own
(``hpf.db.engine.writable``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from hpf.auth import audit
from hpf.auth.errors import PermissionDenied, UnknownRole, UnknownUser
from hpf.auth.models import ApiToken, UserAccount, WebSession
from hpf.auth.permissions import ROLES
from hpf.auth.principal import Principal
from hpf.auth.users import get_user, principal_of
from hpf.db.engine import writable
from hpf.errors import InvalidInput

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOKEN_BYTES = 32
TOUCH_INTERVAL = timedelta(seconds=60)
"""How stale a session's ``last_seen_at`` or a token's ``last_used_at`` may get before a request
refreshes it. Writing it on every request turned every read into a write: on SQLite each API
read then needed the database write lock, on PostgreSQL concurrent requests with one token
queued on its row. A minute is fine resolution for a 30-minute idle clock (a session may expire
up to a minute early) and for "last used" in the token list. Also used for partner tokens."""


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a session or API token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _now(now: datetime | None) -> datetime:
    return audit.utc(now) if now is not None else datetime.now(UTC)


def _usable(user: UserAccount | None) -> bool:
    return user is not None and user.active and user.locked_at is None


def touch_due(last: datetime | None, at: datetime) -> bool:
    """True when a "last used" time ``last`` is older than ``TOUCH_INTERVAL`` at ``at``."""
    return last is None or at - audit.utc(last) >= TOUCH_INTERVAL


def claim_for_touch(session: Session, key: InstrumentedAttribute[int], row_id: int) -> bool:
    """Lock the row to refresh its "last used" time, unless another transaction holds it.

    PostgreSQL: ``FOR NO KEY UPDATE SKIP LOCKED``, so a request never queues behind another one
    that is refreshing the same row (that one's fresh time is as good as ours), and rows that
    refer to it (a partner's call records) can still be inserted meanwhile. SQLite: the
    transaction already holds the write lock, the row is always claimed.
    """
    stmt = select(key).where(key == row_id).with_for_update(skip_locked=True, key_share=True)
    return session.scalar(stmt) is not None


def _touch(
    session: Session,
    key: InstrumentedAttribute[int],
    stamp: InstrumentedAttribute[Any],
    row_id: int,
    at: datetime,
) -> None:
    """Set the "last used" time ``stamp`` of row ``row_id`` to ``at``, unless another
    transaction is refreshing it (``claim_for_touch``); in ``session``'s transaction when it
    writes, else in one of its own (``writable``)."""
    with writable(session) as target:
        if claim_for_touch(target, key, row_id):
            target.execute(update(key.class_).where(key == row_id).values({stamp: at}))


def create_session(
    session: Session,
    principal: Principal,
    *,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> tuple[str, str]:
    """Open a web session for a signed-in principal; returns (session token, CSRF token)."""
    at = _now(now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    csrf = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            user_id=principal.user_id,
            csrf_token=csrf,
            created_at=at,
            last_seen_at=at,
            expires_at=at + ABSOLUTE_TIMEOUT,
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
    )
    session.flush()
    return token, csrf


def resolve_session(
    session: Session, token: str, *, now: datetime | None = None
) -> tuple[Principal, str] | None:
    """The (principal, CSRF token) of a live session, touching its idle clock; else None."""
    if not token:
        return None
    at = _now(now)
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if at >= audit.utc(row.expires_at) or at - audit.utc(row.last_seen_at) >= IDLE_TIMEOUT:
        return None
    if not _usable(session.get(UserAccount, row.user_id)):
        return None
    if touch_due(row.last_seen_at, at):
        _touch(session, WebSession.id, WebSession.last_seen_at, row.id, at)
    return principal_of(session, row.user_id), row.csrf_token


def revoke_session(session: Session, token: str, *, now: datetime | None = None) -> None:
    """Sign out (退出登录): revoke the session; an unknown or revoked token is a no-op."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = _now(now)
    user = session.get(UserAccount, row.user_id)
    actor = principal_of(session, row.user_id) if user is not None else None
    audit.record(session, actor=actor, action="signout", object_type="user", object_id=row.user_id)


@dataclass(frozen=True)
class ApiTokenInfo:
    """An API token as listed (never the token itself)."""

    token_id: int
    user_id: int
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def issue_api_token(
    session: Session,
    user_id: int,
    *,
    name: str,
    scopes: frozenset[str],
    actor: Principal | None = None,
    now: datetime | None = None,
) -> str:
    """Issue an API token (签发接口令牌) limited to ``scopes`` (role names); shown once."""
    if actor is not None and actor.user_id != user_id and not actor.has("users.manage"):
        raise PermissionDenied("users.manage")
    get_user(session, user_id)
    scopes = frozenset(scopes)
    if not scopes or scopes - set(ROLES):
        raise UnknownRole(
            "令牌范围须为有效角色名（至少一个）",
            f"token scopes must be one or more role names, got {sorted(scopes)}",
        )
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("令牌名称应为1-100个字符", "a token name has 1-100 characters")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=token_hash(token),
        scopes=" ".join(sorted(scopes)),
        created_at=_now(now),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_token.issue",
        object_type="api_token",
        object_id=row.id,
        detail={"user_id": user_id, "name": name, "scopes": sorted(scopes)},
    )
    return token


def resolve_api_token(
    session: Session, token: str, *, now: datetime | None = None
) -> Principal | None:
    """The principal of a live API token, with roles = the user's roles ∩ the scopes; else None."""
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if not _usable(session.get(UserAccount, row.user_id)):
        return None
    at = _now(now)
    if touch_due(row.last_used_at, at):
        _touch(session, ApiToken.id, ApiToken.last_used_at, row.id, at)
    return principal_of(session, row.user_id, roles=frozenset(row.scopes.split()))


def revoke_api_token(
    session: Session, token_id: int, *, actor: Principal | None = None, now: datetime | None = None
) -> None:
    """Revoke an API token (吊销令牌) by id; revoking twice is a no-op."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise UnknownUser(f"令牌不存在：{token_id}", f"no such API token: {token_id}")
    if actor is not None and actor.user_id != row.user_id and not actor.has("users.manage"):
        raise PermissionDenied("users.manage")
    if row.revoked_at is not None:
        return
    row.revoked_at = _now(now)
    audit.record(
        session, actor=actor, action="api_token.revoke", object_type="api_token", object_id=row.id
    )


def api_token_id(session: Session, token: str) -> int | None:
    """The id of a token (to name it for revocation right after issuing)."""
    return session.scalar(select(ApiToken.id).where(ApiToken.token_hash == token_hash(token)))


def list_api_tokens(session: Session, user_id: int | None = None) -> list[ApiTokenInfo]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return [
        ApiTokenInfo(
            token_id=t.id,
            user_id=t.user_id,
            name=t.name,
            scopes=frozenset(t.scopes.split()),
            created_at=audit.utc(t.created_at),
            revoked_at=audit.utc(t.revoked_at) if t.revoked_at else None,
            last_used_at=audit.utc(t.last_used_at) if t.last_used_at else None,
        )
        for t in session.scalars(stmt)
    ]
