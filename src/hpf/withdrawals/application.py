"""The workflow business type ``withdrawal`` (提取): its payload and what completion (办结) does.

The payload is ``{"withdrawal_id": <id>}``; the withdrawal row holds the request. Completing the
application approves and posts the withdrawal (:func:`hpf.withdrawals.service.approve`) in the
same transaction; a refusal at that moment (the balance changed) fails the last step as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.workflow.business_types import register_business_type
from hpf.workflow.views import ApplicationView

CODE = "withdrawal"


def _validate(payload: Mapping[str, Any]) -> dict[str, Any]:
    withdrawal_id = payload.get("withdrawal_id")
    if isinstance(withdrawal_id, bool) or not isinstance(withdrawal_id, int) or withdrawal_id <= 0:
        raise InvalidInput(
            "提取申请须经提取业务办理（缺少提取编号）",
            "a withdrawal application is made through the withdrawals service (no withdrawal id)",
        )
    return {"withdrawal_id": withdrawal_id}


def _complete(session: Session, application: ApplicationView) -> None:
    from hpf.withdrawals.service import approve

    last = application.steps[-1]
    approve(
        session,
        int(application.payload["withdrawal_id"]),
        fully_online=application.fully_online,
        approved_by=f"{last.actor_name}#{last.actor_user_id}",
        now=last.at,
    )


register_business_type(CODE, "提取", "withdrawal", _complete, validate=_validate)
