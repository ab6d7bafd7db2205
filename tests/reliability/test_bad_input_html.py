"""Markup in names is text everywhere (HTML/JS in names, escaped everywhere).

An employer named ``<script>alert(1)</script>``, a depositor named ``<img src=x onerror=...>``
and a staff member whose display name is markup are made through the real use cases (which
accept any text as a name). Then every HTML page of the app the relevant users may open — the
paths read from the route table, path parameters filled with these records — is fetched, and
the raw markup appears on none of them; the pages that list the names show them escaped. The
JSON API returns the name as the same string (data, not markup).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from deposit_books import Books
from hpf.auth import service as auth_service
from hpf.auth.principal import system_principal
from hpf.db.engine import unit_of_work
from hpf.deposits.depositors import DepositorInput, open_depositor
from hpf.deposits.employers import EmployerInput, open_employer
from hpf.identifiers import make_id_number, make_uscc
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from hpf.web.app import all_routes
from hpf.web.security import is_public_path
from web.conftest import PASSWORD, SignedIn, WebEnv, make_env, sign_in
from web.test_route_walk import concrete

EMPLOYER_NAME = "<script>alert(1)</script>临沂"
PERSON_NAME = "<img src=x onerror=alert(2)>"
STAFF_NAME = "<svg onload=alert(3)>"
RAW = ("<script>alert(1)", "<img src=x onerror", "<svg onload")
HTML = {"accept": "text/html"}


@dataclass
class Hostile:
    env: WebEnv
    employer_ref: str
    depositor_ref: str
    clients: dict[str, SignedIn]


@pytest.fixture(scope="module")
def hostile(backend: str, databases: Any) -> Iterator[Hostile]:
    env = make_env(databases, backend)
    policy, actor = load_shipped_policy(), system_principal("test")
    id_number = make_id_number("371302", date(1991, 5, 6), 77, male=True)
    with unit_of_work(env.url) as session:
        code = session.scalar(select(OrgUnit.code).where(OrgUnit.id == env.branch_id))
        assert code is not None
        employer = open_employer(
            session,
            EmployerInput(
                uscc=make_uscc("91371300MA8XYWTU1"),
                name=EMPLOYER_NAME,
                branch_code=code,
                employer_rate_pct=Decimal("12"),
                employee_rate_pct=Decimal("12"),
                opened_on=date(2023, 7, 1),
                contact_name=STAFF_NAME,
            ),
            policy,
            actor,
        )
        person = open_depositor(
            session,
            DepositorInput(
                id_number=id_number,
                name=PERSON_NAME,
                employer_ref=employer.employer_ref,
                base_fen=500_000,
                joined_on=date(2023, 7, 1),
            ),
            policy,
            actor,
        )
        Books(session, policy, actor, code).depositor(employer, 600_000)
        refs = (employer.employer_ref, person.depositor_ref)
        users = {
            "staff": ("staff", "xss-clerk", {"roles": ["clerk"], "display_name": STAFF_NAME}),
            "agent": ("employer", refs[0], {"employer_ref": refs[0], "display_name": STAFF_NAME}),
            "person": (
                "depositor",
                id_number,
                {"depositor_ref": refs[1], "display_name": PERSON_NAME},
            ),
        }
        for kind, login, kwargs in users.values():
            auth_service.create_user(
                session,
                kind=kind,
                login_name=login,
                password=PASSWORD,
                branch_id=env.branch_id,
                **kwargs,
            )
    clients = {k: sign_in(env.app, kind, login) for k, (kind, login, _) in users.items()}
    clients["sysadmin"] = env.client("sysadmin")
    clients["finance"] = env.client("finance")
    yield Hostile(env, refs[0], refs[1], clients)
    for signed in clients.values():
        signed.http.close()


def _pages(h: Hostile) -> list[str]:
    """Every GET page (not /api, not static) with its path parameters filled in."""
    out = []
    for route in all_routes(h.env.app):
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or ()):
            continue
        path = route.path
        if path.startswith(("/api", "/static")) or (is_public_path(path) and path != "/"):
            continue
        path = path.replace("{employer_ref}", h.employer_ref)
        path = path.replace("{depositor_ref}", h.depositor_ref)
        out.append(concrete(path))
    return sorted(set(out))


def test_no_page_shows_a_name_as_markup(hostile: Hostile) -> None:
    pages = _pages(hostile)
    assert len(pages) >= 40
    seen = 0
    for url in pages:
        for key, client in hostile.clients.items():
            response = client.request("GET", url, headers=HTML)
            assert response.status_code < 500, (key, url, response.text[:300])
            for raw in RAW:
                assert raw not in response.text, (key, url, raw)
            seen += response.status_code == 200
    assert seen >= 30  # most pages were really rendered for some user


def test_the_names_are_shown_escaped_where_they_are_listed(hostile: Hostile) -> None:
    staff, agent = hostile.clients["staff"], hostile.clients["agent"]
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;临沂"
    for url in ("/console/employers", f"/console/employers/{hostile.employer_ref}"):
        assert escaped in staff.request("GET", url, headers=HTML).text, url
    assert "&lt;svg onload=alert(3)&gt;" in agent.request("GET", "/employer", headers=HTML).text
    found = staff.request("GET", "/console/employers?q=script", headers=HTML).text
    assert escaped in found
    assert "&lt;svg onload=alert(3)&gt;" in staff.request("GET", "/console", headers=HTML).text


def test_json_carries_names_as_data(hostile: Hostile) -> None:
    staff = hostile.clients["staff"]
    response = staff.request("GET", "/api/v1/employers?q=script")
    assert response.headers["content-type"].startswith("application/json")
    names = [i["name"] for i in response.json()["items"]]
    assert EMPLOYER_NAME in names
    me = hostile.clients["person"].request("GET", "/api/v1/me")
    assert me.headers["content-type"].startswith("application/json")
    assert me.json()["display_name"] == PERSON_NAME
