"""REST API v1 for performance goals (绩效目标): ``GET /api/v1/goals/{year}/report``
(``dashboard.read``) — the self-evaluation (绩效自评) the leadership cockpit shows, the same data
``hpf goals report --year Y --json`` prints (as of today, or December 31 of a past year; or
``?as_of=``). No goal table for the year: 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from hpf.auth.principal import Principal
from hpf.web import cockpit as ck
from hpf.web import contributions as c
from hpf.web.schemas import AUTH_RESPONSES
from hpf.web.security import DbSession, require

router = APIRouter(prefix="/api/v1", tags=["api v1: goals"], responses=AUTH_RESPONSES)


@router.get("/goals/{year}/report", summary="Performance self-evaluation 绩效自评")
def goals_report(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("dashboard.read"))],
    year: Annotated[int, Path(ge=1991, le=2100)],
    as_of: Annotated[date | None, Query(ge=date(1991, 1, 1), le=date(2100, 12, 31))] = None,
) -> dict[str, Any]:
    """Each indicator's target, actual, completion, projection, status, evidence and history."""
    result: dict[str, Any] = ck.evaluate(db, year, c.policy_of(request), as_of)
    return result
