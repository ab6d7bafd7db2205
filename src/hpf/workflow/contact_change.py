"""The demo business type 变更联系方式 (contact_change): a new mobile number for the applicant.

Submitted with ``payload = {"phone": "<11-digit mainland mobile number>"}``; on completion (办结)
the applicant's ``user_account.phone`` is set to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from hpf.auth.models import UserAccount
from hpf.workflow import rules
from hpf.workflow.business_types import register_business_type
from hpf.workflow.views import ApplicationView

CODE = "contact_change"


def _validate_contact_change(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"phone": rules.mobile_number(payload.get("phone"))}


def _complete_contact_change(session: Session, application: ApplicationView) -> None:
    session.execute(
        update(UserAccount)
        .where(UserAccount.id == application.applicant_user_id)
        .values(phone=application.payload["phone"])
    )


register_business_type(
    CODE,
    "变更联系方式",
    "change of contact details",
    _complete_contact_change,
    validate=_validate_contact_change,
)
