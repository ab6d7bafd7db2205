"""Contribution forms of the staff console (柜面·归集经办 and 财务): the writes.

Clerks (``deposit.manage``):
- ``/console/employers/new``: open an employer (开户); the credit code is checked (check
  character) and a bad one is shown beside its field; nothing is written;
- ``/console/employers/{ref}/rates`` (调整比例) and ``…/close`` (销户), forms on the employer page;
- ``/console/depositors/new``: open a depositor with an employer, or unseal/transfer the person's
  existing account (same ID number); the ID number is checked and its birth date and sex shown
  (live via ``/console/depositors/id-check``, and again when the form comes back);
- on the depositor page: base (基数), seal (封存), join a new employer (启封/转移), merge a
  duplicate (合并), closure with closure interest (销户), transfer in/out (外部转入/转出).

Finance (``deposit.post``): ``/console/funds``: funds received (到账) for an employer, refunds of
overpayments (退款), and posting of confirmed lists (入账).

Every form carries the session's CSRF token and an idempotency key generated when the form was
rendered; submitting it twice does the work once (see ``hpf.web.contribution_actions``). Staff of
another branch get 404, as for the reads. A refusal writes nothing and comes back as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.principal import Principal
from hpf.errors import DomainError
from hpf.identifiers import parse_id_number
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web.i18n import _ as N_
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render

router = APIRouter(prefix="/console", tags=["pages: staff console"])

MANAGE = "deposit.manage"
POST = "deposit.post"
Ref = Annotated[str, Path(min_length=1, max_length=20)]
Key = Annotated[str, Form(pattern=actions.KEY_PATTERN, description="Idempotency key")]
Text = Annotated[str, Form(max_length=100)]
Amount = Annotated[str, Form(max_length=30, description="Yuan, e.g. 1234.56")]
REPLAYED = N_("This form had already been submitted; nothing was done again.")


def _lang(request: Request) -> str:
    return str(getattr(request.state, "lang", "zh"))


def _act(request: Request, target: str, success: str, run: Callable[[], actions.Done]) -> Response:
    """Run a write and go back to ``target`` with its outcome (or its refusal) as a message."""
    response = RedirectResponse(target, status_code=303)
    try:
        done = run()
    except DomainError as exc:
        flash(response, exc.message(_lang(request)), "danger")
        return response
    flash(response, REPLAYED if done.replayed else success, "info" if done.replayed else "success")
    return response


def _errors_of(request: Request, exc: DomainError) -> dict[str, str]:
    field = exc.field if isinstance(exc, actions.FieldInvalid) else ""
    return {field: exc.message(_lang(request))}


# --- employers --------------------------------------------------------------------------------


def _employer_form(
    request: Request,
    db: DbSession,
    principal: Principal,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "console/employer_new.html",
        {
            "values": values,
            "errors": errors,
            "branches": actions.branch_choices(db, principal),
            "employer_types": actions.employer_type_choices(),
        },
        status_code=status_code,
    )


@router.get(
    "/employers/new", response_class=HTMLResponse, summary="Open an employer (form) 单位开户"
)
def employer_new(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
) -> Response:
    values = {
        "employer_rate": "12",
        "employee_rate": "12",
        "pay_day": "10",
        "first_month": f"{date.today():%Y-%m}",
    }
    return _employer_form(request, db, principal, values, {})


@router.post("/employers/new", response_class=HTMLResponse, summary="Open an employer 单位开户")
def employer_open(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    uscc: Annotated[str, Form(max_length=30)],
    name: Annotated[str, Form(max_length=200)],
    employer_rate: Annotated[str, Form(max_length=10)],
    employee_rate: Annotated[str, Form(max_length=10)],
    pay_day: Annotated[int, Form(ge=1, le=28)] = 10,
    first_month: Annotated[str, Form(max_length=7)] = "",
    branch_code: Annotated[str, Form(max_length=20)] = "",
    contact_name: Annotated[str, Form(max_length=50)] = "",
    contact_phone: Annotated[str, Form(max_length=20)] = "",
    employer_type: Annotated[str, Form(max_length=30)] = "other",
) -> Response:
    values = {
        "employer_type": employer_type,
        "uscc": uscc,
        "name": name,
        "employer_rate": employer_rate,
        "employee_rate": employee_rate,
        "pay_day": str(pay_day),
        "first_month": first_month,
        "branch_code": branch_code,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
    }
    try:
        month = _month_field("first_month", first_month)
        done = actions.open_employer(
            db,
            principal,
            c.policy_of(request),
            key=idempotency_key,
            uscc=uscc,
            name=name,
            branch_code=branch_code,
            employer_rate_pct=actions.check_rate("employer_rate", employer_rate),
            employee_rate_pct=actions.check_rate("employee_rate", employee_rate),
            pay_day=pay_day,
            first_month=month,
            contact_name=contact_name,
            contact_phone=contact_phone,
            employer_type=employer_type,
        )
    except DomainError as exc:
        return _employer_form(request, db, principal, values, _errors_of(request, exc), 422)
    ref = done.result["employer_ref"]
    response = RedirectResponse(f"/console/employers/{ref}", status_code=303)
    flash(response, REPLAYED if done.replayed else N_("The employer account has been opened."))
    return response


def _month_field(field: str, text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise actions.FieldInvalid(field, "月份格式应为YYYY-MM", "a month is YYYY-MM") from None


@router.post("/employers/{employer_ref}/rates", summary="Change the rates 调整缴存比例")
def employer_rates(
    request: Request,
    employer_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    employer_rate: Annotated[str, Form(max_length=10)],
    employee_rate: Annotated[str, Form(max_length=10)],
) -> Response:
    employer = c.get_employer_visible(db, principal, employer_ref)
    return _act(
        request,
        f"/console/employers/{employer.employer_ref}",
        N_("The rates have been changed."),
        lambda: actions.change_rates(
            db,
            principal,
            c.policy_of(request),
            employer,
            key=idempotency_key,
            employer_rate_pct=actions.check_rate("employer_rate", employer_rate),
            employee_rate_pct=actions.check_rate("employee_rate", employee_rate),
        ),
    )


@router.post("/employers/{employer_ref}/close", summary="Close the employer account 单位销户")
def employer_close(
    request: Request,
    employer_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
) -> Response:
    employer = c.get_employer_visible(db, principal, employer_ref)
    return _act(
        request,
        f"/console/employers/{employer.employer_ref}",
        N_("The employer account has been closed."),
        lambda: actions.close_employer(db, principal, employer, key=idempotency_key),
    )


# --- depositors -------------------------------------------------------------------------------


def _derived(id_number: str) -> dict[str, str] | None:
    """Birth date and sex decoded from a valid ID number; None when it is not valid."""
    try:
        person = parse_id_number(id_number)
    except DomainError:
        return None
    return {"birth_date": person.birth_date.isoformat(), "sex": person.sex}


def _depositor_form(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "console/depositor_new.html",
        {
            "values": values,
            "errors": errors,
            "derived": _derived(values.get("id_number", "")),
            "id_error": "",
        },
        status_code=status_code,
    )


@router.get(
    "/depositors/new", response_class=HTMLResponse, summary="Open a depositor (form) 个人开户"
)
def depositor_new(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    employer: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _depositor_form(request, {"employer_ref": c.clean_query(employer)}, {})


@router.get(
    "/depositors/id-check",
    response_class=HTMLResponse,
    summary="Birth date and sex of an ID number 身份证号校验",
)
def id_check(
    request: Request,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    id_number: Annotated[str, Query(max_length=30)] = "",
) -> Response:
    """The fragment beside the ID number field: the decoded birth date and sex, or the error."""
    error = ""
    derived = None
    if id_number.strip():
        try:
            person = parse_id_number(id_number)
            derived = {"birth_date": person.birth_date.isoformat(), "sex": person.sex}
        except DomainError as exc:
            error = exc.message(_lang(request))
    return render(request, "console/_id_check.html", {"derived": derived, "id_error": error})


@router.post("/depositors/new", response_class=HTMLResponse, summary="Open a depositor 个人开户")
def depositor_open(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    id_number: Annotated[str, Form(max_length=30)],
    name: Annotated[str, Form(max_length=50)],
    employer_ref: Annotated[str, Form(max_length=20)],
    base: Amount,
    phone: Annotated[str, Form(max_length=20)] = "",
    bank_card: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    values = {
        "id_number": id_number,
        "name": name,
        "employer_ref": employer_ref,
        "base": base,
        "phone": phone,
        "bank_card": bank_card,
    }
    try:
        done = actions.open_depositor(
            db,
            principal,
            c.policy_of(request),
            key=idempotency_key,
            id_number=id_number,
            name=name,
            employer_ref=employer_ref,
            base_fen=actions.check_amount("base", base),
            phone=phone,
            bank_card=bank_card,
        )
    except DomainError as exc:
        status = 404 if exc.code == "employer_not_found" else 422
        return _depositor_form(request, values, _errors_of(request, exc), status)
    ref = done.result["depositor_ref"]
    response = RedirectResponse(f"/console/depositors/{ref}", status_code=303)
    if done.replayed:
        message = REPLAYED
    elif done.result.get("existing"):
        message = N_("The person's existing account has joined the employer.")
    else:
        message = N_("The depositor account has been opened.")
    flash(response, message)
    return response


def _depositor_target(depositor_ref: str) -> str:
    return f"/console/depositors/{depositor_ref}#actions"


@router.post("/depositors/{depositor_ref}/base", summary="Set the base 基数调整")
def depositor_base(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    base: Amount,
) -> Response:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    return _act(
        request,
        _depositor_target(depositor.depositor_ref),
        N_("The base has been changed."),
        lambda: actions.set_base(
            db,
            principal,
            c.policy_of(request),
            depositor,
            key=idempotency_key,
            base_fen=actions.check_amount("base", base),
        ),
    )


@router.post("/depositors/{depositor_ref}/freeze", summary="Seal the account 封存")
def depositor_freeze(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
) -> Response:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    return _act(
        request,
        _depositor_target(depositor.depositor_ref),
        N_("The account has been sealed."),
        lambda: actions.freeze(db, principal, depositor, key=idempotency_key),
    )


@router.post("/depositors/{depositor_ref}/join", summary="Join a new employer (unseal) 启封/转移")
def depositor_join(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    employer_ref: Annotated[str, Form(max_length=20)],
    base: Amount,
) -> Response:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    return _act(
        request,
        _depositor_target(depositor.depositor_ref),
        N_("The account has joined the new employer."),
        lambda: actions.join_employer(
            db,
            principal,
            c.policy_of(request),
            depositor,
            key=idempotency_key,
            employer_ref=employer_ref,
            base_fen=actions.check_amount("base", base),
        ),
    )


@router.post("/depositors/{depositor_ref}/merge", summary="Merge into another account 合并")
def depositor_merge(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    keep_ref: Annotated[str, Form(max_length=20)],
) -> Response:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    return _act(
        request,
        _depositor_target(depositor.depositor_ref),
        N_("The duplicate account has been merged."),
        lambda: actions.merge(
            db, principal, c.policy_of(request), depositor, key=idempotency_key, keep_ref=keep_ref
        ),
    )


@router.post("/depositors/{depositor_ref}/close", summary="Close with closure interest 销户")
def depositor_close(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    reason: Text = "",
) -> Response:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    return _act(
        request,
        _depositor_target(depositor.depositor_ref),
        N_("The account has been closed with its closure interest."),
        lambda: actions.close_depositor(
            db, principal, c.policy_of(request), depositor, key=idempotency_key, reason=reason
        ),
    )


@router.post(
    "/depositors/{depositor_ref}/transfer-in", summary="Transfer in from another city 外部转入"
)
def depositor_transfer_in(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    amount: Amount,
    from_city: Annotated[str, Form(max_length=actions.CITY_MAX)],
) -> Response:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    return _act(
        request,
        _depositor_target(depositor.depositor_ref),
        N_("The transfer in has been credited."),
        lambda: actions.transfer_in(
            db,
            principal,
            depositor,
            key=idempotency_key,
            amount_fen=actions.check_amount("amount", amount),
            from_city=from_city,
        ),
    )


@router.post(
    "/depositors/{depositor_ref}/transfer-out", summary="Transfer out to another city 外部转出"
)
def depositor_transfer_out(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: Key,
    to_city: Annotated[str, Form(max_length=actions.CITY_MAX)],
) -> Response:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    return _act(
        request,
        _depositor_target(depositor.depositor_ref),
        N_("The account has been transferred out and closed."),
        lambda: actions.transfer_out(
            db, principal, c.policy_of(request), depositor, key=idempotency_key, to_city=to_city
        ),
    )


# --- finance ----------------------------------------------------------------------------------


@router.get("/funds", response_class=HTMLResponse, summary="Funds received and posting 到账与入账")
def funds_page(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(POST))],
) -> Response:
    return render(
        request,
        "console/funds.html",
        {
            "lists": actions.confirmed_lists(db, principal),
            "kind_labels": c.REMITTANCE_KIND_LABELS,
        },
    )


@router.post("/funds/received", summary="Record funds received 单位资金到账")
def funds_received(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(POST))],
    idempotency_key: Key,
    employer_ref: Annotated[str, Form(max_length=20)],
    amount: Amount,
    memo: Text = "",
) -> Response:
    employer = c.get_employer_visible(db, principal, employer_ref.strip())
    return _act(
        request,
        "/console/funds",
        N_("The funds received have been recorded."),
        lambda: actions.receive_funds(
            db,
            principal,
            employer,
            key=idempotency_key,
            amount_fen=actions.check_amount("amount", amount),
            memo=memo,
        ),
    )


@router.post("/funds/refund", summary="Refund an overpayment 多缴退款")
def funds_refund(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(POST))],
    idempotency_key: Key,
    employer_ref: Annotated[str, Form(max_length=20)],
    amount: Amount,
) -> Response:
    employer = c.get_employer_visible(db, principal, employer_ref.strip())
    return _act(
        request,
        "/console/funds",
        N_("The overpayment has been refunded."),
        lambda: actions.refund_overpayment(
            db,
            principal,
            employer,
            key=idempotency_key,
            amount_fen=actions.check_amount("amount", amount),
        ),
    )


@router.post("/remittances/post", summary="Post confirmed lists 清册入账")
def remittances_post(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(POST))],
    idempotency_key: Key,
    remittance_id: Annotated[list[int], Form()],
) -> Response:
    if len(remittance_id) > 200 or any(not 1 <= i <= 2**62 for i in remittance_id):
        raise c.remittance_not_found(0)
    lists = actions.visible_remittances(db, principal, remittance_id)
    return _act(
        request,
        "/console/funds",
        N_("The lists have been posted."),
        lambda: actions.post_lists(db, principal, lists, key=idempotency_key),
    )
