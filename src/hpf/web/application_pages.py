"""A business application in the staff pages (业务申请): the queue, staff steps, view audit.

Loans (贷款) and withdrawals (提取) are each a row of their own behind a workflow application
(:mod:`hpf.workflow`); the web treats both alike, and this module holds what they share:

- the queue (待办): the staff member's workflow inbox filtered to one business type, each item
  with its row, the person masked and the age (:func:`inbox_queue`);
- the branch's rows, paged (:func:`staff_page`);
- a staff step routed to the area's ``decide`` when the application is one of its rows
  (:func:`decide_through`), the step buttons a staff member may press after separation of duties
  (:func:`step_actions`), and the console's step route answer (:func:`act_and_redirect`: a flash
  and back to the page);
- the apply form's answers: a refused field (:func:`field_errors`) and the application's
  (:func:`applied_redirect`: replayed, submitted or refused);
- 查看留痕: a staff view of a person's data written to the audit trail (:func:`audit_view`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hpf.auth import audit
from hpf.auth.masking import mask_name
from hpf.auth.principal import Principal
from hpf.deposits.models import Depositor
from hpf.errors import DomainError
from hpf.web import contribution_actions as actions
from hpf.web.contributions import client_ip
from hpf.web.i18n import _ as N_
from hpf.web.templating import flash
from hpf.workflow import service as workflow
from hpf.workflow.service import ApplicationView

Row = TypeVar("Row")
REPLAYED = N_("This form had already been submitted; nothing was done again.")


@dataclass(frozen=True)
class QueueItem(Generic[Row]):
    """One application waiting for the staff member's step (待办), with its row."""

    application: ApplicationView
    row: Row
    person: str
    age_hours: int

    @property
    def age_text(self) -> str:
        days, hours = divmod(self.age_hours, 24)
        return f"{days}d {hours}h" if days else f"{hours}h"


def inbox_queue(
    session: Session,
    principal: Principal,
    *,
    business_type: str,
    application_id: InstrumentedAttribute[int | None],
    now: datetime | None = None,
) -> list[QueueItem[Any]]:
    """The workflow inbox of ``principal`` for one business type, oldest first; the person masked.

    ``application_id`` is the column linking the area's rows to their applications."""
    views = workflow.inbox(session, principal, limit=500, business_type=business_type)
    if not views:
        return []
    by_app = {
        row.application_id: row
        for row in session.scalars(
            select(application_id.class_).where(application_id.in_([v.id for v in views]))
        )
    }
    names = dict(
        session.execute(
            select(Depositor.id, Depositor.name).where(
                Depositor.id.in_({r.depositor_id for r in by_app.values()})
            )
        ).all()
    )
    at = now or datetime.now(UTC)
    out: list[QueueItem[Any]] = []
    for view in views:
        row = by_app.get(view.id)
        if row is None:
            continue
        created = view.created_at if view.created_at.tzinfo else view.created_at.replace(tzinfo=UTC)
        hours = max(0, int((at - created).total_seconds() // 3600))
        out.append(QueueItem(view, row, mask_name(str(names.get(row.depositor_id, ""))), hours))
    return out


def staff_page(
    session: Session,
    principal: Principal,
    model: type[Any],
    *filters: ColumnElement[bool],
    page: int,
    size: int,
    max_size: int,
) -> tuple[list[Any], int]:
    """One page of ``model``'s rows matching ``filters`` in the principal's branch scope (all when
    whole-center; none for a non-staff principal), newest first, and their number."""
    size = max(1, min(size, max_size))
    if principal.kind not in ("staff", "system"):
        return [], 0
    stmt = select(model)
    if not principal.whole_center:
        if principal.branch_id is None:
            return [], 0
        stmt = stmt.where(model.branch_id == principal.branch_id)
    stmt = stmt.where(*filters)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(model.id.desc()).offset((max(1, page) - 1) * size).limit(size)
    )
    return list(rows), total


def decide_through(
    session: Session,
    application_id: int,
    column: InstrumentedAttribute[int | None],
    *,
    decide: Callable[[int], object],
    otherwise: Callable[[], ApplicationView],
) -> ApplicationView:
    """A staff step on an application: ``decide(row id)`` when it is the application of one of
    the area's rows (``column`` links them; so a rejection also ends the row), else ``otherwise``."""
    row = session.scalar(select(column.class_).where(column == application_id))
    if row is None:
        return otherwise()
    decide(row.id)
    return workflow.get(session, application_id)


def step_actions(principal: Principal, status: str, view: ApplicationView | None) -> list[str]:
    """The steps ``principal`` may take on an application in review (none after another step)."""
    from hpf.web.applications import available_actions

    if view is None or status != "in_review":
        return []
    # separation of duties: whoever took another step of this application may not take this one
    if any(s.actor_user_id == principal.user_id and s.step != view.awaiting for s in view.steps):
        return []
    return available_actions(view, principal)


def audit_view(
    session: Session,
    principal: Principal,
    *,
    object_type: str,
    object_id: int,
    depositor_ref: str,
    ip: str = "",
) -> None:
    """查看留痕: a staff member opened a person's application (a depositor's own view is not)."""
    if principal.kind == "depositor":
        return
    unmasked = principal.has("person.unmask")
    audit.record_read(
        session,
        actor=principal,
        action="person.unmask" if unmasked else "person.view",
        object_type=object_type,
        object_id=object_id,
        detail={"depositor": depositor_ref, "fields": ["name", "id_number"] if unmasked else []},
        ip=ip,
    )


# --- console answers --------------------------------------------------------------------------


def lang_of(request: Request) -> str:
    return str(getattr(request.state, "lang", "zh"))


def field_errors(request: Request, exc: DomainError) -> dict[str, str]:
    """A refused form as the page shows it: the message under the field it names (or on top)."""
    field = exc.field if isinstance(exc, actions.FieldInvalid) else ""
    return {field: exc.message(lang_of(request))}


def act_and_redirect(
    request: Request,
    db: Session,
    *,
    url: str,
    application_id: int | None,
    no_application: str,
    act_on: Callable[..., object],
    actor: Principal,
    action: str,
    comment: str,
) -> Response:
    """Take a console step through the area's ``act_on`` (its ``act_on_application``) in a
    savepoint; flash the outcome, back to ``url``."""
    response = RedirectResponse(url, status_code=303)
    if application_id is None:
        flash(response, no_application, "danger")
        return response
    try:
        with db.begin_nested():
            act_on(
                db,
                application_id,
                actor=actor,
                action=action,
                comment=comment,
                ip=client_ip(request),
            )
    except DomainError as exc:
        flash(response, exc.message(lang_of(request)), "danger")
        return response
    flash(response, N_("Done."))
    return response


def applied_redirect(url: str, done: actions.Done, refused: str) -> Response:
    """A counter application's answer: to the new row, flashing replayed, submitted or refused."""
    response = RedirectResponse(url, status_code=303)
    if done.replayed:
        flash(response, REPLAYED, "info")
    elif done.result.get("allowed"):
        flash(response, N_("Application submitted."))
    else:
        flash(response, refused, "warning")
    return response
