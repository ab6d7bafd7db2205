"""Security events (安全事件) and the data-security indicator (数据安全).

Events are derived from the audit trail where it records them (sign-in failures, locked accounts,
unmasking of personal data, bulk exports) — incrementally, by audit record number — or entered by
hand (denied access seen elsewhere, a data leak). domain.md §9: data security = zero data leaks,
regular backups; hpf's convention: met when no confirmed leak and a backup was taken in every
month of the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import case, func, insert, literal, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.models import AuditRecord
from hpf.auth.principal import Principal
from hpf.dates import add_months, month_end
from hpf.errors import InvalidInput
from hpf.ops.models import SECURITY_KINDS, BackupRecord, SecurityEvent
from hpf.workflow.stats import BUSINESS_TZ, day_bounds

KIND_NAMES: dict[str, str] = {
    "signin_failure": "登录失败",
    "account_locked": "账户锁定",
    "access_denied": "越权访问被拒",
    "bulk_export": "批量导出",
    "unmask": "查看未脱敏信息",
    "data_leak": "数据泄露",
    "other": "其他",
}

TRAIL_ACTIONS: dict[str, str] = {
    "signin.failure": "signin_failure",
    "signin.refused_locked": "signin_failure",
    "account.lock": "account_locked",
    "person.unmask": "unmask",
    "permission.denied": "access_denied",
    "access.denied": "access_denied",
    "withdrawal.batch_export": "bulk_export",
    "withdrawal.batch_download": "bulk_export",
    "loan.debit_export": "bulk_export",
    "exchange.export": "bulk_export",
    "backup.create": "bulk_export",
}
"""Audit-trail actions that are security events, and their kind."""


def sync_from_trail(session: Session) -> int:
    """Add an event for every audit record of a :data:`TRAIL_ACTIONS` action not yet derived
    (one INSERT … SELECT from the last record seen); returns how many were added.
    """
    last = session.scalar(select(func.max(SecurityEvent.audit_record_id))) or 0
    kind = case(*((AuditRecord.action == a, k) for a, k in TRAIL_ACTIONS.items()), else_="other")
    source = select(
        AuditRecord.at,
        kind,
        AuditRecord.actor_name,
        AuditRecord.ip,
        AuditRecord.action,
        func.substr(AuditRecord.object_type + literal(":") + AuditRecord.object_id, 1, 100),
        AuditRecord.detail,
        AuditRecord.id,
        literal(True),
    ).where(AuditRecord.id > last, AuditRecord.action.in_(TRAIL_ACTIONS))
    session.execute(
        insert(SecurityEvent).from_select(
            [
                "at",
                "kind",
                "actor_name",
                "ip",
                "action",
                "object_ref",
                "detail",
                "audit_record_id",
                "confirmed",
            ],
            source,
        )
    )
    added = session.scalar(
        select(func.count()).select_from(SecurityEvent).where(SecurityEvent.audit_record_id > last)
    )
    return int(added or 0)


def record_event(
    session: Session,
    *,
    kind: str,
    at: datetime,
    detail: str,
    actor_name: str = "",
    object_ref: str = "",
    actor: Principal | None = None,
    now: datetime | None = None,
) -> SecurityEvent:
    """登记 an event seen outside the trail (e.g. a data leak reported, access denied)."""
    if kind not in SECURITY_KINDS:
        raise InvalidInput(
            f"未知的安全事件类型：{kind}（可用：{'、'.join(SECURITY_KINDS)}）",
            f"unknown security event kind: {kind}",
        )
    moment = (at.replace(tzinfo=BUSINESS_TZ) if at.tzinfo is None else at).astimezone(UTC)
    row = SecurityEvent(
        at=moment,
        kind=kind,
        actor_name=actor_name[:100],
        ip="",
        action="manual",
        object_ref=object_ref[:100],
        detail=detail,
        confirmed=True,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="security.record",
        object_type="ops_security_event",
        object_id=row.id,
        detail={"kind": kind},
        now=now,
    )
    return row


@dataclass(frozen=True)
class DataSecurityIndicator:
    start: date
    end: date
    by_kind: dict[str, int]
    leaks: int
    months: int
    months_with_backup: int

    @property
    def met(self) -> bool:
        return self.leaks == 0 and self.months_with_backup == self.months


def data_security(session: Session, start: date, end: date) -> DataSecurityIndicator:
    """Events of ``start``..``end`` by kind, confirmed leaks, months with at least one backup."""
    lo, hi = day_bounds(start, end)
    by_kind = {
        str(k): int(n)
        for k, n in session.execute(
            select(SecurityEvent.kind, func.count())
            .where(SecurityEvent.at >= lo, SecurityEvent.at < hi, SecurityEvent.confirmed)
            .group_by(SecurityEvent.kind)
        )
    }
    months = 0
    with_backup = 0
    month = start.replace(day=1)
    while month <= end:
        months += 1
        m_lo, m_hi = day_bounds(max(month, start), min(month_end(month), end))
        n = session.scalar(
            select(func.count())
            .select_from(BackupRecord)
            .where(BackupRecord.created_at >= m_lo, BackupRecord.created_at < m_hi)
        )
        with_backup += 1 if n else 0
        month = add_months(month, 1)
    return DataSecurityIndicator(
        start, end, by_kind, by_kind.get("data_leak", 0), months, with_backup
    )
