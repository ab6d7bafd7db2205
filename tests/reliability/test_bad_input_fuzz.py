"""Fuzzing every API operation of the OpenAPI document as each kind of user.

tests/web/test_schemathesis.py walks every operation anonymously and as a clerk and checks for
5xx. This walk adds the other principals — an employer agent, a depositor, finance, the
system administrator — with invalid (negative) input generated from the schema, and checks
that no answer is a 5xx and that a rejected write (any 4xx to POST/PUT/PATCH/DELETE) leaves
every table as it was. SQLite only (the database behaviour runs on both backends in the other
tests), examples bounded so the walk stays near a minute.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import Engine, inspect, text

from hpf.auth import service as auth_service
from hpf.config import Settings
from hpf.db.engine import make_engine, unit_of_work
from hpf.web.app import create_app

MAX_EXAMPLES = 4
ROLES = {"employer1": "employer_agent", "depositorA": "depositor", "finance": "finance",
         "sysadmin": "sysadmin"}  # fmt: skip
VOLATILE = {"audit_record", "audit_chain_head", "web_session", "api_token", "alembic_version"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _operations() -> list[tuple[str, str]]:
    """(path, method) of every /api operation that takes input."""
    document = create_app(Settings(database_url="sqlite://")).openapi()
    return [
        (path, method)
        for path, item in sorted(document["paths"].items())
        if path.startswith("/api/")
        for method, op in sorted(item.items())
        if method in ("get", "post", "put", "patch", "delete")
        and (op.get("parameters") or op.get("requestBody"))
    ]


def fingerprint(engine: Engine) -> tuple[int, ...]:
    names = sorted(set(inspect(engine).get_table_names()) - VOLATILE)
    sql = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{n}")' for n in names)
    with engine.connect() as conn:
        return tuple(int(v) for v in conn.execute(text(sql)).one())


@pytest.fixture(scope="module")
def fuzz_env(sqlite_web: Any) -> Any:
    with unit_of_work(sqlite_web.url) as session:
        tokens = {
            key: auth_service.issue_api_token(
                session, sqlite_web.user_ids[key], name="fuzz", scopes=frozenset({role})
            )
            for key, role in ROLES.items()
        }
    # the document straight from the app (from_asgi's 10 s fetch timeout fails on a busy machine)
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(sqlite_web.app.openapi())))
    schema.app = sqlite_web.app
    engine = make_engine(sqlite_web.url)
    yield schema, tokens, engine
    engine.dispose()


@pytest.fixture(scope="module")
def sqlite_web(databases: Any) -> Any:
    from web.conftest import make_env

    return make_env(databases, "sqlite")


def test_the_walk_covers_the_api() -> None:
    ops = _operations()
    assert len(ops) >= 60
    assert ("/api/v1/employers/{employer_ref}/funds", "post") in ops


@pytest.mark.parametrize(("path", "method"), _operations())
def test_no_server_error_and_no_change_on_refusal(fuzz_env: Any, path: str, method: str) -> None:
    schema, tokens, engine = fuzz_env
    operation = schema[path][method.upper()]
    unsafe = method.upper() in UNSAFE

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any) -> None:
        for token in tokens.values():
            headers = {"Authorization": f"Bearer {token}"}
            before = fingerprint(engine) if unsafe else None
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}\n"
                f"{case.as_curl_command(headers=headers)}\n{response.text[:500]}"
            )
            if unsafe and 400 <= response.status_code < 500:
                assert fingerprint(engine) == before, (
                    f"rejected {case.method} {case.formatted_path} changed rows\n"
                    f"{case.as_curl_command(headers=headers)}"
                )

    check()
