"""Property-based API testing: schemathesis walks /api/openapi.json in-process (ASGI) and no
generated request (valid or invalid), anonymous or with a staff API token, gets a 5xx answer.

One test per operation of the document; examples are bounded so the whole walk stays well under
two minutes. It runs on SQLite only (the database behaviour is covered on both backends by the
other web tests). The operations are driven through hypothesis directly rather than the
schemathesis pytest plugin, whose fixture loader does not support pytest 9.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from hpf.auth import service as auth_service
from hpf.config import Settings
from hpf.db.engine import unit_of_work
from hpf.web.app import create_app

MAX_EXAMPLES = 15


def _operations() -> list[tuple[str, str, bool]]:
    """(path, method, takes input) of every operation of the document."""
    document = create_app(Settings(database_url="sqlite://")).openapi()
    return [
        (path, method, bool(op.get("parameters") or op.get("requestBody")))
        for path, item in sorted(document["paths"].items())
        for method, op in sorted(item.items())
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _cases() -> list[tuple[str, str, GenerationMode]]:
    # invalid input can only be generated for operations that take some
    return [
        (path, method, mode)
        for path, method, takes_input in _operations()
        for mode in GenerationMode
        if takes_input or mode is GenerationMode.POSITIVE
    ]


@pytest.fixture(scope="module")
def api_schema(sqlite_web: Any) -> Any:
    # The document straight from the app: fetching it over ASGI times out under heavy load.
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(sqlite_web.app.openapi())))
    schema.app = sqlite_web.app
    return schema


@pytest.fixture(scope="module")
def staff_token(sqlite_web: Any) -> str:
    with unit_of_work(sqlite_web.url) as session:
        return auth_service.issue_api_token(
            session,
            sqlite_web.user_ids["clerk"],
            name="schemathesis",
            scopes=frozenset({"clerk"}),
        )


def test_the_document_lists_pages_and_api(api_schema: Any) -> None:
    paths = {path for path, _, _ in _operations()}
    assert {"/api/v1/applications", "/api/v1/calc/loan", "/console", "/calc/loan"} <= paths


@pytest.mark.parametrize(("path", "method", "mode"), _cases())
def test_no_server_errors(
    api_schema: Any, staff_token: str, path: str, method: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method.upper()]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any) -> None:
        for headers in ({}, {"Authorization": f"Bearer {staff_token}"}):
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}\n"
                f"{case.as_curl_command(headers=headers)}\n{response.text[:500]}"
            )

    check()
