"""Identity and audit-trail tables (用户身份与审计留痕): accounts, roles, sessions, API tokens, audit.

``user_account`` holds every principal: staff (工作人员), employer agents (单位经办人) and
depositors (缴存职工). Sessions and API tokens are server-side rows keyed by the SHA-256 of the
token. ``audit_record`` is append-only (database triggers refuse UPDATE and DELETE) and
hash-chained like the ledger: gap-free ``id`` assigned under the lock of ``audit_chain_head``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id

USER_KINDS = ("staff", "employer", "depositor")


class UserAccount(Base):
    """One principal that can sign in (用户账户)."""

    __tablename__ = "user_account"
    __table_args__ = (
        UniqueConstraint("kind", "login_name", name="uq_user_account_kind_login_name"),
        CheckConstraint("kind IN ('staff', 'employer', 'depositor')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    login_name: Mapped[str] = mapped_column(String(60))
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    branch_id: Mapped[int | None] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    whole_center: Mapped[bool] = mapped_column(Boolean, default=False)
    """Staff who see every branch (全中心), e.g. center-level finance or audit."""
    employer_ref: Mapped[str | None] = mapped_column(String(40), index=True)
    depositor_ref: Mapped[str | None] = mapped_column(String(40), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    """The time step of the last one-time code accepted: a code is never accepted twice."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserRole(Base):
    """One role held by a user (用户角色)."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(Id, ForeignKey("user_account.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class WebSession(Base):
    """A signed-in browser session (会话); the cookie carries the token, the row its SHA-256."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("user_account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """Absolute expiry (created_at + 12 h); idle expiry is last_seen_at + 30 min."""
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class ApiToken(Base):
    """A bearer token for the API (接口令牌), limited to the scopes (roles) it was issued for."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text, default="")
    """Space-separated role names."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditChainHead(Base):
    """The single row holding the last audit record number and hash; locked by every append."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditRecord(Base):
    """One entry of the audit trail (审计留痕): who did what to which object, when and from where.

    ``id`` is the gap-free chain sequence number; ``detail`` is JSON text, already masked.
    """

    __tablename__ = "audit_record"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor_kind: Mapped[str] = mapped_column(String(20), default="")
    actor_id: Mapped[int | None] = mapped_column(Id, index=True)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(60), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
