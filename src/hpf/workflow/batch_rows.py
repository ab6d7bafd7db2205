"""Rows of completed applications and their steps, for set-based batches (批量办结).

A batch that takes many applications through every step at once (the withdrawal and loan
batches) inserts the rows that ``workflow.service`` would leave after submit and each staff
step; this module is the one place that shapes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from hpf.auth.principal import Principal
from hpf.workflow import rules as wf_rules


def completed_application(
    *,
    app_id: int,
    business_type: str,
    route: Iterable[str],
    applicant: Principal,
    subject_ref: str,
    branch_id: int | None,
    channel: str,
    fully_online: bool,
    amount_fen: int,
    payload: str,
    idempotency_key: str,
    request_hash: str,
    created_at: datetime,
    at: datetime,
) -> dict[str, Any]:
    """A ``workflow_application`` row completed (办结) at ``at``."""
    return {
        "id": app_id,
        "business_type": business_type,
        "status": wf_rules.COMPLETED,
        "awaiting": None,
        "route": ",".join(route),
        "applicant_user_id": applicant.user_id,
        "applicant_kind": applicant.kind,
        "subject_ref": subject_ref,
        "branch_id": branch_id,
        "channel": channel,
        "fully_online": fully_online,
        "amount_fen": amount_fen,
        "payload": payload,
        "idempotency_key": idempotency_key,
        "request_hash": request_hash,
        "created_at": created_at,
        "updated_at": at,
        "completed_at": at,
        "in_progress_key": None,
    }


def step_rows(
    app_id: int,
    steps: Iterable[tuple[str, Principal]],
    at: datetime,
    *,
    at_counter: bool,
) -> list[dict[str, Any]]:
    """``workflow_step`` rows: each (step, actor) taken at ``at`` with the action of the same
    name; the staff steps (not submit) are marked as taken at the counter when ``at_counter``."""
    return [
        {
            "application_id": app_id,
            "step": step,
            "action": step,
            "actor_user_id": who.user_id,
            "actor_name": who.display_name[:100],
            "at": at,
            "at_counter": at_counter and step != wf_rules.SUBMIT,
            "comment": "",
        }
        for step, who in steps
    ]
