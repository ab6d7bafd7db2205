"""Read models of applications (申请件视图): frozen views with their steps, loaded set-wise."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.audit import utc
from hpf.auth.principal import Principal
from hpf.workflow import rules
from hpf.workflow.business_types import BusinessType, business_type
from hpf.workflow.models import Application, ApplicationStep


@dataclass(frozen=True)
class StepView:
    """One recorded action on an application (办理记录)."""

    step: str
    action: str
    actor_user_id: int
    actor_name: str
    at: datetime
    at_counter: bool
    comment: str


@dataclass(frozen=True)
class ApplicationView:
    """An application as callers see it, with every action taken on it."""

    id: int
    business_type: str
    business_name_zh: str
    business_name_en: str
    status: str
    awaiting: str | None
    route: tuple[str, ...]
    applicant_user_id: int
    applicant_kind: str
    subject_ref: str | None
    branch_id: int
    channel: str
    fully_online: bool
    amount_fen: int
    payload: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    steps: tuple[StepView, ...]

    @property
    def status_zh(self) -> str:
        return rules.STATUS_NAMES[self.status][0]

    @property
    def is_finished(self) -> bool:
        return self.status in rules.TERMINAL


def load_views(session: Session, apps: Sequence[Application]) -> list[ApplicationView]:
    """Views of ``apps`` with their steps, in two queries whatever the number of applications."""
    steps: dict[int, list[StepView]] = {app.id: [] for app in apps}
    for start in range(0, len(apps), 900):
        ids = [app.id for app in apps[start : start + 900]]
        for row in session.scalars(
            select(ApplicationStep)
            .where(ApplicationStep.application_id.in_(ids))
            .order_by(ApplicationStep.id)
        ):
            steps[row.application_id].append(
                StepView(
                    row.step,
                    row.action,
                    row.actor_user_id,
                    row.actor_name,
                    utc(row.at),
                    row.at_counter,
                    row.comment,
                )
            )
    views = []
    for app in apps:
        btype = business_type_or_none(app.business_type)
        views.append(
            ApplicationView(
                id=app.id,
                business_type=app.business_type,
                business_name_zh=btype.name_zh if btype else app.business_type,
                business_name_en=btype.name_en if btype else app.business_type,
                status=app.status,
                awaiting=app.awaiting,
                route=route_of(app),
                applicant_user_id=app.applicant_user_id,
                applicant_kind=app.applicant_kind,
                subject_ref=app.subject_ref,
                branch_id=app.branch_id,
                channel=app.channel,
                fully_online=app.fully_online,
                amount_fen=app.amount_fen,
                payload=json.loads(app.payload),
                created_at=utc(app.created_at),
                updated_at=utc(app.updated_at),
                completed_at=utc(app.completed_at) if app.completed_at else None,
                steps=tuple(steps[app.id]),
            )
        )
    return views


def business_type_or_none(code: str) -> BusinessType | None:
    """The registered type of ``code``, or None (e.g. a type whose area is not loaded)."""
    try:
        return business_type(code)
    except rules.UnknownBusinessType:
        return None


MAX_PAGE_SIZE = 200


def search(
    session: Session,
    viewer: Principal,
    *,
    page: int = 1,
    size: int = 20,
    status: str | None = None,
    business_type: str | None = None,
) -> tuple[list[ApplicationView], int]:
    """One page of the applications ``viewer`` may see, newest first, and their total count.

    Employer agents and depositors see their own applications; staff with ``workflow.read``
    see those of their branch scope (数据范围). Three queries whatever the page size.
    """
    size, page = max(1, min(size, MAX_PAGE_SIZE)), max(1, page)
    stmt = select(Application)
    if viewer.kind in ("employer", "depositor"):
        stmt = stmt.where(Application.applicant_user_id == viewer.user_id)
    elif not viewer.has("workflow.read"):
        return [], 0
    elif not viewer.whole_center:
        if viewer.branch_id is None:
            return [], 0
        stmt = stmt.where(Application.branch_id == viewer.branch_id)
    if status:
        stmt = stmt.where(Application.status == status)
    if business_type:
        stmt = stmt.where(Application.business_type == business_type)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    apps = session.scalars(
        stmt.order_by(Application.created_at.desc(), Application.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return load_views(session, apps), total


def route_of(app: Application) -> tuple[str, ...]:
    """The staff steps fixed at submission."""
    return tuple(app.route.split(","))
