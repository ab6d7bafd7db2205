"""The FastAPI application factory. Later issues mount each area's routes here."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text

from hpf import __version__
from hpf.config import Settings, get_settings
from hpf.db.engine import session_factory


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="hpf 住房公积金管理系统",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    factory = session_factory(settings.database_url)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability. 健康检查。"""
        with factory() as session:
            session.execute(text("SELECT 1"))
            session.rollback()
        return {"status": "ok", "version": __version__}

    return app
