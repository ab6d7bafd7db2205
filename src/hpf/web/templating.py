"""Page rendering (页面渲染): Jinja2 templates, the layout's context, navigation and flash messages.

Every page gets ``_`` (the request's translator), ``lang``, the signed-in principal (or None),
the CSRF token for its forms, the left navigation of its front door filtered by the principal's
permissions, and the flash messages left by the previous request (one-shot cookie).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from hpf.ledger.kinds import kind_label
from hpf.money import format_yuan
from hpf.web.i18n import HTML_LANG, LANGUAGE_NAMES, Catalogs
from hpf.web.i18n import _ as N_
from hpf.withdrawals.rules import TYPES as WITHDRAWAL_TYPES
from hpf.workflow.rules import CHANNELS

TEMPLATE_DIR = Path(__file__).parent / "templates"
FLASH_COOKIE = "hpf_flash"


@dataclass(frozen=True)
class NavItem:
    """One link of a front door's left navigation."""

    href: str
    label: str
    permissions: tuple[str, ...] = ()
    """Shown to principals holding any of these; to everyone when empty."""


NAVIGATION: dict[str, tuple[NavItem, ...]] = {
    "public": (
        NavItem("/", N_("Home")),
        NavItem("/calc/loan", N_("Loan calculator")),
        NavItem("/calc/loan-limit", N_("Loan limit trial")),
        NavItem("/calc/interest", N_("Deposit interest calculator")),
    ),
    "console": (
        NavItem("/console", N_("Dashboard"), ("workflow.read", "users.manage", "dashboard.read")),
        NavItem("/console/cockpit", N_("Leadership cockpit"), ("dashboard.read",)),
        NavItem("/console/applications", N_("Applications"), ("workflow.read",)),
        NavItem("/console/withdrawals", N_("Withdrawals"), ("workflow.read",)),
        NavItem(
            "/console/withdrawals/new",
            N_("Counter withdrawal application"),
            ("withdrawal.counter",),
        ),
        NavItem("/console/withdrawals/payments", N_("Withdrawal payments"), ("withdrawal.pay",)),
        NavItem("/console/loans", N_("Loans"), ("workflow.read", "loan.finance")),
        NavItem("/console/loans/new", N_("Counter loan application"), ("loan.counter",)),
        NavItem("/console/loans/collection", N_("Bank debit of installments"), ("loan.finance",)),
        NavItem("/console/loans/overdue", N_("Overdue loans"), ("workflow.read", "loan.finance")),
        NavItem("/console/employers", N_("Employers"), ("person.read",)),
        NavItem("/console/employers/new", N_("Open an employer account"), ("deposit.manage",)),
        NavItem("/console/depositors", N_("Depositors"), ("person.read",)),
        NavItem("/console/depositors/new", N_("Open a depositor account"), ("deposit.manage",)),
        NavItem("/console/funds", N_("Funds received and posting"), ("deposit.post",)),
        NavItem("/console/remittances", N_("Remittance lists"), ("person.read",)),
        NavItem("/console/arrears", N_("Arrears"), ("person.read",)),
        NavItem("/console/stats", N_("Contribution statistics"), ("dashboard.read", "report.read")),
        NavItem(
            "/console/withdrawals/stats",
            N_("Withdrawal statistics"),
            ("dashboard.read", "report.read"),
        ),
        NavItem("/console/loans/stats", N_("Loan statistics"), ("dashboard.read", "report.read")),
        NavItem("/console/reports/annual", N_("Annual report"), ("dashboard.read", "report.read")),
        NavItem(
            "/console/reports/statements",
            N_("Finance statements"),
            ("dashboard.read", "report.read"),
        ),
        NavItem("/console/service/tickets", N_("Hotline tickets"), ("hotline.handle",)),
        NavItem("/console/service/eaudit", N_("E-audit"), ("eaudit.read", "eaudit.manage")),
        NavItem("/console/service/incidents", N_("Incidents and security events"), ("ops.manage",)),
        NavItem(
            "/console/service/partner-calls",
            N_("Partner API calls"),
            ("audit_trail.read", "ops.manage"),
        ),
        NavItem("/console/users", N_("Users"), ("users.manage",)),
        NavItem("/calc/loan", N_("Loan calculator")),
        NavItem("/calc/loan-limit", N_("Loan limit trial")),
    ),
    "employer": (
        NavItem("/employer", N_("Employer summary"), ("employer.self",)),
        NavItem("/employer/remittance", N_("This month's list"), ("employer.self",)),
        NavItem("/employer/remittances", N_("Remittance history"), ("employer.self",)),
        NavItem("/employer/back-payment", N_("Back payment"), ("employer.self",)),
        NavItem("/employer/base-adjustment", N_("Annual base adjustment"), ("employer.self",)),
        NavItem("/employer/depositors", N_("Our depositors"), ("employer.self",)),
        NavItem("/employer/applications", N_("Rate reduction and deferral"), ("employer.self",)),
        NavItem("/calc/loan", N_("Loan calculator")),
        NavItem("/calc/loan-limit", N_("Loan limit trial")),
    ),
    "me": (
        NavItem("/me", N_("My profile"), ("depositor.self",)),
        NavItem("/me/statement", N_("Balance and statement"), ("depositor.self",)),
        NavItem("/me/applications", N_("My applications"), ("depositor.self",)),
        NavItem("/me/withdrawals", N_("Withdrawals"), ("depositor.self",)),
        NavItem("/me/loans", N_("My loan"), ("depositor.self",)),
        NavItem("/calc/loan", N_("Loan calculator")),
        NavItem("/calc/loan-limit", N_("Loan limit trial")),
        NavItem("/calc/interest", N_("Deposit interest calculator")),
    ),
}

FRONT_DOOR_TITLES = {
    "public": N_("Housing Provident Fund"),
    "console": N_("Staff console"),
    "employer": N_("Employer online hall"),
    "me": N_("Depositor online hall"),
}


def make_templates() -> Jinja2Templates:
    """The template environment (autoescaping on, strict undefined names)."""
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    templates.env.filters["yuan"] = lambda fen: format_yuan(int(fen), grouping=True)
    templates.env.globals["language_names"] = LANGUAGE_NAMES
    templates.env.globals["kind_label"] = kind_label
    # a fresh idempotency key for each rendered write form (hidden field ``idempotency_key``)
    templates.env.globals["new_idempotency_key"] = lambda: uuid.uuid4().hex
    templates.env.globals["channel_names"] = {
        code: (c.name_zh, c.name_en) for code, c in CHANNELS.items()
    }
    templates.env.globals["type_names"] = {
        t.value: (info.name_zh, info.name_en) for t, info in WITHDRAWAL_TYPES.items()
    }
    return templates


def front_door_of(principal: Any) -> str:
    """The front door a principal belongs to (console, employer or me)."""
    if principal is None:
        return "public"
    return {"staff": "console", "employer": "employer", "depositor": "me"}.get(
        principal.kind, "public"
    )


def nav_for(door: str, principal: Any) -> list[NavItem]:
    """The navigation of ``door`` with the items the principal may open."""
    items = NAVIGATION.get(door, NAVIGATION["public"])
    return [
        item
        for item in items
        if not item.permissions
        or (principal is not None and any(principal.has(p) for p in item.permissions))
    ]


def flash(response: Response, message: str, level: str = "success") -> None:
    """Leave a one-shot message (a message id, translated when shown) for the next page."""
    payload = quote(json.dumps([[level, message]], ensure_ascii=True), safe="")
    response.set_cookie(FLASH_COOKIE, payload, httponly=True, samesite="lax", max_age=60)


def _read_flashes(request: Request) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        data = json.loads(unquote(raw))
        return [(str(level), str(text)) for level, text in data][:5]
    except (ValueError, TypeError):
        return []


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    door: str | None = None,
) -> HTMLResponse:
    """Render template ``name`` with the layout context of ``request``."""
    app = request.app
    catalogs: Catalogs = app.state.catalogs
    translator = catalogs.for_request(request)
    principal = getattr(request.state, "principal", None)
    door = door or front_door_of(principal)
    flashes = _read_flashes(request)
    full: dict[str, Any] = {
        "_": translator,
        "lang": translator.lang,
        "html_lang": HTML_LANG[translator.lang],
        "principal": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "door": door,
        "door_title": FRONT_DOOR_TITLES.get(door, FRONT_DOOR_TITLES["public"]),
        "nav": nav_for(door, principal),
        "current_path": request.url.path,
        "flashes": flashes,
        "is_htmx": request.headers.get("hx-request") == "true",
    }
    full.update(context or {})
    templates: Jinja2Templates = app.state.templates
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    if flashes:
        response.delete_cookie(FLASH_COOKIE)
    return response
