"""Contribution pages and API (归集): console, employer portal, depositor portal, /api/v1.

Seeds two employers of branch A (X with two depositors, Y with one) and one of another branch
(Z), an employer agent for X and Y and a depositor user for one person of X and of Y, all made
through the real services. Then: every page renders for its role; no employer agent ever reaches
another employer's lists, depositors or files and no depositor another's statement (pages and
API); a bad upload shows its row errors, downloads them as CSV and writes nothing; a good upload
is confirmed, funded and posted and shows on the statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from deposit_books import Books
from hpf.auth import service as auth_service
from hpf.auth.models import AuditRecord
from hpf.auth.principal import system_principal
from hpf.db.engine import unit_of_work
from hpf.deposits import remittance as remittance_service
from hpf.deposits.models import Employer, Remittance, RemittanceLine
from hpf.ledger.models import Journal
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from web.conftest import PASSWORD, SignedIn, sign_in

HTML = {"accept": "text/html"}
HX = {"accept": "text/html", "HX-Request": "true"}
MONTH = date.today().replace(day=1)
MONTH_TEXT = f"{MONTH:%Y-%m}"


@dataclass
class Seeded:
    x: str
    y: str
    z: str
    x_people: list[tuple[str, str, str]]  # (ref, id number, name)
    y_people: list[tuple[str, str, str]]
    clients: dict[str, SignedIn]


@pytest.fixture(scope="module")
def seeded(web: Any) -> Seeded:
    policy, actor = load_shipped_policy(), system_principal("test")
    with unit_of_work(web.url) as session:
        branches = list(
            session.scalars(select(OrgUnit).where(OrgUnit.kind == "branch").order_by(OrgUnit.id))
        )
        home = next(b for b in branches if b.id == web.branch_id)
        other = next(b for b in branches if b.id != web.branch_id)
        books = Books(session, policy, actor, home.code)
        x, y = books.employer("12"), books.employer("10")
        z = Books(session, policy, actor, other.code).employer("12")
        x_people = [books.depositor(x, 500_000), books.depositor(x, 600_000)]
        y_people = [books.depositor(y, 400_000)]
        Books(session, policy, actor, other.code).depositor(z, 500_000)
        users = {
            "agentX": ("employer", x.employer_ref, {"employer_ref": x.employer_ref}),
            "agentY": ("employer", y.employer_ref, {"employer_ref": y.employer_ref}),
            "personX": (
                "depositor",
                x_people[0].id_number,
                {"depositor_ref": x_people[0].depositor_ref},
            ),
            "personY": (
                "depositor",
                y_people[0].id_number,
                {"depositor_ref": y_people[0].depositor_ref},
            ),
        }
        for key, (kind, login, kwargs) in users.items():
            auth_service.create_user(
                session,
                kind=kind,
                login_name=login,
                password=PASSWORD,
                display_name=key,
                branch_id=web.branch_id,
                **kwargs,
            )
        result = Seeded(
            x.employer_ref,
            y.employer_ref,
            z.employer_ref,
            [(p.depositor_ref, p.id_number, p.name) for p in x_people],
            [(p.depositor_ref, p.id_number, p.name) for p in y_people],
            {},
        )
    result.clients = {key: sign_in(web.app, kind, login) for key, (kind, login, _) in users.items()}
    return result


def _list_id(web: Any, employer_ref: str) -> int | None:
    with unit_of_work(web.url) as session:
        return session.scalar(
            select(Remittance.id)
            .join(Employer, Employer.id == Remittance.employer_id)
            .where(Employer.employer_ref == employer_ref, Remittance.month == MONTH)
        )


def _draft(web: Any, seeded: Seeded, agent: str, ref: str) -> int:
    client = seeded.clients[agent]
    response = client.request("POST", "/employer/remittance/draft", data={"month": MONTH_TEXT})
    assert response.status_code == 303
    again = client.request("POST", "/employer/remittance/draft", data={"month": MONTH_TEXT})
    assert again.status_code == 303  # a second click drafts nothing more
    list_id = _list_id(web, ref)
    assert list_id is not None
    return list_id


def _lines(web: Any, list_id: int) -> list[tuple[int, int]]:
    with unit_of_work(web.url) as session:
        return [
            (int(b), int(e))
            for b, e in session.execute(
                select(RemittanceLine.base_fen, RemittanceLine.employer_fen)
                .where(RemittanceLine.remittance_id == list_id)
                .order_by(RemittanceLine.base_fen)
            )
        ]


def _audits(web: Any, action: str, object_id: str) -> int:
    with unit_of_work(web.url) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.action == action, AuditRecord.object_id == object_id)
            )
            or 0
        )


# --- staff console ------------------------------------------------------------------------


def test_console_pages_render_for_staff_of_the_branch(web: Any, seeded: Seeded) -> None:
    clerk = web.client("clerk")
    listing = clerk.request("GET", "/console/employers", headers=HTML)
    assert listing.status_code == 200
    assert seeded.x in listing.text and seeded.y in listing.text
    assert seeded.z not in listing.text  # another branch
    found = clerk.request("GET", f"/console/employers?q={seeded.y}", headers=HTML)
    assert seeded.y in found.text and seeded.x not in found.text
    detail = clerk.request("GET", f"/console/employers/{seeded.x}", headers=HTML)
    assert detail.status_code == 200
    assert 'id="depositor-count">2<' in detail.text and "12.00%" in detail.text
    assert clerk.request("GET", f"/console/employers/{seeded.z}", headers=HTML).status_code == 404
    people = clerk.request("GET", f"/console/depositors?employer={seeded.x}", headers=HTML)
    _ref, id_number, name = seeded.x_people[0]
    assert name in people.text and id_number not in people.text  # masked in lists
    assert id_number[:4] + "**********" + id_number[-4:] in people.text
    for path in ("/console/remittances", f"/console/remittances?month={MONTH_TEXT}"):
        assert clerk.request("GET", path, headers=HTML).status_code == 200
    arrears = clerk.request("GET", "/console/arrears", headers=HTML)
    assert arrears.status_code == 200 and seeded.x in arrears.text
    assert f"/console/arrears/{seeded.x}/reminder" in arrears.text
    nav = clerk.request("GET", "/console/employers", headers=HTML).text
    for link in ("/console/depositors", "/console/remittances", "/console/arrears"):
        assert f'href="{link}"' in nav
    for key in ("approver", "finance", "leadership", "auditor"):
        stats = web.client(key).request("GET", "/console/stats?from=2023-01&to=2026-12")
        assert stats.status_code == 200, key
    assert clerk.request("GET", "/console/stats", headers=HTML).status_code == 403
    assert seeded.clients["agentX"].request("GET", "/console/employers").status_code == 403
    assert seeded.clients["personX"].request("GET", "/console/depositors").status_code == 403


def test_depositor_detail_is_masked_or_audited(web: Any, seeded: Seeded) -> None:
    ref, id_number, _ = seeded.x_people[1]
    before = _audits(web, "person.unmask", ref), _audits(web, "person.view", ref)
    clerk = web.client("clerk").request("GET", f"/console/depositors/{ref}", headers=HTML)
    assert clerk.status_code == 200 and id_number in clerk.text and 'id="statement"' in clerk.text
    agent = web.client("service_agent").request("GET", f"/console/depositors/{ref}", headers=HTML)
    assert agent.status_code == 200 and id_number not in agent.text
    assert (_audits(web, "person.unmask", ref), _audits(web, "person.view", ref)) == (
        before[0] + 1,
        before[1] + 1,
    )
    api = web.client("service_agent").request("GET", f"/api/v1/depositors/{ref}")
    assert api.status_code == 200 and api.json()["id_number"] != id_number
    assert api.json()["unmasked"] is False
    other = seeded.y_people[0][0]
    assert web.client("clerk").request("GET", f"/api/v1/depositors/{other}").status_code == 200
    assert web.client("clerk").request("GET", "/api/v1/depositors/nobody").status_code == 404


def test_reminder_notice_and_its_history(web: Any, seeded: Seeded) -> None:
    denied = web.client("service_agent").request("POST", f"/console/arrears/{seeded.y}/reminder")
    assert denied.status_code == 403
    issued = web.client("clerk").request("POST", f"/console/arrears/{seeded.y}/reminder")
    assert issued.status_code == 303
    assert issued.headers["location"] == f"/console/employers/{seeded.y}#reminders"
    page = web.client("clerk").request("GET", f"/console/employers/{seeded.y}", headers=HTML)
    assert page.text.count('class="reminder"') == 1 and "住房公积金催缴通知书" in page.text
    assert _audits(web, "employer.reminder", seeded.y) == 1
    api = web.client("clerk").request("POST", f"/api/v1/employers/{seeded.y}/reminders")
    assert api.status_code == 201 and api.json()["amount_fen"] > 0
    detail = web.client("clerk").request("GET", f"/api/v1/employers/{seeded.y}").json()
    assert len(detail["reminders"]) == 2 and detail["arrears"]
    outside = web.client("clerk").request("POST", f"/api/v1/employers/{seeded.z}/reminders")
    assert outside.status_code == 404


# --- IDOR ---------------------------------------------------------------------------------


def test_employer_agent_never_reaches_another_employers_data(web: Any, seeded: Seeded) -> None:
    x_list = _draft(web, seeded, "agentX", seeded.x)
    x, y = seeded.clients["agentX"], seeded.clients["agentY"]
    assert x.request("GET", f"/api/v1/employer/remittances/{x_list}").status_code == 200
    for method, path in (
        ("GET", f"/api/v1/employer/remittances/{x_list}"),
        ("POST", f"/api/v1/employer/remittances/{x_list}/confirm"),
        ("GET", f"/employer/remittances/{x_list}/template.csv"),
        ("POST", f"/employer/remittances/{x_list}/confirm"),
    ):
        response = y.request(method, path, headers=HTML)
        assert response.status_code == 404, (method, path)
    for path in (
        f"/employer/remittances/{x_list}/upload",
        f"/api/v1/employer/remittances/{x_list}/upload",
    ):
        sent = y.request("POST", path, files={"file": ("a.csv", b"x,y\n1,2\n", "text/csv")})
        assert sent.status_code == 404, path
    with unit_of_work(web.url) as session:
        lst = session.get(Remittance, x_list)
        assert lst is not None and lst.status == "draft" and lst.source == "drafted"
    assert x_list not in [
        i["id"] for i in y.request("GET", "/api/v1/employer/remittances").json()["items"]
    ]
    assert seeded.x not in y.request("GET", "/employer/remittances", headers=HTML).text
    x_names = [name for _, _, name in seeded.x_people]
    y_page = y.request("GET", "/employer/depositors", headers=HTML)
    assert y_page.status_code == 200 and seeded.y_people[0][2] in y_page.text
    assert not any(n in y_page.text for n in x_names)
    y_api = y.request("GET", "/api/v1/employer/depositors").json()
    assert [d["depositor_ref"] for d in y_api["items"]] == [seeded.y_people[0][0]]
    searched = y.request("GET", f"/api/v1/employer/depositors?q={seeded.x_people[0][1]}").json()
    assert searched["items"] == []
    # the staff API and pages are closed to agents whatever the ref
    assert y.request("GET", f"/api/v1/employers/{seeded.x}").status_code == 403
    assert y.request("GET", f"/api/v1/employers/{seeded.x}/remittances").status_code == 403
    assert y.request("GET", "/api/v1/depositors").status_code == 403
    remittance_page = y.request("GET", "/employer/remittance", headers=HTML)
    assert remittance_page.status_code == 200 and 'id="draft-form"' in remittance_page.text


def test_depositor_never_reads_another_statement(web: Any, seeded: Seeded) -> None:
    a, b = seeded.clients["personX"], seeded.clients["personY"]
    own = a.request("GET", "/api/v1/me/statement")
    assert own.status_code == 200 and own.json()["code"] == f"201-{seeded.x_people[0][0]}"
    assert b.request("GET", "/api/v1/me/statement").json()["code"] == f"201-{seeded.y_people[0][0]}"
    other = seeded.x_people[0][0]
    assert b.request("GET", f"/api/v1/depositors/{other}").status_code == 403
    assert b.request("GET", f"/api/v1/depositors/{other}/statement").status_code == 403
    assert b.request("GET", f"/console/depositors/{other}", headers=HTML).status_code == 403
    page = b.request("GET", "/me/statement?year=2024", headers=HTML)
    assert page.status_code == 200 and other not in page.text
    nav = b.request("GET", "/me", headers=HTML).text
    assert 'href="/me/statement"' in nav
    assert a.request("GET", "/me/statement?year=1800").status_code == 422


# --- uploads end to end -------------------------------------------------------------------


def _template(client: SignedIn, list_id: int) -> str:
    response = client.request("GET", f"/employer/remittances/{list_id}/template.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    return response.content.decode("utf-8-sig")


def test_bad_upload_shows_row_errors_and_writes_nothing(web: Any, seeded: Seeded) -> None:
    list_id = _list_id(web, seeded.x) or _draft(web, seeded, "agentX", seeded.x)
    x = seeded.clients["agentX"]
    before = _lines(web, list_id)
    text = _template(x, list_id)
    assert "5000.00,600.00,600.00" in text
    bad = text.replace("5000.00,600.00,600.00", "5000.00,999.00,600.00").encode("gbk")
    with unit_of_work(web.url) as session:
        journals = session.scalar(select(func.count()).select_from(Journal))
    files = {"file": ("清册.csv", bad, "text/csv")}
    page = x.request("POST", f"/employer/remittances/{list_id}/upload", files=files, headers=HX)
    assert page.status_code == 200 and "<html" not in page.text
    assert 'id="row-errors"' in page.text and 'id="error-report"' in page.text
    full = x.request("POST", f"/employer/remittances/{list_id}/upload", files=files, headers=HTML)
    assert full.status_code == 200 and "<html" in full.text and 'id="row-errors"' in full.text
    report = x.request("POST", f"/employer/remittances/{list_id}/upload/errors.csv", files=files)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    assert report.content.startswith(b"\xef\xbb\xbf")
    rows = report.content.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("行号,列,错误代码") and len(rows) == 2
    api = x.request("POST", f"/api/v1/employer/remittances/{list_id}/upload", files=files)
    assert api.status_code == 422
    assert api.headers["content-type"].startswith("application/problem+json")
    assert (
        api.json()["code"] == "remittance_file_invalid" and api.json()["errors"][0]["line_no"] > 1
    )
    refused = x.request(
        "POST",
        f"/employer/remittances/{list_id}/upload",
        files={"file": ("x.csv", b"", "text/csv")},
        headers=HX,
    )
    assert 'id="upload-refused"' in refused.text
    empty_api = x.request(
        "POST",
        f"/api/v1/employer/remittances/{list_id}/upload",
        files={"file": ("x.csv", b"", "text/csv")},
    )
    assert empty_api.status_code == 400 and empty_api.json()["code"] == "file_empty"
    assert _lines(web, list_id) == before
    with unit_of_work(web.url) as session:
        lst = session.get(Remittance, list_id)
        assert lst is not None and lst.source == "drafted" and lst.status == "draft"
        assert session.scalar(select(func.count()).select_from(Journal)) == journals
    assert _audits(web, "remittance.upload_rejected", str(list_id)) == 3


def test_good_upload_confirm_and_post_show_on_the_statement(web: Any, seeded: Seeded) -> None:
    list_id = _list_id(web, seeded.x) or _draft(web, seeded, "agentX", seeded.x)
    x = seeded.clients["agentX"]
    page = x.request("GET", "/employer/remittance", headers=HTML)
    assert 'id="upload-form"' in page.text and 'id="upload-progress"' in page.text
    assert "/static/hpf.js" in page.text
    assert x.http.get("/static/hpf.js").status_code == 200
    text = _template(x, list_id).replace("5000.00,600.00,600.00", "5500.00,660.00,660.00")
    files = {"file": ("list.csv", text.encode("utf-8"), "text/csv")}
    done = x.request("POST", f"/employer/remittances/{list_id}/upload", files=files, headers=HX)
    assert done.status_code == 204
    assert done.headers["HX-Redirect"] == f"/employer/remittance?month={MONTH_TEXT}"
    assert _lines(web, list_id) == [(550_000, 66_000), (600_000, 72_000)]
    api = x.request("POST", f"/api/v1/employer/remittances/{list_id}/upload", files=files)
    assert api.status_code == 200 and api.json()["accepted"] is True
    assert api.json()["remittance"]["total_fen"] == 2 * (66_000 + 72_000)
    confirmed = x.request("POST", f"/employer/remittances/{list_id}/confirm")
    assert confirmed.status_code == 303
    again = x.request("POST", f"/api/v1/employer/remittances/{list_id}/confirm")
    assert again.status_code == 409  # already confirmed
    listing = x.request("GET", "/api/v1/employer/remittances").json()
    assert listing["items"][0]["status"] == "confirmed"
    # the center receives the employer's money and posts the list
    with unit_of_work(web.url) as session:
        employer = session.scalar(select(Employer).where(Employer.employer_ref == seeded.x))
        assert employer is not None
        actor = system_principal("test")
        remittance_service.receive_funds(
            session, employer, 276_000, MONTH, actor, idempotency_key=f"web-test-{list_id}"
        )
        remittance_service.post_remittances(session, [list_id], MONTH, actor)
    me = seeded.clients["personX"]
    statement = me.request("GET", "/api/v1/me/statement").json()
    assert statement["lines"][-1]["amount_fen"] == 132_000
    assert statement["closing_fen"] >= 132_000
    page = me.request("GET", "/me/statement", headers=HTML)
    assert "1,320.00" in page.text
    history = x.request("GET", "/employer/remittances", headers=HTML)
    assert 'data-status="posted"' in history.text
    month = web.client("clerk").request("GET", f"/api/v1/remittances?month={MONTH_TEXT}").json()
    assert any(i["id"] == list_id and i["status"] == "posted" for i in month["items"])
    stats = web.client("finance").request("GET", f"/api/v1/stats/monthly?from={MONTH_TEXT}")
    assert stats.status_code == 200
    assert sum(m["amount_fen"] for m in stats.json()["months"]) >= 276_000
