"""Tickets recorded in bulk (工单批量登记): a hotline platform's tickets with their whole history.

The 12329 platform hands over tickets already received, assigned, answered and called back;
recording them one by one through :func:`hpf.service_desk.service.add_ticket` would write an
audit record per ticket and step. :func:`record_platform_tickets` checks every ticket with the
same rules (channel, category, deadline from the policy, reply not before receipt, callback
only after a reply and with a rating exactly when the person was reached), then inserts them in
one statement and writes one audit record for the batch. Nothing commits. domain.md §9.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.principal import Principal
from hpf.errors import InvalidInput
from hpf.policy.loader import Policy
from hpf.service_desk import rules
from hpf.service_desk.models import Ticket
from hpf.service_desk.service import _aware
from hpf.workflow.stats import BUSINESS_TZ


@dataclass(frozen=True)
class PlatformTicket:
    """One ticket as the platform reports it: received, and possibly answered and called back."""

    ticket_no: str
    channel: str
    category: str
    topic: str
    received_at: datetime
    branch_id: int | None = None
    caller_name: str = ""
    caller_phone: str = ""
    content: str = ""
    assignee: str = ""
    assigned_at: datetime | None = None
    replied_at: datetime | None = None
    reply: str = ""
    replied_by: str = ""
    callback_at: datetime | None = None
    callback_reached: bool | None = None
    rating: str | None = None


def _row(t: PlatformTicket, policy: Policy, actor: Principal) -> dict[str, object]:
    if t.channel not in rules.CHANNELS:
        raise InvalidInput(f"未知的来源渠道：{t.channel}", f"unknown channel: {t.channel!r}")
    received = _aware(t.received_at)
    entry = policy.service_on(received.astimezone(BUSINESS_TZ).date())
    due = rules.due_at(received, rules.reply_days(entry.ticket_reply_days, t.category))
    replied = _aware(t.replied_at) if t.replied_at is not None else None
    if replied is not None and replied < received:
        raise InvalidInput(
            f"工单 {t.ticket_no} 答复时间早于受理时间", f"{t.ticket_no}: reply before receipt"
        )
    called = _aware(t.callback_at) if t.callback_at is not None else None
    if called is not None:
        if replied is None or called < replied or t.callback_reached is None:
            raise InvalidInput(
                f"工单 {t.ticket_no} 须先答复后回访", f"{t.ticket_no}: callback before a reply"
            )
        rules.check_callback(t.callback_reached, t.rating)
    elif t.rating is not None or t.callback_reached is not None:
        raise InvalidInput(f"工单 {t.ticket_no} 缺少回访时间", f"{t.ticket_no}: no callback time")
    if t.rating is not None and t.rating not in rules.RATINGS:
        raise InvalidInput(f"未知的满意度评价：{t.rating}", f"unknown rating: {t.rating!r}")
    status = "open"
    if t.assignee:
        status = "assigned"
    if replied is not None:
        status = "closed" if t.callback_reached else "replied"
    return {
        "ticket_no": t.ticket_no[:40],
        "source": "import",
        "channel": t.channel,
        "caller_name": t.caller_name[:50],
        "caller_phone": t.caller_phone[:20],
        "topic": t.topic[:200],
        "content": t.content,
        "category": t.category,
        "branch_id": t.branch_id,
        "status": status,
        "received_at": received,
        "due_at": due,
        "assignee": t.assignee[:100],
        "assigned_at": _aware(t.assigned_at) if t.assigned_at is not None else None,
        "escalation_level": 0,
        "escalated_at": None,
        "escalation_reason": "",
        "replied_at": replied,
        "reply": t.reply,
        "replied_by": t.replied_by[:100],
        "callback_at": called,
        "callback_reached": t.callback_reached,
        "rating": t.rating,
        "callback_note": "",
        "created_by": actor.login_name[:100],
    }


def record_platform_tickets(
    session: Session,
    tickets: Sequence[PlatformTicket],
    actor: Principal,
    *,
    policy: Policy,
    batch: str,
    now: datetime,
) -> int:
    """Check and insert ``tickets`` (all or nothing); one audit record names the ``batch``."""
    rows = [_row(t, policy, actor) for t in tickets]
    numbers = [str(r["ticket_no"]) for r in rows]
    if len(set(numbers)) != len(numbers):
        raise InvalidInput("批量工单编号重复", "duplicate ticket numbers in the batch")
    for start in range(0, len(numbers), 500):
        taken = session.scalars(
            select(Ticket.ticket_no).where(Ticket.ticket_no.in_(numbers[start : start + 500]))
        ).first()
        if taken is not None:
            raise InvalidInput(f"工单编号已存在：{taken}", f"ticket number already exists: {taken}")
    if rows:
        session.execute(insert(Ticket), rows)
    audit.record(
        session,
        actor=actor,
        action="ticket.import",
        object_type="service_ticket",
        object_id=batch[:60],
        detail={"rows": len(rows)},
        now=_aware(now),
    )
    return len(rows)
