"""Security checks over HTTP: session fixation, sign-in throttling, CSRF on every unsafe route,
SQL injection and reflected markup on every query parameter.

The routes and their query parameters are read from the app's OpenAPI document and route table,
so a new route or filter is covered without touching this file. (The route authorization matrix
and IDOR walk are in tests/web/test_route_walk.py and the area page tests.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Engine

from deposit_books import Books
from hpf.auth import service as auth_service
from hpf.auth.models import AuditRecord
from hpf.auth.principal import system_principal
from hpf.config import Settings
from hpf.db.engine import make_engine, unit_of_work
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from hpf.web.app import all_routes, create_app, list_routes
from hpf.web.security import SESSION_COOKIE, is_public_path, route_permissions
from web.conftest import FORM_CSRF_RE, PASSWORD, USERS, WebEnv, served_env
from web.test_route_walk import concrete

# Tables a read may legitimately write: the audit trail (views of personal data, denials) and
# the sessions of the signed-in test clients.
VOLATILE = {"audit_record", "audit_chain_head", "web_session", "alembic_version"}
SQL_PAYLOADS = (
    "' OR 1=1 --",
    "'; DROP TABLE ledger_journal; --",
    "%' UNION SELECT id, login_name, password_hash FROM user_account --",
    '" OR ""="',
    "1) OR (1=1",
)
MARKUP = '"><script>alert(1)</script>'
NO_MATCH = "zz-no-such-value"
PREFERENCE = ("clerk", "finance", "approver", "reviewer", "auditor", "leadership", "sysadmin")
UNSAFE = {"post", "put", "patch", "delete"}


def _app() -> Any:
    return create_app(Settings(database_url="sqlite://"))


def _query_operations() -> list[tuple[str, tuple[str, ...]]]:
    """(path, query parameter names) of every GET operation that takes query parameters."""
    document = _app().openapi()
    out = []
    for path, item in sorted(document["paths"].items()):
        names = tuple(
            p["name"] for p in item.get("get", {}).get("parameters", []) if p["in"] == "query"
        )
        if names:
            out.append((path, names))
    return out


def _unsafe_routes() -> list[tuple[str, str]]:
    out = []
    for route in all_routes(_app()):
        if isinstance(route, APIRoute) and not is_public_path(route.path):
            for method in sorted({m.lower() for m in route.methods or ()} & UNSAFE):
                out.append((method.upper(), route.path))
    return out


@pytest.fixture(scope="module")
def env(backend: str, databases: Any) -> Iterator[WebEnv]:
    """The seeded web app plus employers and depositors for the searches to find."""
    with served_env(databases, backend) as built:
        with unit_of_work(built.url) as session:
            code = session.scalar(select(OrgUnit.code).where(OrgUnit.id == built.branch_id))
            assert code is not None
            books = Books(session, load_shipped_policy(), system_principal("test"), code)
            for _ in range(2):
                employer = books.employer("12", opened=date(2023, 7, 1))
                books.depositor(employer, 500_000)
                books.depositor(employer, 600_000)
        yield built


@pytest.fixture(scope="module")
def engine(env: WebEnv) -> Iterator[Engine]:
    eng = make_engine(env.url)
    yield eng
    eng.dispose()


def fingerprint(engine: Engine) -> dict[str, int]:
    """Rows per table (all tables but the volatile ones): equal before and after = no change."""
    names = sorted(set(inspect(engine).get_table_names()) - VOLATILE)
    with engine.connect() as conn:
        return {
            n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names
        }


def holder(env: WebEnv, path: str) -> str | None:
    """A user allowed to call ``path`` (None for public routes; the clerk when no test user
    holds its permissions, e.g. a route for machine partners: it must still refuse cleanly)."""
    perms = next(r["permissions"] for r in list_routes(env.app) if r["path"] == path)
    if perms is None or is_public_path(path):
        return None
    keys = [*PREFERENCE, *(k for k in USERS if k not in PREFERENCE)]
    return next((k for k in keys if not perms or env.permissions(k) & set(perms)), "clerk")


def size_of(response: Any) -> int | None:
    """How many rows a JSON list answer holds (``total`` or ``items``), if it is one."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    data = response.json()
    if isinstance(data, dict) and isinstance(data.get("total"), int):
        return int(data["total"])
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return len(data["items"])
    return None


# --- session fixation -------------------------------------------------------------------------


def _signin_form(http: TestClient, kind: str = "staff") -> str:
    match = FORM_CSRF_RE.search(http.get(f"/signin?kind={kind}").text)
    assert match
    return match[1]


def _post_signin(http: TestClient, login: str, password: str = PASSWORD) -> Any:
    token = _signin_form(http)
    form = {"kind": "staff", "login_name": login, "password": password, "csrf_token": token}
    return http.post("/signin", data=form, follow_redirects=False)


def test_a_planted_session_cookie_never_becomes_signed_in(env: WebEnv) -> None:
    http = TestClient(env.app, raise_server_exceptions=False)
    planted = "attacker-chosen-session-id-0123456789"
    http.cookies.set(SESSION_COOKIE, planted)
    assert http.get("/api/v1/me").status_code == 401
    response = _post_signin(http, "clerk")
    assert response.status_code == 303
    issued = response.cookies.get(SESSION_COOKIE)
    assert issued and issued != planted
    attacker = TestClient(env.app, raise_server_exceptions=False)
    attacker.cookies.set(SESSION_COOKIE, planted)
    assert attacker.get("/api/v1/me").status_code == 401
    assert http.get("/api/v1/me").status_code == 200


def test_the_session_id_changes_at_sign_in_and_dies_at_sign_out(env: WebEnv) -> None:
    http = TestClient(env.app, raise_server_exceptions=False)
    first = _post_signin(http, "clerk").cookies.get(SESSION_COOKIE)
    assert first
    # signing in again from the same browser: a new id, and the old one no longer works
    second = _post_signin(http, "clerk").cookies.get(SESSION_COOKIE)
    assert second and second != first
    stale = TestClient(env.app, raise_server_exceptions=False)
    stale.cookies.set(SESSION_COOKIE, first)
    assert stale.get("/api/v1/me").status_code == 401
    page = http.get("/console", headers={"accept": "text/html"})
    csrf = FORM_CSRF_RE.search(page.text) or FORM_CSRF_RE.search(http.get("/me").text)
    token = csrf[1] if csrf else ""
    done = http.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    replay = TestClient(env.app, raise_server_exceptions=False)
    replay.cookies.set(SESSION_COOKIE, second)
    assert replay.get("/api/v1/me").status_code == 401


# --- sign-in throttling -----------------------------------------------------------------------


def _throttled_count(env: WebEnv, ip: str) -> int:
    with unit_of_work(env.url) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.action == "signin.throttled", AuditRecord.ip == ip)
            )
            or 0
        )


def test_sign_in_is_throttled_per_address_after_the_configured_failures(env: WebEnv) -> None:
    strict = create_app(
        Settings(database_url=env.url, signin_ip_max_failures=4, signin_ip_window_minutes=10)
    )
    guesser = TestClient(strict, raise_server_exceptions=False, client=("198.51.100.7", 4000))
    # password spraying: one guess at each of several logins locks none of them ...
    for login in ("clerk", "reviewer", "approver", "nobody-1"):
        response = _post_signin(guesser, login, "Wrong-guess-1")
        assert response.status_code == 401 and 'id="signin-error"' in response.text
    # ... but the address is now refused, even with a right password, before any check
    refused = _post_signin(guesser, "clerk")
    assert refused.status_code == 429
    assert "该地址登录失败次数过多" in refused.text
    assert SESSION_COOKIE not in refused.cookies
    assert _throttled_count(env, "198.51.100.7") == 1
    # another address is not affected, and the accounts guessed at are not locked
    other = TestClient(strict, raise_server_exceptions=False, client=("198.51.100.8", 4000))
    assert _post_signin(other, "clerk").status_code == 303
    with unit_of_work(env.url) as session:
        assert not [u for u in auth_service.list_locked(session) if u.login_name == "clerk"]
    english = TestClient(strict, raise_server_exceptions=False, client=("198.51.100.7", 4001))
    english.get("/lang/en")
    assert "Too many failed sign-ins" in _post_signin(english, "clerk").text


def test_throttle_off_when_configured_zero(env: WebEnv) -> None:
    lax = create_app(Settings(database_url=env.url, signin_ip_max_failures=0))
    http = TestClient(lax, raise_server_exceptions=False, client=("198.51.100.7", 4002))
    assert _post_signin(http, "clerk").status_code == 303  # the same address as above


# --- CSRF on every unsafe route ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), _unsafe_routes())
def test_every_unsafe_route_refuses_a_cookie_request_without_csrf(
    env: WebEnv, engine: Engine, method: str, path: str
) -> None:
    key = holder(env, path) or "clerk"
    signed = env.fresh(key) if path == "/signout" else env.client(key)
    before = fingerprint(engine)
    for kwargs in ({"json": {}}, {"data": {"csrf_token": "forged"}}, {"data": {"x": "1"}}):
        response = signed.http.request(
            method,
            concrete(path),
            follow_redirects=False,
            headers={"accept": "text/html"},
            **kwargs,
        )
        assert response.status_code == 403, (method, path, response.status_code)
        # refused for the missing token (or, for machine-partner routes, for using a cookie)
        assert any(m in response.text for m in ("防伪令牌", "csrf_failed", '"partner_only"'))
    assert fingerprint(engine) == before


# --- SQL injection and reflected markup on every query parameter ------------------------------


@pytest.mark.parametrize(("path", "params"), _query_operations())
def test_query_parameters_resist_sql_injection_and_markup(
    env: WebEnv, engine: Engine, path: str, params: tuple[str, ...]
) -> None:
    key = holder(env, path)
    if key is None:
        client: Any = TestClient(env.app, raise_server_exceptions=False)
        get = lambda url, **kw: client.get(url, follow_redirects=False, **kw)  # noqa: E731
    else:
        signed = env.client(key)
        get = lambda url, **kw: signed.request("GET", url, **kw)  # noqa: E731
    url = concrete(path)
    before = fingerprint(engine)
    for name in params:
        benign = get(url, params={name: NO_MATCH})
        assert benign.status_code < 500, (path, name, benign.text[:300])
        for payload in SQL_PAYLOADS:
            response = get(url, params={name: payload})
            assert response.status_code < 500, (path, name, payload, response.text[:300])
            rows, baseline = size_of(response), size_of(benign)
            if rows is not None and baseline is not None:
                assert rows <= baseline, (path, name, payload, rows, baseline)
        for accept in ("text/html", "application/json"):
            response = get(url, params={name: MARKUP}, headers={"accept": accept})
            assert response.status_code < 500, (path, name, response.text[:300])
            assert "<script>alert(1)</script>" not in response.text, (path, name)
    assert fingerprint(engine) == before
    with engine.connect() as conn:  # the tables the payloads name are intact
        assert conn.execute(text("SELECT count(*) FROM ledger_journal")).scalar_one() >= 0
        assert conn.execute(text("SELECT count(*) FROM user_account")).scalar_one() >= len(USERS)


def test_every_search_parameter_is_covered() -> None:
    """The list searches and filters named in the issue are among the parameters walked."""
    covered = {(p, n) for p, names in _query_operations() for n in names}
    for expected in (
        ("/api/v1/employers", "q"),
        ("/api/v1/depositors", "q"),
        ("/api/v1/depositors", "employer"),
        ("/api/v1/employer/depositors", "q"),
        ("/console/employers", "q"),
        ("/console/depositors", "q"),
        ("/api/v1/applications", "business_type"),
        ("/api/v1/remittances", "month"),
    ):
        assert expected in covered
    assert route_permissions is not None
