"""The web application answers /healthz and serves its OpenAPI description."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hpf.config import Settings
from hpf.web.app import create_app


def test_healthz_and_openapi(db_url: str) -> None:
    client = TestClient(create_app(Settings(database_url=db_url)))
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert client.get("/api/docs").status_code == 200
    assert "/healthz" in client.get("/api/openapi.json").json()["paths"]
