"""催收 contacts: what the collection staff did about an overdue loan, on its work item.

The overdue batch (:mod:`hpf.loans.batches`) opens and resolves the work items (``Collection``);
this records each contact — a call, a text, a letter, a visit, legal action — on the open item
(count, last action and date) and in the audit trail, which is also the contact history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.models import AuditRecord
from hpf.auth.principal import Principal
from hpf.errors import InvalidInput
from hpf.loans.models import Collection
from hpf.loans.service import LoanError

CONTACT_METHODS = {
    "phone": ("电话催收", "phone call"),
    "sms": ("短信催收", "text message"),
    "letter": ("催收函", "collection letter"),
    "visit": ("上门催收", "visit"),
    "legal": ("法律诉讼", "legal action"),
}
ACTION = "loan.collection_contact"


@dataclass(frozen=True)
class Contact:
    """One recorded contact, as kept in the audit trail."""

    at: datetime
    by: str
    on: date
    method: str
    note: str


def record_contact(
    session: Session,
    collection_id: int,
    *,
    method: str,
    note: str,
    on: date,
    actor: Principal,
) -> Collection:
    """Record one contact on an open work item; refuses unknown methods and closed items."""
    if method not in CONTACT_METHODS:
        raise InvalidInput(
            f"催收方式无效：{method}（可选 {', '.join(CONTACT_METHODS)}）",
            f"unknown contact method: {method} ({', '.join(CONTACT_METHODS)})",
        )
    text = (note or "").strip()
    if not 1 <= len(text) <= 180:
        raise InvalidInput("催收情况须为1-180个字符", "the note must be 1-180 characters")
    item = session.scalars(
        select(Collection).where(Collection.id == collection_id).with_for_update()
    ).one_or_none()
    if item is None:
        raise LoanError(f"催收记录 {collection_id} 不存在", f"no collection item {collection_id}")
    if item.status != "open":
        raise LoanError(
            f"催收记录 {collection_id} 已结束，无需再催收",
            f"collection item {collection_id} is resolved",
        )
    if on < item.opened_on:
        raise InvalidInput("催收日期早于逾期开始日期", "the contact predates the overdue episode")
    item.contacts += 1
    item.last_action = f"{CONTACT_METHODS[method][0]}：{text}"[:200]
    item.last_action_on = on
    session.flush()
    record(
        session,
        actor=actor,
        action=ACTION,
        object_type="loan_collection",
        object_id=item.id,
        detail={"loan_id": item.loan_id, "method": method, "note": text, "on": on},
    )
    return item


def contact_history(session: Session, collection_id: int) -> list[Contact]:
    """Every contact recorded on the work item, oldest first."""
    rows = session.execute(
        select(AuditRecord.at, AuditRecord.actor_name, AuditRecord.detail)
        .where(AuditRecord.action == ACTION, AuditRecord.object_id == str(collection_id))
        .order_by(AuditRecord.id)
    ).all()
    out = []
    for at, by, detail in rows:
        data = json.loads(detail)
        out.append(Contact(at, by, date.fromisoformat(data["on"]), data["method"], data["note"]))
    return out
