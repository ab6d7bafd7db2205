"""Incident log (故障事件) and the system-stability indicator (系统稳定性).

domain.md §9: the seed asks for zero incidents that stop a business line. Severity (hpf's
convention, domain.md names only the first): major 重大 = a business line stopped (its line is
named); significant 较大 = a line degraded or one channel down; minor 一般 = no business impact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.principal import Principal
from hpf.errors import DomainError, InvalidInput
from hpf.ops.models import SEVERITIES, Incident
from hpf.workflow.stats import BUSINESS_TZ, day_bounds

SEVERITY_NAMES: dict[str, tuple[str, str]] = {
    "major": ("重大（业务中断）", "major: a business line stopped"),
    "significant": ("较大", "significant: degraded or a channel down"),
    "minor": ("一般", "minor: no business impact"),
}
BUSINESS_LINES: dict[str, str] = {
    "deposit": "归集",
    "withdrawal": "提取",
    "loan": "贷款",
    "finance": "财务核算",
    "online": "网上业务大厅",
    "hotline": "服务热线",
    "all": "全部业务",
}


class IncidentNotFound(DomainError):
    code = "incident_not_found"


def _utc(value: datetime) -> datetime:
    return (value.replace(tzinfo=BUSINESS_TZ) if value.tzinfo is None else value).astimezone(UTC)


def log_incident(
    session: Session,
    *,
    occurred_at: datetime,
    severity: str,
    title: str,
    business_line: str = "",
    description: str = "",
    actor: Principal | None = None,
    now: datetime | None = None,
) -> Incident:
    """登记 an incident; a major one must name the business line it stopped."""
    if severity not in SEVERITIES:
        raise InvalidInput(
            f"未知的事件级别：{severity}（可用：{'、'.join(SEVERITIES)}）",
            f"unknown severity: {severity}",
        )
    if business_line and business_line not in BUSINESS_LINES:
        raise InvalidInput(
            f"未知的业务条线：{business_line}（可用：{'、'.join(BUSINESS_LINES)}）",
            f"unknown business line: {business_line}",
        )
    if severity == "major" and not business_line:
        raise InvalidInput(
            "重大事件须注明中断的业务条线", "a major incident must name the business line stopped"
        )
    if not title.strip():
        raise InvalidInput("事件标题不能为空", "the incident's title is required")
    row = Incident(
        occurred_at=_utc(occurred_at),
        severity=severity,
        business_line=business_line,
        title=title.strip()[:200],
        description=description,
        cause="",
        actions="",
        status="open",
        reported_by=(actor.login_name if actor else "system")[:100],
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="incident.log",
        object_type="ops_incident",
        object_id=row.id,
        detail={"severity": severity, "line": business_line},
        now=now,
    )
    return row


def resolve_incident(
    session: Session,
    incident_id: int,
    *,
    resolved_at: datetime,
    cause: str,
    actions: str,
    actor: Principal | None = None,
    now: datetime | None = None,
) -> Incident:
    """恢复: record when service was restored, the cause and what was done."""
    row = session.get(Incident, incident_id, with_for_update=True)
    if row is None:
        raise IncidentNotFound(f"事件不存在：{incident_id}", f"no such incident: {incident_id}")
    at = _utc(resolved_at)
    if at < audit.utc(row.occurred_at):
        raise InvalidInput("恢复时间早于发生时间", "resolved before it occurred")
    row.resolved_at, row.cause, row.actions, row.status = at, cause, actions, "resolved"
    audit.record(
        session,
        actor=actor,
        action="incident.resolve",
        object_type="ops_incident",
        object_id=row.id,
        now=now,
    )
    return row


@dataclass(frozen=True)
class StabilityIndicator:
    """系统稳定性: incidents by severity in a period; met when no business line stopped."""

    start: date
    end: date
    major: int
    significant: int
    minor: int
    major_minutes: int
    """Minutes of business stopped (major incidents, occurrence to restoration)."""

    @property
    def met(self) -> bool:
        return self.major == 0


def stability(
    session: Session, start: date, end: date, *, now: datetime | None = None
) -> StabilityIndicator:
    """Incidents that occurred ``start``..``end`` (China Standard Time days)."""
    lo, hi = day_bounds(start, end)
    counts = dict(
        session.execute(
            select(Incident.severity, func.count())
            .where(Incident.occurred_at >= lo, Incident.occurred_at < hi)
            .group_by(Incident.severity)
        ).all()
    )
    minutes = 0
    until = now or datetime.now(UTC)
    for occurred, resolved in session.execute(
        select(Incident.occurred_at, Incident.resolved_at).where(
            Incident.severity == "major", Incident.occurred_at >= lo, Incident.occurred_at < hi
        )
    ):
        stop = audit.utc(resolved) if resolved is not None else until
        minutes += max(0, int((stop - audit.utc(occurred)).total_seconds() // 60))
    return StabilityIndicator(
        start,
        end,
        int(counts.get("major", 0)),
        int(counts.get("significant", 0)),
        int(counts.get("minor", 0)),
        minutes,
    )
