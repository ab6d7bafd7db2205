"""基数调整: the yearly reset of contribution bases on July 1 from the employer's file.

All or nothing: every row must name one of the employer's current depositors and a base within
the limits in force on the effective date; otherwise nothing changes and every bad row is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.deposits.employers import employer_limits
from hpf.deposits.models import Depositor, Employer
from hpf.deposits.rules import ContributionRuleError, check_base
from hpf.errors import DomainError
from hpf.identifiers import mask
from hpf.policy.loader import Policy


@dataclass(frozen=True)
class BaseRowError:
    line_no: int
    id_number_masked: str
    message_zh: str
    message_en: str


class BaseAdjustmentRejected(DomainError):
    """The base file has bad rows; nothing was changed."""

    code = "base_adjustment_rejected"

    def __init__(self, errors: Sequence[BaseRowError]):
        first = errors[0]
        super().__init__(
            f"基数调整文件有 {len(errors)} 行错误，第 {first.line_no} 行：{first.message_zh}",
            f"{len(errors)} bad rows; line {first.line_no}: {first.message_en}",
        )
        self.errors = tuple(errors)


def adjust_bases(
    session: Session,
    employer: Employer,
    rows: Sequence[tuple[int, str, int]],
    effective: date,
    policy: Policy,
    actor: Principal,
) -> int:
    """Apply (line number, ID number, new base fen) rows; returns how many bases changed."""
    limits = employer_limits(session, policy, employer, effective)
    people = dict(
        session.execute(
            select(Depositor.id_number, Depositor.id).where(
                Depositor.employer_id == employer.id, Depositor.status == "01"
            )
        ).all()
    )
    errors: list[BaseRowError] = []
    seen: set[str] = set()
    updates = []
    for line_no, id_number, base in rows:
        key = id_number.strip().upper()
        if key in seen:
            errors.append(BaseRowError(line_no, mask(key), "身份证号重复", "duplicate ID number"))
            continue
        seen.add(key)
        if key not in people:
            errors.append(
                BaseRowError(
                    line_no,
                    mask(key),
                    "不是本单位在缴职工",
                    "not a current depositor of this employer",
                )
            )
            continue
        try:
            check_base(base, limits)
        except ContributionRuleError as exc:
            errors.append(BaseRowError(line_no, mask(key), exc.message_zh, exc.message_en))
            continue
        updates.append({"pid": people[key], "base": base})
    if errors:
        raise BaseAdjustmentRejected(errors)
    if updates:
        table = Depositor.__table__
        session.connection().execute(
            update(table)  # type: ignore[arg-type]
            .where(table.c.id == bindparam("pid"))
            .values(base_fen=bindparam("base")),
            updates,
        )
    session.expire_all()
    record(
        session,
        actor=actor,
        action="employer.base_adjustment",
        object_type="employer",
        object_id=employer.employer_ref,
        detail={"rows": len(updates), "effective": effective},
    )
    return len(updates)
