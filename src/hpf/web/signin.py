"""Sign-in and sign-out (登录与退出) for staff, employer agents and depositors.

One page with three tabs: staff (user name + password, TOTP code when enabled), employers (单位账号
+ password) and depositors (ID number + password). A failure shows one generic message (never
whether the login exists); a locked account says so; an address with too many recent failures is
refused before any check (429, threshold in the settings). The form is protected against login
CSRF by a double-submit token (``hpf_csrf_pre`` cookie equal to the hidden field). On success a
server-side session is opened (a session cookie brought along is revoked: no session fixation)
and its token set as the ``hpf_session`` cookie (HttpOnly, SameSite=Lax, Secure when
configured); sign-out (signed-in only, CSRF-checked) revokes the session row.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth import service as auth_service
from hpf.auth.errors import AccountLocked, SignInThrottled
from hpf.auth.principal import Principal
from hpf.errors import DomainError
from hpf.web.errors import Problem
from hpf.web.i18n import _ as N_
from hpf.web.public import safe_next
from hpf.web.security import SESSION_COOKIE, DbSession, require
from hpf.web.templating import front_door_of, render

router = APIRouter(tags=["pages: sign-in"])

PRE_CSRF_COOKIE = "hpf_csrf_pre"
KINDS = (
    ("staff", N_("Staff"), N_("User name")),
    ("employer", N_("Employer"), N_("Employer account number")),
    ("depositor", N_("Depositor"), N_("ID number")),
)
HOME_OF_DOOR = {"console": "/console", "employer": "/employer", "me": "/me", "public": "/"}


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _signin_page(
    request: Request,
    kind: str,
    next_url: str,
    *,
    error: str | None = None,
    login_name: str = "",
    status_code: int = 200,
) -> Response:
    token = request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)
    request.state.csrf_token = token
    response = render(
        request,
        "signin.html",
        {
            "kinds": KINDS,
            "kind": kind,
            "next": next_url,
            "error": error,
            "login_name": login_name,
            "pre_csrf": token,
        },
        status_code=status_code,
        door="public",
    )
    secure = request.app.state.settings.cookie_secure
    response.set_cookie(PRE_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure)
    return response


@router.get("/signin", response_class=HTMLResponse, summary="Sign-in page 登录")
def signin_page(request: Request, kind: str = "staff", next: str = "") -> Response:
    kind = kind if kind in {k for k, _, _ in KINDS} else "staff"
    return _signin_page(request, kind, safe_next(next, ""))


@router.post("/signin", response_class=HTMLResponse, summary="Sign in 登录")
def signin(
    request: Request,
    db: DbSession,
    kind: Annotated[str, Form(max_length=20)] = "staff",
    login_name: Annotated[str, Form(max_length=60)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    totp_code: Annotated[str, Form(max_length=10)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    kind = kind if kind in {k for k, _, _ in KINDS} else "staff"
    expected = request.cookies.get(PRE_CSRF_COOKIE, "")
    if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
        raise Problem(
            403,
            "csrf_failed",
            "表单已失效或缺少防伪令牌，请刷新页面后重试。",
            "Missing or invalid CSRF token; reload the page and try again.",
        )
    next_url = safe_next(next, "")
    settings = request.app.state.settings
    try:
        principal = auth_service.authenticate(
            db,
            kind=kind,
            login_name=login_name,
            password=password,
            totp_code=totp_code.strip() or None,
            ip=_client_ip(request),
            ip_max_failures=settings.signin_ip_max_failures,
            ip_window=timedelta(minutes=settings.signin_ip_window_minutes),
        )
    except DomainError as exc:
        # the failure count, lock and audit records must be committed: do not re-raise
        message = N_("Account locked") if isinstance(exc, AccountLocked) else N_("Sign-in failed")
        if isinstance(exc, SignInThrottled):
            message = N_("Too many failed sign-ins; try again later")
        db.commit()
        return _signin_page(
            request,
            kind,
            next_url,
            error=message,
            login_name=login_name if kind != "depositor" else "",
            status_code=429 if isinstance(exc, SignInThrottled) else 401,
        )
    # session fixation: a session cookie brought to the sign-in is never reused; end it
    auth_service.revoke_session(db, request.cookies.get(SESSION_COOKIE, ""))
    token, _csrf = auth_service.create_session(
        db, principal, ip=_client_ip(request), user_agent=request.headers.get("user-agent", "")
    )
    target = next_url or HOME_OF_DOOR[front_door_of(principal)]
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )
    response.delete_cookie(PRE_CSRF_COOKIE)
    return response


@router.post("/signout", summary="Sign out 退出登录")
def signout(
    request: Request, db: DbSession, _principal: Annotated[Principal, Depends(require())]
) -> Response:
    auth_service.revoke_session(db, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
