"""Web fixtures: a migrated database per backend seeded with the org and one user per role, and
signed-in test clients (cookie session + CSRF token) for each of them.

Users: one staff member per staff role (login = role name, all in branch A), two employer agents
(E0001, E0002) and two depositors (the demo ID numbers), all with password ``Demo2023!``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hpf.auth import service as auth_service
from hpf.auth.permissions import ROLES_BY_KIND, permissions_of
from hpf.config import Settings
from hpf.db.engine import unit_of_work
from hpf.identifiers import make_id_number
from hpf.ledger.service import open_subsidiary
from hpf.org import service as org_service
from hpf.web.app import create_app

PASSWORD = "Demo2023!"
DEPOSITOR_A = make_id_number("371302", date(1988, 3, 14), 21, male=True)
DEPOSITOR_B = make_id_number("371302", date(1992, 11, 2), 44, male=False)
STAFF_ROLES = sorted(ROLES_BY_KIND["staff"])
# principal key -> (kind, login, create_user keyword arguments)
USERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    **{
        role: ("staff", role, {"display_name": f"测试{role}", "roles": [role]})
        for role in STAFF_ROLES
    },
    "employer1": ("employer", "E0001", {"display_name": "单位一经办人", "employer_ref": "E0001"}),
    "employer2": ("employer", "E0002", {"display_name": "单位二经办人", "employer_ref": "E0002"}),
    "depositorA": ("depositor", DEPOSITOR_A, {"display_name": "张建国", "depositor_ref": "P1"}),
    "depositorB": ("depositor", DEPOSITOR_B, {"display_name": "李秀英", "depositor_ref": "P2"}),
}
DEFAULT_ROLE = {"employer": "employer_agent", "depositor": "depositor"}
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]*)"')
FORM_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class WebEnv:
    """The app over a seeded database, plus what the tests need to sign in."""

    url: str
    app: Any
    branch_id: int
    user_ids: dict[str, int] = field(default_factory=dict)
    users: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=lambda: USERS)
    _clients: dict[str, SignedIn] = field(default_factory=dict)

    def permissions(self, key: str) -> frozenset[str]:
        """The permissions of user ``key``'s roles."""
        kind, _login, kwargs = USERS[key]
        roles = kwargs.get("roles") or [DEFAULT_ROLE[kind]]
        return permissions_of(frozenset(roles))

    def client(self, key: str) -> SignedIn:
        """A client signed in as ``key`` (cached per module)."""
        if key not in self._clients:
            kind, login, _ = USERS[key]
            self._clients[key] = sign_in(self.app, kind, login)
        return self._clients[key]

    def fresh(self, key: str) -> SignedIn:
        kind, login, _ = USERS[key]
        return sign_in(self.app, kind, login)


@dataclass
class SignedIn:
    """A test client holding a session cookie, and that session's CSRF token."""

    http: TestClient
    csrf: str

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.http.request(method, url, headers=headers, follow_redirects=False, **kwargs)


def sign_in(app: Any, kind: str, login: str, password: str = PASSWORD) -> SignedIn:
    http = TestClient(app, raise_server_exceptions=False)
    page = http.get(f"/signin?kind={kind}")
    match = FORM_CSRF_RE.search(page.text)
    assert match, "sign-in form lacks its CSRF field"
    response = http.post(
        "/signin",
        data={"kind": kind, "login_name": login, "password": password, "csrf_token": match[1]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = http.get(response.headers["location"], headers={"accept": "text/html"})
    csrf = CSRF_RE.search(home.text)
    assert csrf and csrf[1], "signed-in page lacks the csrf-token meta tag"
    return SignedIn(http, csrf[1])


def seed(url: str) -> tuple[int, dict[str, int]]:
    """Org units, one account per user of USERS, and ledger accounts for the portals."""
    ids: dict[str, int] = {}
    with unit_of_work(url) as session:
        org_service.seed_linyi(session)
        branches = [u for u in org_service.list_units(session) if u.kind == "branch"]
        branch_id = branches[0].id
        for key, (kind, login, kwargs) in USERS.items():
            ids[key] = auth_service.create_user(
                session,
                kind=kind,
                login_name=login,
                password=PASSWORD,
                branch_id=branch_id,
                **kwargs,
            )
        for kind, ref in (("employer", "E0001"), ("employer", "E0002"), ("depositor", "P1")):
            open_subsidiary(
                session, kind=kind, ref=ref, name=ref, branch_id=branch_id, opened_on=date.today()
            )
    return branch_id, ids


def make_env(databases: Any, backend: str) -> WebEnv:
    """A new seeded database on ``backend`` and the app over it."""
    url = databases.new_url(backend)
    branch_id, ids = seed(url)
    return WebEnv(url, create_app(Settings(database_url=url)), branch_id, ids)


@contextmanager
def served_env(databases: Any, backend: str) -> Iterator[WebEnv]:
    """:func:`make_env` for a module fixture; its signed-in clients are closed on exit."""
    env = make_env(databases, backend)
    try:
        yield env
    finally:
        for signed in env._clients.values():
            signed.http.close()


@pytest.fixture(scope="module")
def web(backend: str, databases: Any) -> Iterator[WebEnv]:
    with served_env(databases, backend) as env:
        yield env


@pytest.fixture(scope="module")
def sqlite_web(databases: Any) -> WebEnv:
    """The seeded app on SQLite only (for slow generated tests that need not run twice)."""
    return make_env(databases, "sqlite")
