"""The workflow business type ``loan`` (贷款): its payload and what completion (办结) does.

The payload is ``{"loan_id": <id>}``; the loan row holds the request. Completing the application
signs the contract (:func:`hpf.loans.service.approve`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.workflow.business_types import register_business_type
from hpf.workflow.views import ApplicationView

CODE = "loan"


def _validate(payload: Mapping[str, Any]) -> dict[str, Any]:
    loan_id = payload.get("loan_id")
    if isinstance(loan_id, bool) or not isinstance(loan_id, int) or loan_id <= 0:
        raise InvalidInput(
            "贷款申请须经贷款业务办理（缺少贷款编号）",
            "a loan application is made through the loans service (no loan id)",
        )
    return {"loan_id": loan_id}


def _complete(session: Session, application: ApplicationView) -> None:
    from hpf.loans.service import approve

    last = application.steps[-1]
    approve(
        session,
        int(application.payload["loan_id"]),
        approved_by=f"{last.actor_name}#{last.actor_user_id}",
        now=last.at,
    )


register_business_type(CODE, "贷款", "loan", _complete, validate=_validate)
