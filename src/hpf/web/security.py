"""Who is asking and may they (访问控制): sessions, API tokens, permissions and CSRF for routes.

- ``current_auth``: the principal of a request, from the ``hpf_session`` cookie (server-side
  session, :func:`hpf.auth.service.resolve_session`) or an ``Authorization: Bearer`` API token
  (:func:`hpf.auth.service.resolve_api_token`); None when anonymous.
- ``require(*permissions)``: the dependency every non-public route declares; anonymous → 401
  (problem+json for the API, 303 to ``/signin`` for pages), none of the permissions → 403.
- CSRF: every unsafe request authenticated by the cookie must carry the session's token in the
  form field ``csrf_token`` or the ``X-CSRF-Token`` header, else 403. Bearer requests are exempt.
- ``PUBLIC_PATHS``/``PUBLIC_PREFIXES``: the allowlist of routes open without sign-in.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth import service as auth_service
from hpf.auth.principal import Principal
from hpf.web.errors import Problem

logger = logging.getLogger(__name__)

SESSION_COOKIE = "hpf_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

PUBLIC_PATHS = frozenset(
    {
        "/",
        "/healthz",
        "/signin",
        "/calc",
        "/api/docs",
        "/api/docs/oauth2-redirect",
        "/api/openapi.json",
        "/api/routes.json",
    }
)
PUBLIC_PREFIXES = ("/static/", "/lang/", "/calc/", "/api/v1/calc/")


def is_public_path(path: str) -> bool:
    """True when ``path`` (a route path or a request path) needs no sign-in."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


@dataclass(frozen=True)
class Auth:
    """The authenticated caller of one request and how it proved who it is."""

    principal: Principal
    via: str
    """``cookie`` (browser session) or ``bearer`` (API token)."""
    csrf: str | None = None


def get_db(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, rolled back on error.

    A safe request (GET, HEAD, OPTIONS) gets a read session (``hpf.db.engine``): on SQLite it
    reads beside the writer without its lock, and cannot write. The few writes a read must
    make (the audit record of viewing a person's data, a credential's last-use time) go
    through ``writable``, committed in a short transaction of their own. A safe request
    changing business data is a bug; on SQLite it fails ("attempt to write a readonly
    database"). Unsafe requests get a write session (``BEGIN IMMEDIATE`` on SQLite).
    """
    state = request.app.state
    factory = (
        state.read_session_factory if request.method in SAFE_METHODS else state.session_factory
    )
    session: Session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def current_auth(request: Request, db: DbSession) -> Auth | None:
    """Resolve the bearer token or the session cookie; None for an anonymous request."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(401, "invalid_token", "无效的访问令牌。", "Invalid API token.")
        principal = auth_service.resolve_api_token(db, token.strip())
        if principal is None:
            raise Problem(
                401, "invalid_token", "访问令牌无效或已撤销。", "API token invalid or revoked."
            )
        request.state.principal = principal
        return Auth(principal, "bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    resolved = auth_service.resolve_session(db, cookie)
    if resolved is None:
        return None
    principal, csrf = resolved
    request.state.principal = principal
    request.state.csrf_token = csrf
    return Auth(principal, "cookie", csrf)


CurrentAuth = Annotated[Auth | None, Depends(current_auth)]


async def check_csrf(request: Request, auth: Auth | None) -> None:
    """Refuse an unsafe cookie-authenticated request without the session's CSRF token."""
    if request.method in SAFE_METHODS or auth is None or auth.via != "cookie":
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not auth.csrf or not hmac.compare_digest(sent, auth.csrf):
        raise Problem(
            403,
            "csrf_failed",
            "表单已失效或缺少防伪令牌，请刷新页面后重试。",
            "Missing or invalid CSRF token; reload the page and try again.",
        )


PermissionDependency = Callable[..., Awaitable[Principal]]


def require(*permissions: str) -> PermissionDependency:
    """A dependency admitting a signed-in principal holding any of ``permissions``.

    With no permissions any signed-in principal is admitted. The permissions are kept on the
    returned function (``hpf_permissions``) so ``/api/routes.json`` and the route-walk test can
    list what each route needs.
    """

    async def dependency(request: Request, auth: CurrentAuth) -> Principal:
        if auth is None:
            raise Problem(401)
        await check_csrf(request, auth)
        if permissions and not any(auth.principal.has(p) for p in permissions):
            principal = auth.principal
            raise Problem(
                403,
                "permission_denied",
                f"无权办理：需要权限 {' 或 '.join(permissions)}",
                f"Permission denied: {' or '.join(permissions)} required",
                after=lambda: _record_denial(request, principal, permissions),
            )
        return auth.principal

    dependency.hpf_permissions = permissions  # type: ignore[attr-defined]
    dependency.__name__ = "require_" + "_or_".join(p.replace(".", "_") for p in permissions)
    return dependency


def _record_denial(request: Request, principal: Principal, permissions: tuple[str, ...]) -> None:
    """A refused request is a security event (data-security indicator): audited in its own
    transaction once the request's unit of work has rolled back with the refusal."""
    session: Session = request.app.state.session_factory()
    try:
        audit.record(
            session,
            actor=principal,
            action="permission.denied",
            object_type="route",
            object_id=request.url.path[:60],
            detail={"method": request.method, "needs": list(permissions)},
            ip=request.client.host if request.client else "",
        )
        session.commit()
    except Exception:  # the refusal stands even if the trail cannot be written
        session.rollback()
        logger.exception("could not audit a permission denial")
    finally:
        session.close()


def route_permissions(dependant: Any) -> tuple[str, ...] | None:
    """The permissions a route's ``require`` dependency asks for; None when it has none."""
    stack = [dependant]
    while stack:
        current = stack.pop()
        call = getattr(current, "call", None)
        perms = getattr(call, "hpf_permissions", None)
        if perms is not None:
            return tuple(perms)
        stack.extend(getattr(current, "dependencies", ()))
    return None
