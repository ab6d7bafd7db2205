"""Uploading an employer's remittance file (上传汇缴清册) against a draft list.

Builds the validation context from the database (the employer's current depositors, a lookup
of people registered with another employer), validates the whole file with
``remittance_file.read_remittance_file`` and replaces the draft's lines only when every row is
good: a rejected file writes nothing but its audit record.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.deposits.employers import employer_limits
from hpf.deposits.models import Depositor, Employer, Remittance
from hpf.deposits.remittance import RemittanceError, replace_lines
from hpf.deposits.remittance_file import (
    EmployeeOnFile,
    ParsedRemittance,
    RemittanceContext,
    read_remittance_file,
)
from hpf.policy.loader import Policy


def context_for(session: Session, remittance: Remittance, policy: Policy) -> RemittanceContext:
    """What the file is checked against: this employer's people, rates and limits."""
    employer = session.get(Employer, remittance.employer_id)
    assert employer is not None
    people = session.execute(
        select(
            Depositor.depositor_ref, Depositor.id_number, Depositor.name, Depositor.base_fen
        ).where(Depositor.employer_id == employer.id, Depositor.status == "01")
    ).all()
    employees = {
        row.id_number: EmployeeOnFile(row.depositor_ref, row.id_number, row.name, row.base_fen)
        for row in people
    }

    def other_employer(id_number: str) -> str | None:
        row = session.execute(
            select(Employer.employer_ref)
            .join(Depositor, Depositor.employer_id == Employer.id)
            .where(Depositor.id_number == id_number, Employer.id != employer.id)
        ).first()
        return None if row is None else str(row[0])

    return RemittanceContext(
        employer_ref=employer.employer_ref,
        employer_name=employer.name,
        month=remittance.month,
        employer_rate_pct=employer.employer_rate_pct,
        employee_rate_pct=employer.employee_rate_pct,
        limits=employer_limits(session, policy, employer, remittance.month),
        employees=employees,
        other_employer_ids=other_employer,
    )


def upload(
    session: Session,
    remittance: Remittance,
    data: bytes,
    filename: str,
    policy: Policy,
    actor: Principal,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ParsedRemittance:
    """Validate ``data`` and, when every row is good, make it the draft's lines."""
    if remittance.status != "draft":
        raise RemittanceError("只有草稿状态的清册可以上传", "only a draft list can take an upload")
    parsed = read_remittance_file(
        data, filename, context_for(session, remittance, policy), progress=progress
    )
    if parsed.ok:
        replace_lines(session, remittance, parsed.rows, actor)
    else:
        record(
            session,
            actor=actor,
            action="remittance.upload_rejected",
            object_type="remittance",
            object_id=remittance.id,
            detail={"errors": len(parsed.errors), "file": filename[:100]},
        )
    return parsed
