"""Public pages (公开页面): home, language switch and the calculators; no sign-in needed.

The calculator pages are GET forms: with the ``HX-Request`` header (htmx) they answer only the
result fragment, otherwise the whole page with the result under the form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.errors import DomainError, InvalidInput
from hpf.money import format_yuan, parse_amount
from hpf.web.calculators import deposit_interest, loan_limit_trial, loan_schedule
from hpf.web.contributions import policy_of
from hpf.web.i18n import LANG_COOKIE, normalise_lang
from hpf.web.i18n import _ as N_
from hpf.web.templating import render

router = APIRouter(tags=["pages: public"])

DOORS = (
    ("/console", N_("Staff console"), N_("Counter and back-office work of the center's staff.")),
    ("/employer", N_("Employer online hall"), N_("Online business of employers (units).")),
    ("/me", N_("Depositor online hall"), N_("Online business of depositors (employees).")),
)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to; anything that could leave the site becomes ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@router.get("/", response_class=HTMLResponse, summary="Home page 首页")
def home(request: Request) -> Response:
    return render(request, "home.html", {"doors": DOORS})


@router.get("/lang/{code}", summary="Switch the interface language 切换语言")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    lang = normalise_lang(code)
    target = safe_next(next or _referer_path(request))
    response = RedirectResponse(target, status_code=303)
    if lang is not None:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def _referer_path(request: Request) -> str | None:
    referer = request.headers.get("referer", "")
    host = request.headers.get("host", "")
    for scheme in ("http://", "https://"):
        prefix = scheme + host
        if host and referer.startswith(prefix):
            return referer[len(prefix) :] or "/"
    return None


@router.get("/calc", summary="Calculators 计算器")
def calculators() -> Response:
    return RedirectResponse("/calc/loan", status_code=303)


@router.get("/calc/loan", response_class=HTMLResponse, summary="Loan calculator 贷款计算器")
def loan_page(
    request: Request,
    principal: Annotated[str | None, Query(max_length=40)] = None,
    rate: Annotated[str | None, Query(max_length=40)] = None,
    months: Annotated[str | None, Query(max_length=10)] = None,
    first_due: Annotated[str | None, Query(max_length=40)] = None,
    method: Annotated[str, Query(max_length=20)] = "annuity",
) -> Response:
    form = {
        "principal": principal if principal is not None else "1000000",
        "rate": rate if rate is not None else "3.1",
        "months": months if months is not None else "360",
        "first_due": first_due or "2024-02-20",
        "method": method,
    }
    result: dict[str, object] | None = None
    error: str | None = None
    if principal is not None:
        try:
            months_n = _int_or_fail(form["months"])
            data = loan_schedule(
                form["principal"], form["rate"], months_n, form["first_due"], method
            )
            paid = sum(parse_amount(row["payment"]) for row in data["schedule"])
            result = {**data, "total_paid": format_yuan(paid)}
        except DomainError as exc:
            error = exc.message(getattr(request.state, "lang", "zh"))
    return _calc_response(request, "calc_loan", {"form": form, "result": result, "error": error})


CONSTRAINT_LABELS = {
    "loan_to_value": N_("Loan-to-value"),
    "balance": N_("Balance multiple"),
    "cap": N_("Loan cap"),
    "repayment_capacity": N_("Repayment capacity"),
}
LIMIT_TEXT_FIELDS = (
    "balance",
    "price",
    "area",
    "sex",
    "monthly_contribution",
    "monthly_income",
    "employer_rate",
    "employee_rate",
    "spouse_balance",
    "spouse_monthly_contribution",
    "debt",
    "date",
)
LIMIT_INT_FIELDS = (
    "contribution_months",
    "total_contribution_months",
    "age",
    "home",
    "term",
    "spouse_contribution_months",
)
LIMIT_DEFAULTS = {
    "balance": "50000",
    "contribution_months": "24",
    "price": "1000000",
    "area": "89.5",
    "age": "35",
    "sex": "male",
    "monthly_contribution": "2400",
    "employer_rate": "12",
    "employee_rate": "12",
    "home": "1",
    "debt": "0",
}
Text40 = Annotated[str | None, Query(max_length=40)]


def limit_context(request: Request, values: dict[str, str]) -> dict[str, object]:
    """Run the loan limit trial over form ``values`` (text; empty = not given)."""
    result: dict[str, object] | None = None
    error: str | None = None
    try:
        given = {k: v.strip() for k, v in values.items() if v is not None and v.strip()}
        kwargs: dict[str, object] = {
            name: given[name] for name in LIMIT_TEXT_FIELDS if name in given and name != "date"
        }
        for name in LIMIT_INT_FIELDS:
            if name in given:
                kwargs[name] = _int_or_fail(given[name])
        for required in ("balance", "price", "area", "sex", "contribution_months", "age"):
            if required not in kwargs:
                raise InvalidInput(f"请填写 {required}", f"{required} is required")
        result = loan_limit_trial(policy_of(request), on=given.get("date"), **kwargs)  # type: ignore[arg-type]
    except DomainError as exc:
        error = exc.message(getattr(request.state, "lang", "zh"))
    return {"result": result, "error": error, "constraint_labels": CONSTRAINT_LABELS}


@router.get(
    "/calc/loan-limit", response_class=HTMLResponse, summary="Loan limit trial 可贷额度试算"
)
def loan_limit_page(
    request: Request,
    balance: Text40 = None,
    contribution_months: Text40 = None,
    total_contribution_months: Text40 = None,
    price: Text40 = None,
    area: Text40 = None,
    age: Text40 = None,
    sex: Text40 = None,
    monthly_contribution: Text40 = None,
    monthly_income: Text40 = None,
    employer_rate: Text40 = None,
    employee_rate: Text40 = None,
    spouse_balance: Text40 = None,
    spouse_contribution_months: Text40 = None,
    spouse_monthly_contribution: Text40 = None,
    debt: Text40 = None,
    home: Text40 = None,
    term: Text40 = None,
    date: Text40 = None,
) -> Response:
    sent = {
        name: value
        for name, value in locals().items()
        if name in LIMIT_TEXT_FIELDS + LIMIT_INT_FIELDS
    }
    submitted = balance is not None
    form = {
        name: (sent.get(name) if submitted else LIMIT_DEFAULTS.get(name)) or ""
        for name in LIMIT_TEXT_FIELDS + LIMIT_INT_FIELDS
    }
    context: dict[str, object] = {"form": form, "result": None, "error": None}
    if submitted:
        context.update(limit_context(request, form))
    context["constraint_labels"] = CONSTRAINT_LABELS
    return _calc_response(request, "calc_loan_limit", context)


@router.get(
    "/calc/interest", response_class=HTMLResponse, summary="Deposit interest calculator 结息计算器"
)
def interest_page(
    request: Request,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    opening: Annotated[str, Query(max_length=40)] = "10000",
    rate: Annotated[str, Query(max_length=40)] = "1.5",
    txns: Annotated[str, Query(max_length=20000)] = "",
) -> Response:
    form = {
        "start": start or "2023-07-01",
        "end": end or "2024-06-30",
        "opening": opening,
        "rate": rate,
        "txns": txns,
    }
    result: dict[str, str] | None = None
    error: str | None = None
    if start is not None:
        try:
            lines = [line.strip() for line in txns.splitlines() if line.strip()]
            result = deposit_interest(form["start"], form["end"], opening, lines, rate)
        except DomainError as exc:
            error = exc.message(getattr(request.state, "lang", "zh"))
    return _calc_response(
        request, "calc_interest", {"form": form, "result": result, "error": error}
    )


def _calc_response(request: Request, name: str, context: dict[str, object]) -> Response:
    if request.headers.get("hx-request") == "true":
        return render(request, f"{name}_result.html", context)
    return render(request, f"{name}.html", context)


def _int_or_fail(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            f"期数须为整数：{text!r}", f"months must be an integer: {text!r}"
        ) from None
