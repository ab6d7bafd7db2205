"""Every route of the app, walked: public or guarded, and the guard holds for every role.

For each route and method: a public route (the allowlist) answers anonymous callers without
401/403; any other route declares ``require(...)``, answers anonymous callers 401 problem+json
(API) or 303 to /signin (pages), answers 403 to every signed-in principal lacking its
permissions, and neither 401 nor 403 to one holding them. Plus IDOR tests: a depositor or an
employer agent never reads another's application or account.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from hpf.auth import service as auth_service
from hpf.auth.permissions import ROLE_PERMISSIONS
from hpf.config import Settings
from hpf.db.engine import unit_of_work
from hpf.web.app import all_routes, create_app, list_routes
from hpf.web.security import is_public_path, route_permissions
from hpf.workflow import service as workflow

ALLOWED_PUBLIC = (
    "/",
    "/healthz",
    "/static",
    "/signin",
    "/lang/",
    "/calc",
    "/api/v1/calc/",
    "/api/docs",
    "/api/openapi.json",
    "/api/routes.json",
)
SAMPLES = {
    "{application_id}": "999999",
    "{user_id}": "999999",
    "{code}": "101",
    "{remittance_id}": "999999",
    "{employer_ref}": "000000999999",
    "{depositor_ref}": "000000999999",
    "{withdrawal_id}": "999999",
    "{batch_id}": "999999",
    "{loan_id}": "999999",
    "{year}": "2023",
}


def concrete(path: str) -> str:
    for name, value in SAMPLES.items():
        path = path.replace(name, value)
    return path


def call(client: Any, method: str, path: str) -> Any:
    kwargs: dict[str, Any] = {"headers": {"accept": "text/html"}}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        if path.startswith("/api"):
            kwargs["json"] = {}
        else:
            kwargs["data"] = {"_": "x"}
    if isinstance(client, TestClient):
        return client.request(method, path, follow_redirects=False, **kwargs)
    return client.request(method, path, **kwargs)


def guarded_routes() -> list[tuple[str, str, tuple[str, ...]]]:
    app = create_app(Settings(database_url="sqlite://"))
    out = []
    for route in all_routes(app):
        if not isinstance(route, APIRoute) or is_public_path(route.path):
            continue
        if route.path.startswith("/api/partner/"):  # partner tokens only: tests/partners
            continue
        perms = route_permissions(route.dependant)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            out.append((method, route.path, perms or ()))
    return out


def test_every_route_is_public_or_guarded() -> None:
    app = create_app(Settings(database_url="sqlite://"))
    listed = {r["path"] for r in list_routes(app)}
    for route in all_routes(app):
        path = getattr(route, "path", "")
        assert path in listed or (isinstance(route, Mount) and path + "/{path}" in listed)
        if is_public_path(path if not isinstance(route, Mount) else path + "/"):
            assert path == "/" or path.startswith(ALLOWED_PUBLIC), path
            continue
        assert isinstance(route, APIRoute), f"unguarded non-API route {path}"
        assert route_permissions(route.dependant) is not None, f"{path} lacks require(...)"
    assert ROLE_PERMISSIONS  # the matrix is loaded


def test_routes_json_lists_permissions(web: Any) -> None:
    data = TestClient(web.app).get("/api/routes.json").json()["routes"]
    by_path = {r["path"]: r for r in data}
    assert by_path["/api/v1/ledger/accounts/{code}"]["permissions"] == ["ledger.read"]
    assert by_path["/calc/loan"]["public"] is True
    assert all(r["public"] or r["permissions"] is not None for r in data)


def test_public_routes_need_no_sign_in(web: Any) -> None:
    anon = TestClient(web.app, raise_server_exceptions=False)
    for route in all_routes(web.app):
        if isinstance(route, APIRoute) and is_public_path(route.path):
            for method in (route.methods or set()) - {"HEAD"}:
                response = call(anon, method, concrete(route.path))
                if (method, route.path) == ("POST", "/signin"):  # login CSRF: token required
                    assert response.status_code == 403
                    continue
                assert response.status_code not in (401, 403), (method, route.path)
                assert response.status_code < 500, (method, route.path, response.text)
    assert anon.get("/static/hpf.css").status_code == 200


@pytest.mark.parametrize(("method", "path", "perms"), guarded_routes())
def test_guarded_route(web: Any, method: str, path: str, perms: tuple[str, ...]) -> None:
    url = concrete(path)
    anon = TestClient(web.app, raise_server_exceptions=False)
    response = call(anon, method, url)
    if path.startswith("/api"):
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail_en"]
    else:
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/signin?next=")
    holders = [k for k in web.users if not perms or web.permissions(k) & set(perms)]
    lacking = [k for k in web.users if k not in holders]
    # signing out ends the session: use throw-away sessions for it
    client = web.fresh if path == "/signout" else web.client
    for key in lacking:
        response = call(client(key), method, url)
        assert response.status_code == 403, (key, method, path, response.status_code)
    assert holders, f"no principal may use {path}"
    for key in holders:
        response = call(client(key), method, url)
        assert response.status_code not in (401, 403), (key, method, path, response.text[:300])
        assert response.status_code < 500, (key, method, path, response.text[:300])


# --- IDOR -------------------------------------------------------------------------------------


def _submit(web: Any, key: str, phone: str) -> int:
    with unit_of_work(web.url) as session:
        principal = auth_service.principal_of(session, web.user_ids[key])
        return workflow.submit(
            session,
            business_type="contact_change",
            applicant=principal,
            channel="online_hall",
            payload={"phone": phone},
            branch_id=web.branch_id,
            idempotency_key=f"idor-{key}-{phone}",
        )


def test_depositor_never_reads_another_depositors_data(web: Any) -> None:
    own = _submit(web, "depositorA", "13900000001")
    a, b = web.client("depositorA"), web.client("depositorB")
    assert a.request("GET", f"/api/v1/applications/{own}").status_code == 200
    other = b.request("GET", f"/api/v1/applications/{own}")
    assert other.status_code == 404
    assert other.json()["code"] == "application_not_found"
    assert own not in [i["id"] for i in b.request("GET", "/api/v1/applications").json()["items"]]
    assert own in [i["id"] for i in a.request("GET", "/api/v1/applications").json()["items"]]
    assert a.request("GET", "/api/v1/me/account").json()["code"] == "201-P1"
    assert b.request("GET", "/api/v1/me/account").status_code == 404  # B has no account yet
    assert b.request("GET", "/api/v1/ledger/accounts/201-P1").status_code == 403
    assert (
        b.request(
            "POST", f"/api/v1/applications/{own}/actions", json={"action": "accept"}
        ).status_code
        == 403
    )
    me = b.request("GET", "/me", headers={"accept": "text/html"})
    assert "13900000001" not in me.text and "139****0001" not in me.text


def test_employer_never_reads_another_employers_data(web: Any) -> None:
    own = _submit(web, "employer1", "13900000002")
    e1, e2 = web.client("employer1"), web.client("employer2")
    assert e1.request("GET", f"/api/v1/applications/{own}").status_code == 200
    assert e2.request("GET", f"/api/v1/applications/{own}").status_code == 404
    assert own not in [i["id"] for i in e2.request("GET", "/api/v1/applications").json()["items"]]
    assert e1.request("GET", "/api/v1/employer/account").json()["code"] == "21901-E0001"
    assert e2.request("GET", "/api/v1/employer/account").json()["code"] == "21901-E0002"
    assert e2.request("GET", "/api/v1/ledger/accounts/21901-E0001").status_code == 403
    assert e2.request("GET", "/me", headers={"accept": "text/html"}).status_code == 403
    page = e2.request("GET", "/employer", headers={"accept": "text/html"})
    assert "E0001" not in page.text and "E0002" in page.text


def test_staff_list_is_paginated_and_filtered(web: Any) -> None:
    _submit(web, "depositorB", "13700000000")
    clerk = web.client("clerk")
    data = clerk.request("GET", "/api/v1/applications?size=1&page=1").json()
    assert data["size"] == 1 and len(data["items"]) == 1 and data["total"] >= 1
    done = clerk.request("GET", "/api/v1/applications?status=completed").json()
    assert all(i["status"] == "completed" for i in done["items"])
    typed = clerk.request("GET", "/api/v1/applications?business_type=nothing").json()
    assert typed["items"] == [] and typed["total"] == 0
    assert clerk.request("GET", "/api/v1/applications?status=bogus").status_code == 422
