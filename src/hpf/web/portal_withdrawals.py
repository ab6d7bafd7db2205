"""Self-service withdrawals in the depositor portal (个人网厅·提取, channel ``online_hall``).

- ``/me/withdrawals``: the person's withdrawals (refused ones too) and the way to apply;
- ``/me/withdrawals/new?type=``: choose a type, see its documents and limits from the policy,
  enter the amount and the facts; POST ``/me/withdrawals`` runs the automatic check at once;
- ``/me/withdrawals/{id}``: the outcome — a refusal lists every reason in plain language with what
  to do; an accepted application is followed under "my applications".

Only the signed-in depositor's own account (``depositor.self``); another person's withdrawal
answers 404. Each form carries CSRF and an idempotency key generated when it was rendered.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.principal import Principal
from hpf.errors import DomainError
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web import withdrawals as w
from hpf.web.application_pages import REPLAYED, field_errors
from hpf.web.application_pages import lang_of as lang_of
from hpf.web.console import STATUS_LABELS as APP_STATUS_LABELS
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render

router = APIRouter(prefix="/me", tags=["pages: portals"])

DEPOSITOR = "depositor.self"
Key = Annotated[str, Form(pattern=actions.KEY_PATTERN, description="Idempotency key")]
TypeCode = Annotated[str, Query(max_length=20)]
FormText = Annotated[str, Form(max_length=60)]


def withdrawal_form(
    amount: FormText = "",
    event_date: FormText = "",
    cost: FormText = "",
    contract_ref: FormText = "",
    rent_months: FormText = "",
    loan_ref: FormText = "",
    loan_borrower_id: FormText = "",
    loan_outstanding: FormText = "",
    spouse_id: FormText = "",
    heir_id: FormText = "",
    heir_name: FormText = "",
    heir_card: FormText = "",
    owns_home: FormText = "",
) -> dict[str, str]:
    """The apply form's facts as typed (the portal's and the counter's)."""
    return dict(locals())


WithdrawalForm = Annotated[dict[str, str], Depends(withdrawal_form)]


def form_page(
    request: Request,
    db: DbSession,
    *,
    template: str,
    code: str,
    values: dict[str, Any],
    errors: dict[str, str],
    form_action: str,
    choose_action: str,
    counter: bool,
    balance: int | None,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The apply form (shared with the counter) for type ``code`` (none chosen: only the chooser)."""
    policy = c.policy_of(request)
    day = w.today()
    chosen = w.type_view(policy, day, code) if code else None
    if chosen is not None and not chosen.enabled:
        chosen = None
    return render(
        request,
        template,
        {
            "types": w.type_views(policy, day),
            "chosen": chosen,
            "values": values,
            "errors": errors,
            "form_action": form_action,
            "choose_action": choose_action,
            "counter": counter,
            "balance": balance,
            **(extra or {}),
        },
        status_code=status_code,
    )


def form_values(
    wtype: str, documents: list[str], fields: dict[str, str], **more: str
) -> dict[str, Any]:
    return {"type": wtype, "documents": documents, **fields, **more}


@router.get("/withdrawals", response_class=HTMLResponse, summary="My withdrawals 我的提取")
def my_withdrawals(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
) -> Response:
    return render(
        request,
        "portal/withdrawals.html",
        {"rows": w.list_own(db, principal), "status_labels": w.STATUS_LABELS},
    )


@router.get(
    "/withdrawals/new", response_class=HTMLResponse, summary="Apply for a withdrawal 提取申请"
)
def new_withdrawal(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    type: TypeCode = "",
) -> Response:
    depositor = w.own_depositor(db, principal)
    return form_page(
        request,
        db,
        template="portal/withdrawal_new.html",
        code=type,
        values={"documents": []},
        errors={},
        form_action="/me/withdrawals",
        choose_action="/me/withdrawals/new",
        counter=False,
        balance=w.depositor_balance(db, depositor),
    )


@router.post("/withdrawals", response_class=HTMLResponse, summary="Apply 提交提取申请")
def apply(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    idempotency_key: Key,
    type: Annotated[str, Form(max_length=20)],
    fields: WithdrawalForm,
    documents: Annotated[list[str], Form(max_length=60)] = [],  # noqa: B006
) -> Response:
    depositor = w.own_depositor(db, principal)
    docs = documents[:30]
    try:
        application = w.application_from(type, fields, docs)
        done = w.apply_for(
            db,
            principal,
            c.policy_of(request),
            depositor=depositor,
            application=application,
            channel="online_hall",
            key=idempotency_key,
        )
    except DomainError as exc:
        return form_page(
            request,
            db,
            template="portal/withdrawal_new.html",
            code=type,
            values=form_values(type, docs, fields),
            errors=field_errors(request, exc),
            form_action="/me/withdrawals",
            choose_action="/me/withdrawals/new",
            counter=False,
            balance=w.depositor_balance(db, depositor),
            status_code=422,
        )
    response = RedirectResponse(f"/me/withdrawals/{done.result['withdrawal_id']}", status_code=303)
    if done.replayed:
        flash(response, REPLAYED, "info")
    return response


@router.get(
    "/withdrawals/{withdrawal_id}", response_class=HTMLResponse, summary="One withdrawal 提取详情"
)
def my_withdrawal(
    request: Request,
    withdrawal_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
) -> Response:
    row = w.get_visible(db, principal, withdrawal_id)
    return render(
        request,
        "portal/withdrawal.html",
        {
            "w": w.detail(db, principal, row),
            "status_labels": w.STATUS_LABELS,
            "app_status_labels": APP_STATUS_LABELS,
        },
    )
