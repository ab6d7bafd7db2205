"""Contribution writes (归集经办): console forms, employer portal forms and /api/v1, both backends.

Seeds employer X (branch A, the test users' branch) with depositors, and employer Z of another
branch, through the real services. Then: each action works for its role and is refused (403) for
a role without the permission; staff never reach another branch's records (404, nothing
written); a bad credit code or ID number is shown beside its field and writes nothing; replaying
an idempotency key does the work once; the July base adjustment is all or nothing.
"""

from __future__ import annotations

import re
import uuid
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
from hpf.deposits.depositors import DepositorInput, open_depositor
from hpf.deposits.models import Depositor, Employer, Remittance
from hpf.identifiers import make_id_number, make_uscc
from hpf.ledger.models import Journal
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from web.conftest import PASSWORD, SignedIn, sign_in

HTML = {"accept": "text/html"}
KEY_RE = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
_seq = iter(range(1, 10_000))


def key() -> str:
    return uuid.uuid4().hex


def idem(value: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": value or key()}


def new_uscc() -> str:
    return make_uscc(f"91371300MB{next(_seq) + 5000:07d}")


def new_id_number() -> str:
    return make_id_number("371311", date(1985, 5, 17), 2 * next(_seq), male=False)


@dataclass
class Seeded:
    x: str
    z: str
    x_people: list[str]
    dup_keep: str
    dup_other: str
    z_person: str
    agent: SignedIn


@pytest.fixture(scope="module")
def seeded(web: Any) -> Seeded:
    policy, actor = load_shipped_policy(), system_principal("test")
    with unit_of_work(web.url) as session:
        branches = list(
            session.scalars(select(OrgUnit).where(OrgUnit.kind == "branch").order_by(OrgUnit.id))
        )
        home = next(b for b in branches if b.id == web.branch_id)
        other = next(b for b in branches if b.id != web.branch_id)
        books, far = (
            Books(session, policy, actor, home.code),
            Books(session, policy, actor, other.code),
        )
        x, z = books.employer("12"), far.employer("12")
        people = [books.depositor(x, 500_000) for _ in range(4)]
        keep = open_depositor(
            session,
            DepositorInput(new_id_number(), "王重复", x.employer_ref, 400_000, date(2023, 7, 1)),
            policy,
            actor,
        )
        dup = open_depositor(
            session,
            DepositorInput(new_id_number(), "王重复", x.employer_ref, 400_000, date(2023, 7, 1)),
            policy,
            actor,
        )
        z_person = far.depositor(z, 500_000)
        auth_service.create_user(
            session,
            kind="employer",
            login_name=x.employer_ref,
            password=PASSWORD,
            display_name="agentX",
            employer_ref=x.employer_ref,
        )
        result = (
            x.employer_ref,
            z.employer_ref,
            [p.depositor_ref for p in people],
            keep.depositor_ref,
            dup.depositor_ref,
            z_person.depositor_ref,
        )
    agent = sign_in(web.app, "employer", result[0])
    return Seeded(*result, agent=agent)


def count(web: Any, model: Any, *where: Any) -> int:
    with unit_of_work(web.url) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def depositor(web: Any, ref: str) -> tuple[str, int, int | None]:
    with unit_of_work(web.url) as session:
        d = session.scalar(select(Depositor).where(Depositor.depositor_ref == ref))
        assert d is not None
        return d.status, d.base_fen, d.employer_id


def form_key(page: str) -> str:
    match = KEY_RE.search(page)
    assert match, "the form lacks its idempotency key"
    return match[1]


# --- employers ----------------------------------------------------------------------------


def test_open_employer_shows_a_bad_credit_code_and_writes_nothing(web: Any, seeded: Seeded) -> None:
    clerk = web.client("clerk")
    page = clerk.request("GET", "/console/employers/new", headers=HTML)
    assert page.status_code == 200 and 'id="employer-open-form"' in page.text
    assert 'href="/console/employers/new"' in page.text  # in the navigation
    good = new_uscc()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    form = {
        "idempotency_key": form_key(page.text),
        "uscc": bad,
        "name": "临沂测试开户单位",
        "employer_rate": "12",
        "employee_rate": "12",
        "pay_day": "15",
        "first_month": f"{date.today():%Y-%m}",
    }
    before = count(web, Employer)
    refused = clerk.request("POST", "/console/employers/new", data=form, headers=HTML)
    assert refused.status_code == 422
    assert 'id="uscc-error"' in refused.text and "校验位错误" in refused.text
    assert 'class="form-control is-invalid" type="text" id="uscc"' in refused.text
    assert "临沂测试开户单位" in refused.text  # the values typed are kept
    assert count(web, Employer) == before
    form["uscc"] = good
    opened = clerk.request("POST", "/console/employers/new", data=form, headers=HTML)
    assert opened.status_code == 303
    location = opened.headers["location"]
    assert location.startswith("/console/employers/")
    again = clerk.request("POST", "/console/employers/new", data=form, headers=HTML)
    assert again.status_code == 303 and again.headers["location"] == location
    assert count(web, Employer) == before + 1
    ref = location.rsplit("/", 1)[1]
    assert (
        count(web, AuditRecord, AuditRecord.action == "employer.open", AuditRecord.object_id == ref)
        == 1
    )
    detail = clerk.request("GET", location, headers=HTML)
    assert "未重复办理" in detail.text and 'id="rates-form"' in detail.text
    # the same key for another request is refused
    form["name"] = "另一个单位"
    conflict = clerk.request("POST", "/console/employers/new", data=form, headers=HTML)
    assert conflict.status_code == 422 and "幂等键" in conflict.text


def test_open_employer_api(web: Any, seeded: Seeded) -> None:
    clerk = web.client("clerk")
    body = {
        "uscc": new_uscc(),
        "name": "接口开户单位",
        "employer_rate_pct": "10",
        "employee_rate_pct": "10",
    }
    bad = clerk.request(
        "POST", "/api/v1/employers", json={**body, "uscc": body["uscc"][:-1] + "!"}, headers=idem()
    )
    assert bad.status_code == 400 and bad.json()["field"] == "uscc"
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "统一社会信用代码" in bad.json()["detail"]
    assert clerk.request("POST", "/api/v1/employers", json=body).status_code == 422  # no key
    headers = idem()
    first = clerk.request("POST", "/api/v1/employers", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["replayed"] is False and first.json()["employer"]["status"] == "02"
    replay = clerk.request("POST", "/api/v1/employers", json=body, headers=headers)
    assert replay.status_code == 201 and replay.json()["replayed"] is True
    assert replay.json()["employer"]["employer_ref"] == first.json()["employer"]["employer_ref"]
    assert count(web, Employer, Employer.uscc == body["uscc"]) == 1
    other = clerk.request("POST", "/api/v1/employers", json={**body, "name": "x"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    dup = clerk.request("POST", "/api/v1/employers", json=body, headers=idem())
    assert dup.status_code == 409 and dup.json()["field"] == "uscc"
    for who in ("service_agent", "finance", "reviewer"):
        denied = web.client(who).request("POST", "/api/v1/employers", json=body, headers=idem())
        assert denied.status_code == 403, who
    assert (
        seeded.agent.request("POST", "/api/v1/employers", json=body, headers=idem()).status_code
        == 403
    )


def test_rates_and_closing_an_employer(web: Any, seeded: Seeded) -> None:
    clerk = web.client("clerk")
    changed = clerk.request(
        "POST",
        f"/api/v1/employers/{seeded.x}/rates",
        json={"employer_rate_pct": "10", "employee_rate_pct": "10"},
        headers=idem(),
    )
    assert (
        changed.status_code == 200 and float(changed.json()["employer"]["employer_rate_pct"]) == 10
    )
    page = clerk.request(
        "POST",
        f"/console/employers/{seeded.x}/rates",
        data={"idempotency_key": key(), "employer_rate": "12", "employee_rate": "12"},
    )
    assert page.status_code == 303
    shown = clerk.request("GET", f"/console/employers/{seeded.x}", headers=HTML)
    assert "12.00% / 12.00%" in shown.text and "缴存比例已调整" in shown.text
    too_high = clerk.request(
        "POST",
        f"/api/v1/employers/{seeded.x}/rates",
        json={"employer_rate_pct": "40", "employee_rate_pct": "40"},
        headers=idem(),
    )
    assert too_high.status_code == 400
    refused = clerk.request("POST", f"/api/v1/employers/{seeded.x}/close", headers=idem())
    assert refused.status_code == 409 and "正常缴存职工" in refused.json()["detail"]
    body = {
        "uscc": new_uscc(),
        "name": "待销户单位",
        "employer_rate_pct": "12",
        "employee_rate_pct": "12",
    }
    ref = clerk.request("POST", "/api/v1/employers", json=body, headers=idem()).json()["employer"][
        "employer_ref"
    ]
    closing = {"idempotency_key": key()}
    closed = clerk.request("POST", f"/console/employers/{ref}/close", data=closing)
    assert closed.status_code == 303
    again = clerk.request("POST", f"/console/employers/{ref}/close", data=closing)
    assert again.status_code == 303  # the replay is harmless
    assert count(web, Employer, Employer.employer_ref == ref, Employer.status == "04") == 1
    assert (
        count(
            web, AuditRecord, AuditRecord.action == "employer.close", AuditRecord.object_id == ref
        )
        == 1
    )
    denied = web.client("service_agent").request(
        "POST", f"/console/employers/{ref}/close", data=closing
    )
    assert denied.status_code == 403


# --- depositors ---------------------------------------------------------------------------


def test_open_depositor_shows_a_bad_id_number_and_derives_birth_and_sex(
    web: Any, seeded: Seeded
) -> None:
    clerk = web.client("clerk")
    page = clerk.request("GET", f"/console/depositors/new?employer={seeded.x}", headers=HTML)
    assert page.status_code == 200 and f'value="{seeded.x}"' in page.text
    id_number = make_id_number("371302", date(1990, 6, 15), 123, male=True)
    bad = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
    check = clerk.request(
        "GET", f"/console/depositors/id-check?id_number={id_number}", headers=HTML
    )
    assert "1990-06-15" in check.text and "男" in check.text
    wrong = clerk.request("GET", f"/console/depositors/id-check?id_number={bad}", headers=HTML)
    assert "校验位错误" in wrong.text
    form = {
        "idempotency_key": form_key(page.text),
        "id_number": bad,
        "name": "赵开户",
        "employer_ref": seeded.x,
        "base": "5000",
    }
    before = count(web, Depositor)
    refused = clerk.request("POST", "/console/depositors/new", data=form, headers=HTML)
    assert refused.status_code == 422 and 'id="id_number-error"' in refused.text
    assert "校验位错误" in refused.text and count(web, Depositor) == before
    form["id_number"] = id_number
    opened = clerk.request("POST", "/console/depositors/new", data=form, headers=HTML)
    assert opened.status_code == 303
    again = clerk.request("POST", "/console/depositors/new", data=form, headers=HTML)
    assert again.headers["location"] == opened.headers["location"]
    assert count(web, Depositor) == before + 1
    detail = clerk.request("GET", opened.headers["location"], headers=HTML)
    assert 'id="birth-date">1990-06-15<' in detail.text and 'id="sex">男<' in detail.text
    # the API
    other = make_id_number("371302", date(1995, 2, 3), 88, male=False)
    body = {"id_number": other, "name": "钱接口", "employer_ref": seeded.x, "base_fen": 450_000}
    bad_api = web.client("clerk").request(
        "POST", "/api/v1/depositors", json={**body, "id_number": other[:17]}, headers=idem()
    )
    assert bad_api.status_code == 400 and bad_api.json()["field"] == "id_number"
    headers = idem()
    made = clerk.request("POST", "/api/v1/depositors", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["birth_date"] == "1995-02-03" and made.json()["sex"] == "F"
    replay = clerk.request("POST", "/api/v1/depositors", json=body, headers=headers)
    assert replay.json()["replayed"] is True
    assert replay.json()["depositor_ref"] == made.json()["depositor_ref"]
    assert count(web, Depositor) == before + 2
    outside = clerk.request(
        "POST", "/api/v1/depositors", json={**body, "employer_ref": seeded.z}, headers=idem()
    )
    assert outside.status_code == 404 and count(web, Depositor) == before + 2
    denied = web.client("service_agent").request(
        "POST", "/api/v1/depositors", json=body, headers=idem()
    )
    assert denied.status_code == 403


def test_depositor_base_seal_unseal_and_transfers(web: Any, seeded: Seeded) -> None:
    clerk = web.client("clerk")
    ref = seeded.x_people[0]
    page = clerk.request("GET", f"/console/depositors/{ref}", headers=HTML)
    assert 'id="actions"' in page.text and 'id="freeze-form"' in page.text
    based = clerk.request(
        "POST", f"/console/depositors/{ref}/base", data={"idempotency_key": key(), "base": "5200"}
    )
    assert based.status_code == 303 and depositor(web, ref)[1] == 520_000
    low = clerk.request(
        "POST", f"/api/v1/depositors/{ref}/base", json={"base_fen": 1}, headers=idem()
    )
    assert low.status_code == 400 and depositor(web, ref)[1] == 520_000
    sealing = {"idempotency_key": key()}
    assert (
        clerk.request("POST", f"/console/depositors/{ref}/freeze", data=sealing).status_code == 303
    )
    again = clerk.request("POST", f"/console/depositors/{ref}/freeze", data=sealing)
    assert again.status_code == 303  # replay: harmless, no "only a normal account" error
    follow = clerk.request("GET", f"/console/depositors/{ref}", headers=HTML)
    assert "未重复办理" in follow.text
    assert depositor(web, ref)[0] == "02"
    joined = clerk.request(
        "POST",
        f"/api/v1/depositors/{ref}/join",
        json={"employer_ref": seeded.x, "base_fen": 500_000},
        headers=idem(),
    )
    assert joined.status_code == 200 and joined.json()["status"] == "01"
    assert (
        count(
            web,
            AuditRecord,
            AuditRecord.action == "depositor.unfreeze",
            AuditRecord.object_id == ref,
        )
        == 1
    )
    # transfer in: one journal however often the key is replayed
    journals = count(web, Journal)
    headers = idem()
    body = {"amount_fen": 1_234_500, "from_city": "济南"}
    first = clerk.request(
        "POST", f"/api/v1/depositors/{ref}/transfer-in", json=body, headers=headers
    )
    assert first.status_code == 200, first.text
    for _ in range(2):
        replay = clerk.request(
            "POST", f"/api/v1/depositors/{ref}/transfer-in", json=body, headers=headers
        )
        assert replay.json()["replayed"] is True
        assert replay.json()["journal_id"] == first.json()["journal_id"]
    assert count(web, Journal) == journals + 1
    form = {"idempotency_key": key(), "amount": "100.00", "from_city": "青岛"}
    for _ in range(2):
        assert (
            clerk.request("POST", f"/console/depositors/{ref}/transfer-in", data=form).status_code
            == 303
        )
    assert count(web, Journal) == journals + 2
    # transfer out: closure interest, the balance paid away, the account closed — once
    out = {"idempotency_key": key(), "to_city": "上海"}
    for _ in range(2):
        assert (
            clerk.request("POST", f"/console/depositors/{ref}/transfer-out", data=out).status_code
            == 303
        )
    assert depositor(web, ref)[0] == "04"
    assert (
        count(
            web,
            AuditRecord,
            AuditRecord.action == "depositor.close.04",
            AuditRecord.object_id == ref,
        )
        == 1
    )
    closed_again = clerk.request(
        "POST", f"/api/v1/depositors/{ref}/transfer-out", json={"to_city": "上海"}, headers=idem()
    )
    assert closed_again.status_code == 409 and "销户" in closed_again.json()["detail"]


def test_merge_and_closure(web: Any, seeded: Seeded) -> None:
    clerk = web.client("clerk")
    strangers = clerk.request(
        "POST",
        f"/api/v1/depositors/{seeded.x_people[1]}/merge",
        json={"keep_ref": seeded.dup_keep},
        headers=idem(),
    )
    assert strangers.status_code == 409 and depositor(web, seeded.x_people[1])[0] == "01"
    headers = idem()
    merged = clerk.request(
        "POST",
        f"/api/v1/depositors/{seeded.dup_other}/merge",
        json={"keep_ref": seeded.dup_keep},
        headers=headers,
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "03"
    replay = clerk.request(
        "POST",
        f"/api/v1/depositors/{seeded.dup_other}/merge",
        json={"keep_ref": seeded.dup_keep},
        headers=headers,
    )
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    ref = seeded.x_people[1]
    closing = {"idempotency_key": key(), "reason": "退休"}
    for _ in range(2):
        assert (
            clerk.request("POST", f"/console/depositors/{ref}/close", data=closing).status_code
            == 303
        )
    assert depositor(web, ref)[0] == "05"
    page = clerk.request("GET", f"/console/depositors/{ref}", headers=HTML)
    assert "账户已销户" in page.text
    denied = web.client("auditor").request("POST", f"/console/depositors/{ref}/close", data=closing)
    assert denied.status_code == 403


# --- scope, permissions -------------------------------------------------------------------


def test_another_branch_gets_404_and_nothing_is_written(web: Any, seeded: Seeded) -> None:
    clerk, finance = web.client("clerk"), web.client("finance")
    audits = count(web, AuditRecord)
    journals = count(web, Journal)
    for path, data in (
        (f"/console/employers/{seeded.z}/rates", {"employer_rate": "10", "employee_rate": "10"}),
        (f"/console/employers/{seeded.z}/close", {}),
        (f"/console/depositors/{seeded.z_person}/base", {"base": "6000"}),
        (f"/console/depositors/{seeded.z_person}/freeze", {}),
        (f"/console/depositors/{seeded.z_person}/close", {}),
        (f"/console/depositors/{seeded.z_person}/transfer-out", {"to_city": "上海"}),
        (f"/console/depositors/{seeded.x_people[2]}/merge", {"keep_ref": seeded.z_person}),
    ):
        response = clerk.request(
            "POST", path, data={"idempotency_key": key(), **data}, headers=HTML
        )
        # a field naming another branch's record is refused like a missing one (merge: 303 back)
        assert response.status_code == (303 if "merge" in path else 404), path
    for path, body in (
        (
            f"/api/v1/employers/{seeded.z}/rates",
            {"employer_rate_pct": "10", "employee_rate_pct": "10"},
        ),
        (f"/api/v1/depositors/{seeded.z_person}/freeze", None),
        (
            f"/api/v1/depositors/{seeded.z_person}/transfer-in",
            {"amount_fen": 100, "from_city": "济南"},
        ),
        (
            f"/api/v1/depositors/{seeded.x_people[2]}/join",
            {"employer_ref": seeded.z, "base_fen": 500_000},
        ),
    ):
        response = clerk.request("POST", path, json=body, headers=idem())
        assert response.status_code == 404, (path, response.text)
    page = clerk.request(
        "POST",
        "/console/depositors/new",
        data={
            "idempotency_key": key(),
            "id_number": new_id_number(),
            "name": "孙",
            "employer_ref": seeded.z,
            "base": "5000",
        },
        headers=HTML,
    )
    assert page.status_code == 404 and 'id="employer_ref-error"' in page.text
    assert (
        finance.request(
            "POST", f"/api/v1/employers/{seeded.z}/funds", json={"amount_fen": 100}, headers=idem()
        ).status_code
        == 404
    )
    form = {"idempotency_key": key(), "employer_ref": seeded.z, "amount": "1"}
    assert (
        finance.request("POST", "/console/funds/received", data=form, headers=HTML).status_code
        == 404
    )
    assert count(web, Journal) == journals
    assert count(web, AuditRecord) == audits  # not even a half-written audit record
    assert depositor(web, seeded.z_person)[0] == "01"


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("service_agent", "POST", "/console/employers/new"),
        ("finance", "GET", "/console/employers/new"),
        ("auditor", "POST", "/console/depositors/new"),
        ("approver", "POST", "/api/v1/depositors"),
        ("clerk", "GET", "/console/funds"),
        ("clerk", "POST", "/console/funds/received"),
        ("clerk", "POST", "/api/v1/remittances/post"),
        ("service_agent", "POST", "/console/remittances/post"),
        ("clerk", "GET", "/employer/back-payment"),
        ("finance", "POST", "/api/v1/employer/back-payments"),
        ("clerk", "POST", "/employer/base-adjustment"),
        ("depositorA", "POST", "/api/v1/employer/base-adjustments"),
    ],
)
def test_roles_without_the_permission_are_refused(
    web: Any, who: str, method: str, path: str
) -> None:
    response = web.client(who).request(method, path, data={"idempotency_key": key()}, headers=HTML)
    assert response.status_code == 403


# --- finance ------------------------------------------------------------------------------


def _confirmed_list(web: Any, seeded: Seeded, month: date) -> tuple[int, int]:
    with unit_of_work(web.url) as session:
        employer = session.scalar(select(Employer).where(Employer.employer_ref == seeded.x))
        assert employer is not None
        actor = system_principal("test")
        lst = remittance_service.draft(session, employer, month, load_shipped_policy(), actor)
        remittance_service.confirm(session, lst, actor)
        return lst.id, lst.total_fen


def test_funds_received_posting_and_refund(web: Any, seeded: Seeded) -> None:
    finance = web.client("finance")
    list_id, total = _confirmed_list(web, seeded, date(2024, 3, 1))
    page = finance.request("GET", "/console/funds", headers=HTML)
    assert page.status_code == 200 and f'value="{list_id}"' in page.text
    assert 'href="/console/funds"' in page.text
    short = finance.request(
        "POST", "/api/v1/remittances/post", json={"remittance_ids": [list_id]}, headers=idem()
    )
    assert short.status_code == 409 and "资金不足" in short.json()["detail"]
    journals = count(web, Journal)
    form = {
        "idempotency_key": form_key(page.text),
        "employer_ref": seeded.x,
        "amount": f"{(total + 10_000) / 100:.2f}",
    }
    for _ in range(2):
        received = finance.request("POST", "/console/funds/received", data=form)
        assert received.status_code == 303
    assert count(web, Journal) == journals + 1
    assert (
        count(
            web,
            AuditRecord,
            AuditRecord.action == "employer.funds_received",
            AuditRecord.object_id == seeded.x,
        )
        == 1
    )
    post = {"idempotency_key": key(), "remittance_id": str(list_id)}
    for _ in range(2):
        assert finance.request("POST", "/console/remittances/post", data=post).status_code == 303
    assert count(web, Remittance, Remittance.id == list_id, Remittance.status == "posted") == 1
    assert count(web, Journal) == journals + 2
    again = finance.request(
        "POST", "/api/v1/remittances/post", json={"remittance_ids": [list_id]}, headers=idem()
    )
    assert again.status_code == 200 and again.json()["already"] == [list_id]
    assert (
        finance.request(
            "POST", "/api/v1/remittances/post", json={"remittance_ids": [999_999]}, headers=idem()
        ).status_code
        == 404
    )
    headers = idem()
    refund = finance.request(
        "POST",
        f"/api/v1/employers/{seeded.x}/refunds",
        json={"amount_fen": 10_000},
        headers=headers,
    )
    assert refund.status_code == 200, refund.text
    assert refund.json()["suspense_balance_fen"] == 0
    replay = finance.request(
        "POST",
        f"/api/v1/employers/{seeded.x}/refunds",
        json={"amount_fen": 10_000},
        headers=headers,
    )
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    too_much = finance.request(
        "POST", f"/api/v1/employers/{seeded.x}/refunds", json={"amount_fen": 1}, headers=idem()
    )
    assert too_much.status_code == 409
    assert count(web, Journal) == journals + 3
    funds = finance.request(
        "POST", f"/api/v1/employers/{seeded.x}/funds", json={"amount_fen": 500}, headers=idem()
    )
    assert funds.status_code == 200 and funds.json()["suspense_balance_fen"] == 500


# --- employer portal ----------------------------------------------------------------------


def test_back_payment_lists_for_chosen_depositors_and_months(web: Any, seeded: Seeded) -> None:
    agent = seeded.agent
    page = agent.request("GET", "/employer/back-payment", headers=HTML)
    assert page.status_code == 200 and f'value="{seeded.x_people[2]}"' in page.text
    assert seeded.z_person not in page.text
    form = {
        "idempotency_key": form_key(page.text),
        "month_from": "2024-01",
        "month_to": "2024-02",
        "depositor_ref": [seeded.x_people[2], seeded.z_person],
    }
    lists = count(web, Remittance, Remittance.kind == "back_payment")
    refused = agent.request("POST", "/employer/back-payment", data=form, headers=HTML)
    assert refused.status_code == 422 and 'id="depositor_refs-error"' in refused.text
    assert count(web, Remittance, Remittance.kind == "back_payment") == lists
    form["depositor_ref"] = [seeded.x_people[2], seeded.x_people[3]]
    for _ in range(2):
        assert agent.request("POST", "/employer/back-payment", data=form).status_code == 303
    assert count(web, Remittance, Remittance.kind == "back_payment") == lists + 2
    shown = agent.request("GET", "/employer/back-payment", headers=HTML)
    assert shown.text.count('data-status="draft"') >= 2
    with unit_of_work(web.url) as session:
        ids = list(
            session.scalars(
                select(Remittance.id)
                .where(Remittance.kind == "back_payment")
                .order_by(Remittance.id)
            )
        )
        assert all(session.get(Remittance, i).lines == 2 for i in ids[-2:])  # type: ignore[union-attr]
    confirmed = agent.request("POST", f"/employer/back-payment/{ids[-1]}/confirm")
    assert confirmed.status_code == 303
    assert count(web, Remittance, Remittance.id == ids[-1], Remittance.status == "confirmed") == 1
    body = {"month_from": "2024-04", "month_to": "2024-04", "depositor_refs": [seeded.x_people[2]]}
    api = agent.request("POST", "/api/v1/employer/back-payments", json=body, headers=idem())
    assert api.status_code == 201 and api.json()["lists"][0]["kind"] == "back_payment"
    future = agent.request(
        "POST",
        "/api/v1/employer/back-payments",
        json={**body, "month_to": "2099-01"},
        headers=idem(),
    )
    assert future.status_code == 400
    clerk = web.client("clerk")
    assert clerk.request("POST", "/employer/back-payment", data=form).status_code == 403


def _base_file(rows: list[tuple[str, str]]) -> bytes:
    return ("身份证号,缴存基数\n" + "".join(f"{i},{b}\n" for i, b in rows)).encode("gbk")


def test_base_adjustment_is_all_or_nothing(web: Any, seeded: Seeded) -> None:
    agent = seeded.agent
    with unit_of_work(web.url) as session:
        people = {
            d.depositor_ref: d.id_number
            for d in session.scalars(
                select(Depositor).where(Depositor.depositor_ref.in_(seeded.x_people[2:]))
            )
        }
    p2, p3 = seeded.x_people[2], seeded.x_people[3]
    page = agent.request("GET", "/employer/base-adjustment", headers=HTML)
    assert page.status_code == 200 and 'id="effective"' in page.text
    bad = _base_file(
        [
            (people[p2], "5800"),
            (people[p3], "1.00"),
            (new_id_number(), "5000"),
            ("11010119900307123", "5000"),
        ]
    )
    refused = agent.request(
        "POST",
        "/employer/base-adjustment",
        data={"idempotency_key": key()},
        files={"file": ("base.csv", bad, "text/csv")},
        headers=HTML,
    )
    assert refused.status_code == 422 and refused.text.count('class="row-error"') == 3
    assert depositor(web, p2)[1] == 500_000
    api_bad = agent.request(
        "POST",
        "/api/v1/employer/base-adjustments",
        files={"file": ("base.csv", bad, "text/csv")},
        headers=idem(),
    )
    assert api_bad.status_code == 422 and len(api_bad.json()["errors"]) == 3
    assert api_bad.json()["errors"][0]["line_no"] == 3
    good = _base_file([(people[p2], "5800"), (people[p3], "6100.50")])
    data = {"idempotency_key": key()}
    for _ in range(2):
        done = agent.request(
            "POST",
            "/employer/base-adjustment",
            data=data,
            files={"file": ("base.csv", good, "text/csv")},
        )
        assert done.status_code == 303
    assert depositor(web, p2)[1] == 580_000 and depositor(web, p3)[1] == 610_050
    assert (
        count(
            web,
            AuditRecord,
            AuditRecord.action == "employer.base_adjustment",
            AuditRecord.object_id == seeded.x,
        )
        == 1
    )
    api = agent.request(
        "POST",
        "/api/v1/employer/base-adjustments",
        files={"file": ("b.csv", good, "text/csv")},
        headers=idem(),
    )
    assert api.status_code == 200 and api.json()["changed"] == 2


def test_open_employer_records_its_type_and_refuses_an_unknown_one(
    web: Any, seeded: Seeded
) -> None:
    clerk = web.client("clerk")
    page = clerk.request("GET", "/console/employers/new", headers=HTML)
    assert 'id="employer_type"' in page.text and "国有企业" in page.text
    form = {
        "idempotency_key": form_key(page.text),
        "uscc": new_uscc(),
        "name": "临沂国企开户单位",
        "employer_rate": "12",
        "employee_rate": "12",
        "pay_day": "15",
        "first_month": f"{date.today():%Y-%m}",
        "employer_type": "no_such_type",
    }
    before = count(web, Employer)
    refused = clerk.request("POST", "/console/employers/new", data=form, headers=HTML)
    assert refused.status_code == 422 and 'id="employer_type-error"' in refused.text
    assert count(web, Employer) == before
    form["employer_type"] = "state_owned"
    opened = clerk.request("POST", "/console/employers/new", data=form, headers=HTML)
    assert opened.status_code == 303
    ref = opened.headers["location"].rsplit("/", 1)[1]
    assert (
        count(web, Employer, Employer.employer_ref == ref, Employer.employer_type == "state_owned")
        == 1
    )
