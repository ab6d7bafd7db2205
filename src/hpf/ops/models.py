"""运维 tables: incidents (故障事件), security events (安全事件), the backup log (备份记录) and
the partner-department API (合作部门接口): its clients, their tokens and every call.

domain.md §9: system stability = zero incidents that stop a business line; data security = zero
data leaks, regular backups, MLPS level 3 controls (authentication, least privilege, audit).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id

SEVERITIES = ("major", "significant", "minor")
SECURITY_KINDS = (
    "signin_failure",
    "account_locked",
    "access_denied",
    "bulk_export",
    "unmask",
    "data_leak",
    "other",
)


class Incident(Base):
    """故障事件: what broke, how badly, which business line, when it was restored."""

    __tablename__ = "ops_incident"
    __table_args__ = (
        CheckConstraint("severity IN ('" + "','".join(SEVERITIES) + "')", name="severity"),
        CheckConstraint("severity <> 'major' OR business_line <> ''", name="major_names_line"),
        CheckConstraint("status IN ('open','resolved')", name="status"),
        Index("ix_ops_incident_occurred", "occurred_at", "severity"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    severity: Mapped[str] = mapped_column(String(12))
    """major 重大 (a business line stopped) | significant 较大 | minor 一般."""
    business_line: Mapped[str] = mapped_column(String(20), default="")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    reported_by: Mapped[str] = mapped_column(String(100), default="")


class SecurityEvent(Base):
    """安全事件: a failed sign-in, denied access, bulk export, unmasking, or a data leak.

    Events derived from the audit trail keep its record number (``audit_record_id``, unique), so
    deriving again adds only newer records.
    """

    __tablename__ = "ops_security_event"
    __table_args__ = (
        CheckConstraint("kind IN ('" + "','".join(SECURITY_KINDS) + "')", name="kind"),
        Index("ix_ops_security_event_at", "at", "kind"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60), default="")
    object_ref: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    audit_record_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    """False for a suspected leak later found to be none (it then does not count)."""


class BackupRecord(Base):
    """备份记录: one backup taken (and whether it was verified or used in a restore drill)."""

    __tablename__ = "ops_backup"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    backend: Mapped[str] = mapped_column(String(12))
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    tables: Mapped[int] = mapped_column(BigInteger)
    total_rows: Mapped[int] = mapped_column(BigInteger)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


PARTNER_STATUSES = ("active", "suspended")
PARTNER_RESULTS = ("found", "not_found", "invalid", "denied", "rate_limited")


class PartnerClient(Base):
    """合作部门: a department allowed to query the partner API (e.g. 不动产登记中心), with the
    scopes (kinds of look-up) it may use. Its tokens are :class:`PartnerToken`, never staff
    API tokens.
    """

    __tablename__ = "ops_partner"
    __table_args__ = (
        CheckConstraint("status IN ('" + "','".join(PARTNER_STATUSES) + "')", name="status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    department: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(Text, default="")
    """Space-separated scope names (:data:`hpf.ops.partner_rules.SCOPES`)."""
    status: Mapped[str] = mapped_column(String(10), default="active")
    contact: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100), default="")


class PartnerToken(Base):
    """A partner's bearer token (合作部门令牌), stored as its SHA-256 like staff API tokens."""

    __tablename__ = "ops_partner_token"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(Id, ForeignKey("ops_partner.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PartnerCall(Base):
    """One call of the partner API (调用记录): who asked what about whom (masked), the answer."""

    __tablename__ = "ops_partner_call"
    __table_args__ = (
        CheckConstraint("result IN ('" + "','".join(PARTNER_RESULTS) + "')", name="result"),
        Index("ix_ops_partner_call_partner_at", "partner_id", "at"),
        Index("ix_ops_partner_call_at", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(Id, ForeignKey("ops_partner.id"))
    token_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ops_partner_token.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    route: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(60), default="")
    """What was asked about, masked (an ID number as ``3713**********1234``)."""
    result: Mapped[str] = mapped_column(String(12))
    status_code: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str] = mapped_column(String(64), default="")
