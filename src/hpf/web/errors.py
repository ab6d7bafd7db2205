"""Errors as RFC 9457 problem details (问题详情), with a Chinese and an English message.

API requests (``/api/…``, or any request that does not ask for HTML) get
``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` (Chinese),
``detail_en``, ``code`` and ``instance``; page requests get an HTML error page, and an anonymous
page request that needs a principal is redirected to the sign-in page. No handler ever shows a
traceback: unexpected exceptions are logged and answered with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hpf.errors import DomainError

log = logging.getLogger("hpf.web")

PROBLEM_JSON = "application/problem+json"

TITLES: dict[int, tuple[str, str]] = {
    400: ("输入有误", "Invalid input"),
    401: ("未登录或会话已过期", "Not signed in"),
    403: ("无权办理", "Forbidden"),
    404: ("未找到", "Not found"),
    405: ("不支持的请求方法", "Method not allowed"),
    409: ("状态冲突", "Conflict"),
    422: ("参数校验失败", "Validation failed"),
    500: ("系统内部错误", "Internal server error"),
    503: ("服务暂不可用", "Service unavailable"),
}

DEFAULT_DETAILS: dict[int, tuple[str, str, str]] = {
    401: ("not_authenticated", "请先登录。", "Please sign in."),
    403: ("forbidden", "您没有办理此业务的权限。", "You lack the permission for this action."),
    404: ("not_found", "请求的资源不存在。", "The requested resource does not exist."),
    405: ("method_not_allowed", "不支持该请求方法。", "This method is not allowed here."),
    500: (
        "internal_error",
        "系统内部错误，请稍后再试。",
        "Internal error, please try again later.",
    ),
    503: (
        "database_unavailable",
        "数据库连接中断，请重试（使用同一幂等键重试不会重复办理）。",
        "Database connection lost, please retry (a retry with the same idempotency key is "
        "never applied twice).",
    ),
}


STATUS_BY_CODE: dict[str, int] = {
    "authentication_failed": 401,
    "account_locked": 403,
    "permission_denied": 403,
    "not_permitted": 403,
    "separation_of_duties": 403,
    "unknown_user": 404,
    "application_not_found": 404,
    "invalid_action": 409,
    "application_closed": 409,
    "already_in_progress": 409,
    "idempotency_conflict": 409,
    "duplicate_login": 409,
    "remittance_error": 409,
    "no_arrears": 409,
    "employer_error": 409,
    "depositor_error": 409,
    "employer_not_found": 404,
    "depositor_not_found": 404,
    "remittance_not_found": 404,
    "withdrawal_error": 409,
    "withdrawal_refused": 409,
    "withdrawal_not_found": 404,
    "batch_not_found": 404,
    "goal_table_not_found": 404,
}
"""HTTP status of domain errors that are not plain bad input (400)."""


class Problem(Exception):
    """An HTTP error a route raises on purpose, with a stable code and two messages."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        detail_zh: str | None = None,
        detail_en: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        default = DEFAULT_DETAILS.get(status, ("error", "请求失败。", "Request failed."))
        self.after = after
        """Run by the error handler once the request's own transaction has ended (e.g. to
        audit the refusal, which that transaction's rollback would otherwise undo)."""
        self.status = status
        self.code = code or default[0]
        self.detail_zh = detail_zh or default[1]
        self.detail_en = detail_en or default[2]
        self.headers = headers or {}
        super().__init__(self.detail_en)


def wants_html(request: Request) -> bool:
    """True for browser page requests (not under /api, and accepting HTML)."""
    path = request.url.path
    if path.startswith("/api") or path == "/healthz":
        return False
    return "text/html" in request.headers.get("accept", "")


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail_zh: str,
    detail_en: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The problem+json (API) or HTML page (browser) for one error."""
    title_zh, title_en = TITLES.get(status, ("请求失败", "Request failed"))
    if wants_html(request):
        return _html_error(request, status, title_zh, title_en, detail_zh, detail_en, headers)
    body: dict[str, Any] = {
        "type": f"urn:hpf:problem:{code}",
        "title": title_zh,
        "title_en": title_en,
        "status": status,
        "detail": detail_zh,
        "detail_en": detail_en,
        "code": code,
        "instance": request.url.path,
    }
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _html_error(
    request: Request,
    status: int,
    title_zh: str,
    title_en: str,
    detail_zh: str,
    detail_en: str,
    headers: dict[str, str] | None,
) -> Response:
    from hpf.web.templating import render

    english = getattr(request.state, "lang", "zh") == "en"
    context = {
        "status": status,
        "error_title": title_en if english else title_zh,
        "error_detail": detail_en if english else detail_zh,
    }
    response = render(request, "error.html", context, status_code=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def signin_redirect(request: Request) -> Response:
    """303 to the sign-in page, remembering where the user wanted to go."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if exc.after is not None:
        exc.after()
    if exc.status == 401 and wants_html(request):
        return signin_redirect(request)
    return problem_response(
        request, exc.status, exc.code, exc.detail_zh, exc.detail_en, headers=exc.headers
    )


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = STATUS_BY_CODE.get(exc.code, 400)
    field = getattr(exc, "field", None)  # a refused field of a form or body, named for the client
    extra = {"field": field} if isinstance(field, str) and field else None
    return problem_response(request, status, exc.code, exc.message_zh, exc.message_en, extra=extra)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 401 and wants_html(request):
        return signin_redirect(request)
    code, zh, en = DEFAULT_DETAILS.get(status, ("error", "请求失败。", "Request failed."))
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, status, code, zh, en, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    fields = ", ".join(".".join(e["loc"][1:] or e["loc"]) for e in errors[:5])
    return problem_response(
        request,
        422,
        "validation_failed",
        f"请求参数不符合要求：{fields}",
        f"The request parameters are invalid: {fields}",
        extra={"errors": errors},
    )


async def _on_database_error(request: Request, exc: Exception) -> Response:
    """A lost database connection: 503 and retry (its transaction died with it, unless the loss
    hit the commit itself, which a retry with the same idempotency key answers); else 500."""
    assert isinstance(exc, DBAPIError)
    if not exc.connection_invalidated:
        return await _on_unexpected(request, exc)
    log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc)
    code, zh, en = DEFAULT_DETAILS[503]
    return problem_response(request, 503, code, zh, en, headers={"Retry-After": "1"})


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    code, zh, en = DEFAULT_DETAILS[500]
    try:
        return problem_response(request, 500, code, zh, en)
    except Exception:  # the error page itself failed: answer in plain JSON
        return JSONResponse(
            {"title": "系统内部错误", "status": 500, "detail": zh, "detail_en": en, "code": code},
            status_code=500,
            media_type=PROBLEM_JSON,
        )


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
