"""The FastAPI application factory (网站应用): one app, three front doors, public pages, REST API.

Routers per area: public pages and calculators, sign-in, the staff console (``/console``), the
employer portal (``/employer``), the depositor portal (``/me``) and the REST API (``/api/v1``).
Static files (including the npm packages copied to ``static/vendor`` by ``make assets``) are
served from ``/static``; the OpenAPI docs use the vendored Swagger UI, never a CDN.
``/api/routes.json`` lists every route with its methods, whether it is public and the
permissions it requires, so tests (and people) can walk them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.routing import BaseRoute, Mount

from hpf import __version__
from hpf.config import Settings, get_settings
from hpf.db.engine import read_session_factory, session_factory
from hpf.web import (
    api,
    api_calc,
    api_contribution_actions,
    api_contributions,
    api_goals,
    api_loans,
    api_partner,
    api_withdrawals,
    console,
    console_audit_ops,
    console_cockpit,
    console_contribution_actions,
    console_contributions,
    console_loans,
    console_reports,
    console_service,
    console_withdrawals,
    portal_contribution_actions,
    portal_contributions,
    portal_employer_applications,
    portal_loans,
    portal_withdrawals,
    portals,
    public,
    signin,
)
from hpf.web.errors import install_error_handlers
from hpf.web.i18n import Catalogs, request_lang
from hpf.web.security import is_public_path, route_permissions
from hpf.web.templating import make_templates

STATIC_DIR = Path(__file__).parent / "static"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="hpf 住房公积金管理系统",
        version=__version__,
        description="住房公积金管理系统 REST API. Errors are RFC 9457 problem+json with "
        "`detail` (Chinese) and `detail_en`. Authenticate with `Authorization: Bearer <token>`.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.session_factory = session_factory(settings.database_url)
    app.state.read_session_factory = read_session_factory(settings.database_url)
    app.state.templates = make_templates()
    app.state.catalogs = Catalogs(settings.default_language)
    install_error_handlers(app)
    _install_middleware(app, settings.default_language)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        public,
        api_calc,
        signin,
        console,
        console_contribution_actions,  # before console_contributions: /employers/new
        console_contributions,
        console_withdrawals,
        console_loans,
        console_cockpit,
        console_reports,
        console_service,
        console_audit_ops,
        portals,
        portal_contributions,
        portal_contribution_actions,
        portal_withdrawals,
        portal_loans,
        portal_employer_applications,
        api,
        api_contributions,
        api_contribution_actions,
        api_withdrawals,
        api_loans,
        api_goals,
        api_partner,
    ):
        app.include_router(module.router)
    _add_ops_routes(app)
    return app


def _install_middleware(app: FastAPI, default_lang: str) -> None:
    @app.middleware("http")
    async def language_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.lang = request_lang(request, default_lang)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/api/docs"):
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Content-Security-Policy", CSP)
        if request.cookies.get("hpf_session") or "set-cookie" in response.headers:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _add_ops_routes(app: FastAPI) -> None:
    factory = app.state.read_session_factory

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability. 健康检查。"""
        with factory() as session:
            session.execute(text("SELECT 1"))
            session.rollback()
        return {"status": "ok", "version": __version__}

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="hpf API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/api/routes.json", tags=["ops"], summary="Every route of the app 路由清单")
    def routes_json() -> dict[str, list[dict[str, Any]]]:
        """Each route with its methods, whether it is public and the permissions it requires."""
        return {"routes": list_routes(app)}


def all_routes(app: FastAPI) -> list[BaseRoute]:
    """Every route of ``app``, with included routers flattened.

    FastAPI 0.16x keeps an included router as one lazy entry of ``app.routes``; its routes are
    reached through ``fastapi.routing.iter_route_contexts``. The routers are included without
    an extra prefix, so each original route's path is the path it is served at.
    """
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    if iterate is None:
        return list(app.routes)
    return [context.original_route for context in iterate(app.routes)]


def list_routes(app: FastAPI) -> list[dict[str, Any]]:
    """Every route and mount of ``app``: path, methods, name, public, permissions, in_schema."""
    out: list[dict[str, Any]] = []
    for route in all_routes(app):
        if isinstance(route, APIRoute):
            perms = route_permissions(route.dependant)
            out.append(
                {
                    "path": route.path,
                    "methods": sorted(route.methods or ()),
                    "name": route.name,
                    "public": is_public_path(route.path),
                    "permissions": list(perms) if perms is not None else None,
                    "page": not route.path.startswith("/api") and route.path != "/healthz",
                    "in_schema": route.include_in_schema,
                }
            )
        elif isinstance(route, Mount):
            out.append(
                {
                    "path": route.path + "/{path}",
                    "methods": ["GET", "HEAD"],
                    "name": route.name,
                    "public": is_public_path(route.path + "/"),
                    "permissions": None,
                    "page": False,
                    "in_schema": False,
                }
            )
        else:
            path = getattr(route, "path", "")
            out.append(
                {
                    "path": path,
                    "methods": sorted(getattr(route, "methods", None) or ()),
                    "name": getattr(route, "name", ""),
                    "public": is_public_path(path),
                    "permissions": None,
                    "page": False,
                    "in_schema": False,
                }
            )
    return out
