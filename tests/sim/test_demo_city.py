"""``hpf demo`` over a simulated city: users tied to it, and every console page shows its data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from hpf.auth.demo import DEMO_PASSWORD, DEMO_STAFF
from hpf.auth.permissions import permissions_of
from hpf.cli import run
from hpf.config import Settings, get_settings
from hpf.db.engine import unit_of_work
from hpf.policy.loader import load_shipped_policy
from hpf.sim.run import simulate
from hpf.web.app import create_app, list_routes

FORM_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
MONTHS = (date(2020, 1, 1), date(2020, 8, 1))
# pages whose content must show the city's own records; statistics pages default to the
# current year, so they are asked for the simulated months
SHOWS = {
    "/console/employers": "模拟单位",
    "/console/depositors": "职工",
    "/console/loans?status=active": "DK",
    # statistics pages open on the period the books cover (here 2020), not on today's year
    "/console/loans/stats": "2020",
    "/console/withdrawals/stats": "购买住房",
    "/console/stats": "2020-0",
}


@pytest.fixture
def city(databases: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = databases.new_url("sqlite")  # type: ignore[attr-defined]
    monkeypatch.setenv("HPF_DATABASE_URL", url)
    monkeypatch.setenv("HPF_ENV", "development")
    get_settings.cache_clear()
    simulate(
        lambda: unit_of_work(url),
        scale=0.0005,
        seed=3,
        policy=load_shipped_policy(),
        months=MONTHS,
    )
    yield url
    get_settings.cache_clear()


def _sign_in(app: object, login: str) -> TestClient:
    http = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    page = http.get("/signin?kind=staff")
    match = FORM_CSRF_RE.search(page.text)
    assert match
    response = http.post(
        "/signin",
        data={
            "kind": "staff",
            "login_name": login,
            "password": DEMO_PASSWORD,
            "csrf_token": match[1],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return http


def test_demo_prints_sign_ins_and_console_pages_show_the_city(
    city: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["demo"]) == 0
    out = capsys.readouterr().out
    assert "演示城市已存在" in out and "http://127.0.0.1:8000" in out
    for role in DEMO_STAFF:
        assert f"login {role}" in out
    app = create_app(Settings(database_url=city))
    clients = {role: _sign_in(app, role) for role in ("sysadmin", "leadership", "finance")}
    pages = [
        r
        for r in list_routes(app)
        if "GET" in r["methods"]
        and r["path"].startswith("/console")
        and "{" not in r["path"]
        and not r["path"].endswith("/new")
    ]
    assert len(pages) > 15
    checked = 0
    for route in pages:
        needed = set(route["permissions"] or ())
        role = next((r for r in DEMO_STAFF if needed & permissions_of(frozenset({r}))), None)
        if role is None:
            continue
        if role not in clients:
            clients[role] = _sign_in(app, role)
        path = route["path"]
        response = clients[role].get(path, headers={"accept": "text/html"})
        assert response.status_code == 200, (path, role, response.status_code)
        checked += 1
    assert checked == len(pages)
    for path, marker in SHOWS.items():
        answers = [c.get(path, headers={"accept": "text/html"}) for c in clients.values()]
        allowed = [a for a in answers if a.status_code != 403]
        assert allowed and all(a.status_code == 200 for a in allowed), path
        assert any(marker in a.text for a in allowed), path
