"""Incidents, security events and the online handling rate against hand counts (both backends)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.errors import InvalidInput
from hpf.ops import incidents, security
from hpf.ops.models import BackupRecord
from hpf.workflow.stats import BUSINESS_TZ


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUSINESS_TZ)  # type: ignore[misc]


def test_stability_hand_counts(session: Session) -> None:
    major = incidents.log_incident(
        session,
        occurred_at=cst(2023, 5, 3, 9),
        severity="major",
        title="归集系统宕机",
        business_line="deposit",
    )
    incidents.resolve_incident(
        session, major.id, resolved_at=cst(2023, 5, 3, 10, 30), cause="数据库磁盘满", actions="扩容"
    )
    incidents.log_incident(
        session,
        occurred_at=cst(2023, 5, 10),
        severity="significant",
        title="网厅缓慢",
        business_line="online",
    )
    incidents.log_incident(session, occurred_at=cst(2023, 5, 20), severity="minor", title="打印机")
    incidents.log_incident(
        session, occurred_at=cst(2023, 4, 30, 23), severity="minor", title="四月"
    )  # April by China time
    incidents.log_incident(
        session,
        occurred_at=cst(2023, 6, 1, 0, 30),
        severity="major",
        title="六月",
        business_line="loan",
    )
    may = incidents.stability(session, date(2023, 5, 1), date(2023, 5, 31))
    # May: major 1 (09:00–10:30 = 90 minutes), significant 1, minor 1 → not met
    assert (may.major, may.significant, may.minor, may.major_minutes) == (1, 1, 1, 90)
    assert not may.met
    april = incidents.stability(session, date(2023, 4, 1), date(2023, 4, 30))
    assert (april.major, april.minor, april.met) == (0, 1, True)
    with pytest.raises(InvalidInput):
        incidents.log_incident(session, occurred_at=cst(2023, 5, 1), severity="major", title="x")
    with pytest.raises(InvalidInput):
        incidents.log_incident(session, occurred_at=cst(2023, 5, 1), severity="huge", title="x")


def test_security_events_from_trail_and_data_security(session: Session) -> None:
    for action, day in (
        ("signin.failure", 2),
        ("signin.failure", 3),
        ("person.unmask", 4),
        ("withdrawal.batch_export", 5),
        ("user.create", 6),  # not a security event
    ):
        audit.record(
            session,
            actor=None,
            action=action,
            object_type="t",
            object_id=day,
            now=cst(2023, 5, day),
        )
    assert security.sync_from_trail(session) == 4
    assert security.sync_from_trail(session) == 0  # incremental: nothing new
    audit.record(session, actor=None, action="signin.failure", now=cst(2023, 6, 1, 9))
    assert security.sync_from_trail(session) == 1
    security.record_event(session, kind="data_leak", at=cst(2023, 5, 9), detail="U盘遗失")
    session.add(
        BackupRecord(
            created_at=datetime(2023, 5, 2, tzinfo=UTC),
            backend="sqlite",
            path="/b",
            sha256="0" * 64,
            size_bytes=1,
            tables=1,
            total_rows=1,
        )
    )
    session.flush()
    may = security.data_security(session, date(2023, 5, 1), date(2023, 5, 31))
    # May: 2 sign-in failures, 1 unmasking, 1 bulk export, 1 leak (entered); a backup on 05-02
    assert may.by_kind == {"signin_failure": 2, "unmask": 1, "bulk_export": 1, "data_leak": 1}
    assert (may.leaks, may.months, may.months_with_backup, may.met) == (1, 1, 1, False)
    # April–June: no leak in June, but April and June had no backup
    spring = security.data_security(session, date(2023, 4, 1), date(2023, 6, 30))
    assert (spring.months, spring.months_with_backup) == (3, 1)
    with pytest.raises(InvalidInput):
        security.record_event(session, kind="rumour", at=cst(2023, 5, 9), detail="x")
