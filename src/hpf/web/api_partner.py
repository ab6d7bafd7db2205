"""The partner-department API (合作部门接口, ``/api/partner/v1``): look-ups for other departments.

Authenticated only by a partner token (``Authorization: Bearer hpfp_…``, see
:mod:`hpf.ops.partners`); each route needs one scope of the partner. A staff session or staff
API token is refused (403 ``partner_only``, audited as a denied access); an unknown token is
401. Each call is recorded with its subject masked, including refusals (scope missing, rate
limit exceeded: 429 with ``Retry-After``) and bad input (400, or 422 for a body that is not
what the route takes). Requests carry the subject in a JSON body, never in the URL, so ID
numbers stay out of access logs; answers mask ID numbers too.

An admitted call (token, scope and rate limit checked) is recorded in the request's own
transaction, which holds the partner's lock from the rate-limit count on
(:func:`hpf.ops.partners.over_limit`), so simultaneous calls never exceed the limit; that is why
a refused body of an admitted call is answered without raising (raising rolls it back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hpf.auth import audit
from hpf.auth import service as auth_service
from hpf.errors import InvalidInput
from hpf.ops import partner_rules, partners
from hpf.ops.partners import PartnerAuth
from hpf.web import contributions as c
from hpf.web.errors import Problem, problem_response
from hpf.web.schemas import AUTH_RESPONSES
from hpf.web.security import SESSION_COOKIE, DbSession
from hpf.workflow.stats import BUSINESS_TZ

logger = logging.getLogger(__name__)

PREFIX = "/api/partner/v1"
ADMITTED = "hpf_partner_call"
"""``request.state`` attribute: (partner, request session) of a call admitted by its route's
dependency, for recording a refused body in the same transaction."""


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _record_apart(
    request: Request, auth: PartnerAuth, route: str, subject: str, result: str, status: int
) -> Callable[[], None]:
    """A call record written in its own transaction (the request's rolls back with the error)."""

    def write() -> None:
        session: Session = request.app.state.session_factory()
        try:
            partners.record_call(
                session,
                auth,
                route=route,
                subject=subject,
                result=result,
                status_code=status,
                ip=_ip(request),
            )
            session.commit()
        except Exception:  # the refusal stands even if the log cannot be written
            session.rollback()
            logger.exception("could not record a refused partner call")
        finally:
            session.close()

    return write


def _deny_staff(request: Request, principal: Any) -> Callable[[], None]:
    def write() -> None:
        session: Session = request.app.state.session_factory()
        try:
            audit.record(
                session,
                actor=principal,
                action="permission.denied",
                object_type="route",
                object_id=request.url.path[:60],
                detail={"method": request.method, "needs": ["partner token"]},
                ip=_ip(request),
            )
            session.commit()
        except Exception:  # the refusal stands even if the trail cannot be written
            session.rollback()
            logger.exception("could not audit a refused partner-route access")
        finally:
            session.close()

    return write


def _admit(request: Request, db: Session, scope: str) -> PartnerAuth:
    """Admit a call: a live partner token whose partner holds ``scope`` and is under its rate
    limit (the partner stays locked until ``db``'s transaction ends); else raise the refusal."""
    route = partner_rules.SCOPES[scope].route
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if header and (scheme.lower() != "bearer" or not token):
        raise Problem(401, "invalid_token", "无效的访问令牌。", "Invalid API token.")
    if token:
        auth = partners.resolve_token(db, token)
        if auth is None:
            staff = auth_service.resolve_api_token(db, token)
            if staff is not None:
                raise Problem(
                    403,
                    "partner_only",
                    "此接口仅限合作部门令牌调用。",
                    "This API is for partner tokens only.",
                    after=_deny_staff(request, staff),
                )
            raise Problem(
                401, "invalid_token", "访问令牌无效或已撤销。", "API token invalid or revoked."
            )
        if scope not in auth.scopes:
            raise Problem(
                403,
                "scope_missing",
                f"合作部门未获授权：{partner_rules.SCOPES[scope].name_zh}",
                f"Partner not authorised for {scope}",
                after=_record_apart(request, auth, route, "", "denied", 403),
            )
        if partners.over_limit(db, auth.partner_id, c.policy_of(request)):
            raise Problem(
                429,
                "rate_limited",
                "调用过于频繁，请稍后再试。",
                "Too many calls; try again later.",
                headers={"Retry-After": "60"},
                after=_record_apart(request, auth, route, "", "rate_limited", 429),
            )
        return auth
    cookie = request.cookies.get(SESSION_COOKIE)
    resolved = auth_service.resolve_session(db, cookie) if cookie else None
    if resolved is not None:
        raise Problem(
            403,
            "partner_only",
            "此接口仅限合作部门令牌调用。",
            "This API is for partner tokens only.",
            after=_deny_staff(request, resolved[0]),
        )
    raise Problem(401)


def require_partner(scope: str) -> Callable[..., PartnerAuth]:
    """A dependency admitting a live partner token whose partner holds ``scope``.

    A plain function, run in the thread pool: on PostgreSQL it may wait for the partner's lock,
    which must not block the event loop (the holder's commit needs it).
    """

    def dependency(request: Request, db: DbSession) -> PartnerAuth:
        auth = _admit(request, db, scope)
        setattr(request.state, ADMITTED, (auth, db))
        return auth

    dependency.hpf_permissions = (f"partner:{scope}",)  # type: ignore[attr-defined]
    dependency.__name__ = f"require_partner_{scope}"
    return dependency


class PartnerRoute(APIRoute):
    """A partner route whose refused body (422) is a recorded call like any other.

    FastAPI checks the body after the dependencies: an admitted call's refusal is recorded in
    its request transaction and answered without raising, so the record commits with it. A
    body that is not even JSON is refused before the dependencies run: the call is then
    admitted here, in a transaction of its own, and refused like any other call would be.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        route = self.path.removeprefix(PREFIX)
        scope = next(s.code for s in partner_rules.SCOPES.values() if s.route == route)

        async def recorded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                admitted = getattr(request.state, ADMITTED, None)
                if admitted is None:
                    await run_in_threadpool(_record_unparsed, request, scope)
                else:
                    auth, db = admitted
                    await run_in_threadpool(_record_refused_body, request, db, auth, route)
                answer = request.app.exception_handlers[RequestValidationError]
                response: Response = await answer(request, exc)
                return response

        return recorded


def _record_refused_body(request: Request, db: Session, auth: PartnerAuth, route: str) -> None:
    partners.record_call(
        db, auth, route=route, subject="", result="invalid", status_code=422, ip=_ip(request)
    )


def _record_unparsed(request: Request, scope: str) -> None:
    """A body refused before the dependencies ran: admit the call (its refusal, if any, is the
    answer: 401, 403 or 429) and record it as invalid."""
    session: Session = request.app.state.session_factory()
    try:
        auth = _admit(request, session, scope)
        _record_refused_body(request, session, auth, partner_rules.SCOPES[scope].route)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


router = APIRouter(
    prefix=PREFIX,
    tags=["partner api v1"],
    responses=AUTH_RESPONSES,
    route_class=PartnerRoute,
)


class PersonQuery(BaseModel):
    id_number: str = Field(min_length=1, max_length=18, description="居民身份证号码 (18 位)")


class LoanQuery(BaseModel):
    loan_ref: str = Field(min_length=1, max_length=30, description="贷款账号或借款合同编号")
    id_number: str = Field(min_length=1, max_length=18, description="借款人或共同借款人身份证号")


class EmployerQuery(BaseModel):
    uscc: str = Field(min_length=1, max_length=18, description="统一社会信用代码")


def _answer(
    request: Request,
    db: Session,
    auth: PartnerAuth,
    scope: str,
    subject: str,
    look: Callable[[], dict[str, Any]],
) -> dict[str, Any] | Response:
    route = partner_rules.SCOPES[scope].route
    try:
        data = look()
    except InvalidInput as exc:
        # answered, not raised: the record commits with the request's transaction (module doc)
        partners.record_call(
            db,
            auth,
            route=route,
            subject=subject,
            result="invalid",
            status_code=400,
            ip=_ip(request),
        )
        return problem_response(request, 400, exc.code, exc.message_zh, exc.message_en)
    result = "found" if data.get("found") else "not_found"
    call = partners.record_call(
        db, auth, route=route, subject=subject, result=result, status_code=200, ip=_ip(request)
    )
    return {"call_id": call.id, **data}


def _today() -> Any:
    return datetime.now(BUSINESS_TZ).date()


@router.post(
    "/depositor-status",
    response_model=dict[str, Any],
    summary="Depositor status 职工缴存及贷款状态",
)
def depositor_status(
    request: Request,
    db: DbSession,
    auth: Annotated[PartnerAuth, Depends(require_partner("depositor_status"))],
    body: PersonQuery,
) -> dict[str, Any] | Response:
    """Whether the person has an account, its status and last month paid, and whether an HPF
    loan is outstanding (borrower or co-borrower). The ID number is answered masked."""
    subject = partner_rules.masked_subject("id_number", body.id_number)
    return _answer(
        request,
        db,
        auth,
        "depositor_status",
        subject,
        lambda: partners.depositor_status(db, body.id_number, _today()),
    )


@router.post(
    "/loan-certificate",
    response_model=dict[str, Any],
    summary="Loan certificate check 贷款（结清）证明核验",
)
def loan_certificate(
    request: Request,
    db: DbSession,
    auth: Annotated[PartnerAuth, Depends(require_partner("loan_certificate"))],
    body: LoanQuery,
) -> dict[str, Any] | Response:
    """Whether the loan exists with this person as a party, and whether it is outstanding or
    settled (and on which day). No amounts."""
    subject = partner_rules.masked_subject("id_number", body.id_number)
    return _answer(
        request,
        db,
        auth,
        "loan_certificate",
        subject,
        lambda: partners.loan_certificate(db, body.loan_ref, body.id_number),
    )


@router.post(
    "/employer-status",
    response_model=dict[str, Any],
    summary="Employer payment status 单位缴存状态",
)
def employer_status(
    request: Request,
    db: DbSession,
    auth: Annotated[PartnerAuth, Depends(require_partner("employer_status"))],
    body: EmployerQuery,
) -> dict[str, Any] | Response:
    """An employer's account status, last month paid and months in arrears, by 统一社会信用代码."""
    subject = partner_rules.masked_subject("uscc", body.uscc)
    return _answer(
        request,
        db,
        auth,
        "employer_status",
        subject,
        lambda: partners.employer_status(db, body.uscc, _today(), c.policy_of(request)),
    )
