"""Application use cases (业务申请办理): submit, act on, withdraw, read, inbox, online rate.

docs/decisions/0002-web-shell.md ("Workflow"); domain.md §9. Nothing here commits: the caller's
unit of work owns the transaction. Every submit and every action is written to the audit trail
(审计留痕). The step order and the separation of duties are :mod:`hpf.workflow.rules`; this
module adds permissions, branch scope (数据范围), idempotency and persistence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.errors import PermissionDenied
from hpf.auth.principal import Principal
from hpf.db.engine import is_sqlite
from hpf.deposits import applications as _deposit_types  # noqa: F401  (降比, 缓缴, 一链办理)
from hpf.errors import InvalidInput
from hpf.loans import application as _loan_type  # noqa: F401  (贷款)
from hpf.withdrawals import application as _withdrawal_type  # noqa: F401  (提取)
from hpf.workflow import business_types as registry
from hpf.workflow import contact_change as _contact_change  # noqa: F401  (registers the demo type)
from hpf.workflow import rules
from hpf.workflow.business_types import (
    BusinessType,
    Submission,
    business_type,
    business_types,
    register_business_type,
    route_table,
)
from hpf.workflow.models import Application, ApplicationStep
from hpf.workflow.stats import BUSINESS_TZ, counts, online_rate
from hpf.workflow.views import ApplicationView, StepView, load_views, route_of, search

__all__ = [
    "ApplicationView",
    "BusinessType",
    "StepView",
    "Submission",
    "act",
    "business_type",
    "business_types",
    "counts",
    "get",
    "inbox",
    "online_rate",
    "register_business_type",
    "resubmit",
    "search",
    "submit",
    "withdraw",
]

MAX_KEY_LENGTH = 120


def submit(
    session: Session,
    *,
    business_type: str,
    applicant: Principal,
    channel: str,
    payload: Mapping[str, Any],
    amount_fen: int = 0,
    subject_ref: str | None = None,
    branch_id: int,
    idempotency_key: str,
    ip: str = "",
    now: datetime | None = None,
) -> int:
    """Submit an application (申请) and return its id; idempotent per ``idempotency_key``.

    The same key with the same request returns the first application's id and writes nothing;
    the same key with a different request raises IdempotencyConflict. A second application of
    the type while one is in progress for this applicant raises AlreadyInProgress.
    """
    btype = registry.business_type(business_type)
    received = rules.channel(channel)
    if not applicant.has(rules.STEP_PERMISSIONS[rules.SUBMIT]):
        raise PermissionDenied(rules.STEP_PERMISSIONS[rules.SUBMIT])
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise InvalidInput("金额须为非负整数分", "amount must be a non-negative integer of fen")
    if subject_ref is not None and not 0 < len(subject_ref) <= 40:
        raise InvalidInput("业务对象账号须为1-40个字符", "subject_ref must be 1-40 characters")
    clean = btype.validate(payload) if btype.validate else dict(payload)
    payload_text = _payload_json(clean)
    key = _checked_key(idempotency_key)
    digest = rules.request_hash(
        {
            "business_type": btype.code,
            "applicant": applicant.user_id,
            "channel": received.code,
            "payload": json.loads(payload_text),
            "amount_fen": amount_fen,
            "subject_ref": subject_ref,
            "branch_id": branch_id,
        }
    )
    replay = _replay_of(session, key, digest)
    if replay is not None:
        return replay
    at = _utc(now)
    if btype.check is not None:
        btype.check(
            session,
            Submission(applicant, received.code, branch_id, subject_ref, _business_day(at)),
            clean,
        )
    in_progress_key = in_progress_key_of(btype.code, applicant.user_id, subject_ref)
    _refuse_in_progress(session, btype, in_progress_key)
    progress = rules.start(route_table().steps_for(btype.code, amount_fen), applicant.user_id)
    app = Application(
        business_type=btype.code,
        status=progress.status,
        awaiting=progress.awaiting,
        route=",".join(progress.route),
        applicant_user_id=applicant.user_id,
        applicant_kind=applicant.kind,
        subject_ref=subject_ref,
        branch_id=branch_id,
        channel=received.code,
        fully_online=received.online,
        amount_fen=amount_fen,
        payload=payload_text,
        idempotency_key=key,
        request_hash=digest,
        created_at=at,
        updated_at=at,
        in_progress_key=in_progress_key,
    )
    try:
        with session.begin_nested():
            session.add(app)
            session.flush()
    except IntegrityError:
        # A concurrent submission won the race for the key or the in-progress slot.
        replay = _replay_of(session, key, digest)
        if replay is not None:
            return replay
        _refuse_in_progress(session, btype, in_progress_key)
        raise
    _add_step(session, app.id, progress.history[-1], applicant, at, False, "")
    audit.record(
        session,
        actor=applicant,
        action="workflow.submit",
        object_type="workflow_application",
        object_id=app.id,
        detail={
            "business_type": btype.code,
            "channel": received.code,
            "amount_fen": amount_fen,
            "route": app.route,
            "subject_ref": subject_ref,
        },
        ip=ip,
        now=at,
    )
    return app.id


def act(
    session: Session,
    application_id: int,
    *,
    actor: Principal,
    action: str,
    comment: str = "",
    at_counter: bool = False,
    ip: str = "",
    now: datetime | None = None,
) -> ApplicationView:
    """Take a staff step (accept 受理 / review 复核 / approve 审批) or return (退回) / reject (不予受理).

    Checks the branch scope, the step's permission and the separation of duties; the last
    step of the route completes the application (办结) and runs the type's ``on_complete``.
    ``at_counter=True`` (the applicant came to a counter) clears ``fully_online``.
    """
    if action not in rules.STAFF_ACTIONS:
        raise rules.InvalidAction(f"未知的办理操作：{action}", f"unknown staff action: {action}")
    app = _load(session, application_id, lock=True)
    if not actor.can_see_branch(app.branch_id):
        raise rules.NotPermitted(
            "该申请不在您的机构范围内", "the application is outside your branch scope"
        )
    progress = _progress(session, app)
    permission = rules.required_permission(progress, action)
    if permission is not None and not actor.has(permission):
        raise PermissionDenied(permission)
    if action in (rules.RETURN, rules.REJECT) and not comment.strip():
        raise InvalidInput("退回或不予受理须写明原因", "a return or rejection needs a reason")
    return _apply(session, app, progress, action, actor, comment, at_counter, ip, now)


def withdraw(
    session: Session,
    application_id: int,
    *,
    applicant: Principal,
    comment: str = "",
    ip: str = "",
    now: datetime | None = None,
) -> ApplicationView:
    """The applicant withdraws (撤回) an unfinished application."""
    app = _load(session, application_id, lock=True)
    progress = _progress(session, app)
    return _apply(session, app, progress, rules.WITHDRAW, applicant, comment, False, ip, now)


def resubmit(
    session: Session,
    application_id: int,
    *,
    applicant: Principal,
    payload: Mapping[str, Any] | None = None,
    comment: str = "",
    ip: str = "",
    now: datetime | None = None,
) -> ApplicationView:
    """The applicant resubmits (重新提交) a returned application, optionally with a new payload.

    The route starts again from its first step.
    """
    app = _load(session, application_id, lock=True)
    progress = _progress(session, app)
    rules.transition(progress, rules.RESUBMIT, applicant.user_id)  # refuse before any change
    btype = registry.business_type(app.business_type)
    if payload is not None:
        app.payload = _payload_json(btype.validate(payload) if btype.validate else dict(payload))
    if btype.check is not None:
        btype.check(
            session,
            Submission(
                applicant, app.channel, app.branch_id, app.subject_ref, _business_day(_utc(now))
            ),
            json.loads(app.payload),
        )
    return _apply(session, app, progress, rules.RESUBMIT, applicant, comment, False, ip, now)


def get(session: Session, application_id: int) -> ApplicationView:
    """One application with its steps; raises ApplicationNotFound."""
    app = _load(session, application_id, lock=False)
    return load_views(session, [app])[0]


def inbox(
    session: Session,
    actor: Principal,
    *,
    limit: int = 200,
    business_type: str | None = None,
) -> list[ApplicationView]:
    """Applications waiting for a step ``actor`` may take (待办), in their branch scope, oldest first;
    only those of ``business_type`` when given (filtered before the limit, in SQL).

    Leaves out applications the actor may not act on by the separation of duties.
    """
    steps = [s for s in rules.STEPS if actor.has(rules.STEP_PERMISSIONS[s])]
    if not steps or actor.kind not in ("staff", "system"):
        return []
    took_other_step = exists().where(
        ApplicationStep.application_id == Application.id,
        ApplicationStep.actor_user_id == actor.user_id,
        ApplicationStep.step != Application.awaiting,
    )
    stmt = select(Application).where(
        Application.awaiting.in_(steps),
        Application.applicant_user_id != actor.user_id,
        ~took_other_step,
    )
    if business_type is not None:
        stmt = stmt.where(Application.business_type == business_type)
    if not actor.whole_center:
        if actor.branch_id is None:
            return []
        stmt = stmt.where(Application.branch_id == actor.branch_id)
    apps = session.scalars(stmt.order_by(Application.created_at, Application.id).limit(limit))
    return load_views(session, list(apps))


# --- internals --------------------------------------------------------------------------------
def _apply(
    session: Session,
    app: Application,
    progress: rules.Progress,
    action: str,
    actor: Principal,
    comment: str,
    at_counter: bool,
    ip: str,
    now: datetime | None,
) -> ApplicationView:
    if len(comment) > 500:
        raise InvalidInput("意见不能超过500个字符", "a comment is at most 500 characters")
    new = rules.transition(progress, action, actor.user_id)
    at = _utc(now)
    before = app.status
    app.status = new.status
    app.awaiting = new.awaiting
    app.updated_at = at
    if at_counter:
        app.fully_online = False
    if new.status in rules.TERMINAL:
        app.in_progress_key = None
    if new.status == rules.COMPLETED:
        app.completed_at = at
    _add_step(session, app.id, new.history[-1], actor, at, at_counter, comment)
    session.flush()
    view = load_views(session, [app])[0]
    if new.status == rules.COMPLETED:
        btype = registry.business_type(app.business_type)
        if btype.on_complete is not None:
            btype.on_complete(session, view)
    audit.record(
        session,
        actor=actor,
        action=f"workflow.{action}",
        object_type="workflow_application",
        object_id=app.id,
        detail={
            "business_type": app.business_type,
            "from": before,
            "to": new.status,
            "at_counter": at_counter,
            "comment": comment,
        },
        ip=ip,
        now=at,
    )
    return view


def _add_step(
    session: Session,
    application_id: int,
    taken: rules.Taken,
    actor: Principal,
    at: datetime,
    at_counter: bool,
    comment: str,
) -> None:
    session.add(
        ApplicationStep(
            application_id=application_id,
            step=taken.step,
            action=taken.action,
            actor_user_id=actor.user_id,
            actor_name=actor.display_name[:100],
            at=at,
            at_counter=at_counter,
            comment=comment,
        )
    )


def _load(session: Session, application_id: int, *, lock: bool) -> Application:
    stmt = select(Application).where(Application.id == application_id)
    if lock and not is_sqlite(session):  # SQLite already holds the write lock (BEGIN IMMEDIATE)
        stmt = stmt.with_for_update()
    app = session.scalars(stmt.execution_options(populate_existing=lock)).one_or_none()
    if app is None:
        raise rules.ApplicationNotFound(
            f"申请不存在：{application_id}", f"no such application: {application_id}"
        )
    return app


def _progress(session: Session, app: Application) -> rules.Progress:
    rows = session.execute(
        select(ApplicationStep.step, ApplicationStep.action, ApplicationStep.actor_user_id)
        .where(ApplicationStep.application_id == app.id)
        .order_by(ApplicationStep.id)
    )
    history = tuple(rules.Taken(r.step, r.action, r.actor_user_id) for r in rows)
    return rules.Progress(route_of(app), app.applicant_user_id, app.status, history)


def _replay_of(session: Session, key: str, digest: str) -> int | None:
    row = session.execute(
        select(Application.id, Application.request_hash).where(Application.idempotency_key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise rules.IdempotencyConflict(
            f"幂等键 {key} 已用于另一笔不同的申请",
            f"idempotency key {key} was used for a different application",
        )
    return int(row.id)


def in_progress_key_of(business_type: str, applicant_user_id: int, subject_ref: str | None) -> str:
    """The slot an application holds while in progress: one per applicant, type and subject.

    A person applying for themselves has one application of a type in progress (domain.md §9);
    a counter clerk applying for many people is not held to one at a time. Two channels serving
    the same person at once are kept from overdrawing by the balance lock, not by this slot.
    """
    if subject_ref is None:
        return f"{business_type}:{applicant_user_id}"
    key = f"{business_type}:{applicant_user_id}:{subject_ref}"
    if len(key) > 80:  # the column's width; codes and references are far shorter in practice
        digest = hashlib.sha256(subject_ref.encode()).hexdigest()[:32]
        key = f"{business_type}:{applicant_user_id}:{digest}"
    return key


def _refuse_in_progress(session: Session, btype: BusinessType, in_progress_key: str) -> None:
    pending = session.scalar(
        select(Application.id).where(Application.in_progress_key == in_progress_key)
    )
    if pending is not None:
        raise rules.AlreadyInProgress(
            f"您已有一笔{btype.name_zh}申请（编号 {pending}）正在办理中，办结或撤回后才能再次申请",
            f"you already have a {btype.name_en} application in progress (no. {pending}); "
            "it must be finished or withdrawn first",
        )


def _checked_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"幂等键不能为空且不超过{MAX_KEY_LENGTH}个字符",
            f"idempotency key must be 1-{MAX_KEY_LENGTH} characters",
        )
    return key


def _payload_json(payload: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(payload), ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        raise InvalidInput("申请内容须为JSON数据", "the payload must be JSON data") from None


def _business_day(at: datetime) -> date:
    return at.astimezone(BUSINESS_TZ).date()


def _utc(now: datetime | None) -> datetime:
    return audit.utc(now) if now is not None else datetime.now(UTC)
