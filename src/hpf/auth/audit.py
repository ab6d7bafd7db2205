"""The audit trail (审计留痕): an append-only, hash-chained record of who did what, when.

Every write, sign-in (success and failure), lock, unlock, view of a person's data and unmasking
is recorded. Record numbers are gap-free (1, 2, 3, …) and assigned under a lock on the single
``audit_chain_head`` row; each record's SHA-256 covers the previous hash and every column, so
``verify_trail`` names the first record altered, removed or inserted out of band. The head row is
a hot lock: call ``record`` late in a transaction, after the business rows are locked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.masking import mask_id_number, mask_text
from hpf.auth.models import AuditChainHead, AuditRecord
from hpf.auth.principal import Principal
from hpf.db.engine import is_sqlite, writable
from hpf.errors import DomainError

GENESIS_HASH = "0" * 64
STREAM_CHUNK = 10_000


class AuditTrailMissing(DomainError):
    code = "audit_trail_missing"


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (SQLite returns naive UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def record_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_kind: str,
    actor_id: int | None,
    actor_name: str,
    ip: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: str,
) -> str:
    """The chained SHA-256 of one audit record."""
    fields = (
        prev_hash,
        str(seq),
        utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        actor_kind,
        "" if actor_id is None else str(actor_id),
        actor_name,
        ip,
        action,
        object_type,
        object_id,
        detail,
    )
    # JSON array: no separator inside a field can make two different records collide
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def actor_label(actor: Principal) -> str:
    """How an actor is named in the trail; a depositor's login (ID number) is masked."""
    if actor.kind == "depositor":
        return mask_id_number(actor.login_name)
    return actor.login_name


def record(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    detail: Mapping[str, Any] | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> int:
    """Append one record to the trail and return its number; ``detail`` is masked JSON."""
    at = utc(now or datetime.now(UTC))
    if actor is None or actor.is_system:
        actor_kind, actor_id = "system", None
        actor_name = actor.login_name if actor is not None else "system"
    else:
        actor_kind, actor_id, actor_name = actor.kind, actor.user_id, actor_label(actor)
    actor_name, ip, object_id = actor_name[:100], ip[:64], str(object_id)[:60]
    action, object_type = action[:60], object_type[:40]
    detail_text = mask_text(
        json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True, default=str)
    )
    head = _lock_head(session)
    seq = head.last_seq + 1
    digest = record_hash(
        head.last_hash,
        seq,
        at,
        actor_kind,
        actor_id,
        actor_name,
        ip,
        action,
        object_type,
        object_id,
        detail_text,
    )
    session.add(
        AuditRecord(
            id=seq,
            at=at,
            actor_kind=actor_kind,
            actor_id=actor_id,
            actor_name=actor_name,
            ip=ip,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail_text,
            prev_hash=head.last_hash,
            hash=digest,
        )
    )
    head.last_seq = seq
    head.last_hash = digest
    session.flush()
    return seq


def record_read(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    detail: Mapping[str, Any] | None = None,
    ip: str = "",
) -> int:
    """Record an access made while serving ``session``'s request, e.g. viewing a person's data.

    In a write session the record joins the business transaction, like ``record``. In a read
    session (a GET on SQLite must not write in its read transaction) it is committed in a short
    transaction of its own *before* this returns, and any failure to write it is raised: call
    it before the data is handed out, so that no response shows the data without its record.
    (A response failing after that leaves a record of a view that was not shown: the safe way
    round.) Writing it after the response instead could lose it.
    """
    with writable(session) as target:
        return record(
            target,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
            ip=ip,
        )


def _lock_head(session: Session) -> AuditChainHead:
    stmt = select(AuditChainHead).where(AuditChainHead.id == 1)
    if not is_sqlite(session):  # SQLite already holds the write lock (BEGIN IMMEDIATE)
        stmt = stmt.with_for_update()
    head = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        raise AuditTrailMissing(
            "审计留痕未初始化，请执行 hpf db upgrade",
            "audit chain head missing: run hpf db upgrade",
        )
    return head


@dataclass(frozen=True)
class TrailProblem:
    """One break in the trail, naming the first record at fault."""

    record_id: int | None
    message: str


@dataclass
class TrailReport:
    """What ``verify_trail`` saw and found."""

    records: int = 0
    problems: list[TrailProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_offending_record(self) -> int | None:
        ids = [p.record_id for p in self.problems if p.record_id is not None]
        return min(ids) if ids else None


def verify_trail(session: Session) -> TrailReport:
    """Recompute the chain in order; report the first altered, missing or extra record."""
    report = TrailReport()
    report.records = int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)
    table = AuditRecord.__table__
    rows = session.connection().execute(
        select(table).order_by(table.c.id).execution_options(yield_per=STREAM_CHUNK)
    )
    prev_hash, expected = GENESIS_HASH, 1
    for r in rows:
        if r.id != expected:
            report.problems.append(
                TrailProblem(
                    expected,
                    f"审计记录不连续：缺少第 {expected} 条 audit record {expected} is missing",
                )
            )
            return report
        digest = record_hash(
            prev_hash,
            r.id,
            r.at,
            r.actor_kind,
            r.actor_id,
            r.actor_name,
            r.ip,
            r.action,
            r.object_type,
            r.object_id,
            r.detail,
        )
        if r.prev_hash != prev_hash or r.hash != digest:
            report.problems.append(
                TrailProblem(
                    int(r.id),
                    f"审计记录 {r.id} 哈希链断裂（内容被篡改） audit record {r.id} breaks the "
                    "hash chain (its content was altered)",
                )
            )
            return report
        prev_hash, expected = r.hash, expected + 1
    head = session.execute(
        select(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None or head.last_seq != expected - 1 or head.last_hash != prev_hash:
        report.problems.append(
            TrailProblem(
                expected - 1 if expected > 1 else None,
                "链头与最后一条审计记录不一致（记录被删除或截断） chain head does not match the "
                "last audit record (records deleted or truncated)",
            )
        )
    return report
