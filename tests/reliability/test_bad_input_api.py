"""Absurd amounts and dates on the API and the CLI: a clear 4xx (or exit code 2 with one line),
and nothing written (rows of every table counted before and after, the audit trail aside).

Amounts: 10^15 yuan, negative, zero, 0.001, NaN, "1e3", 2^63, a boolean. Dates and months:
0001-01-01, 9999-12-31, 2023-02-30, 2023-13. The write operations that take them: employer
funds received, a depositor's base and transfer-in, the employer's draft list, the depositor's
withdrawal application; plus the public calculators and ``hpf calc``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text

from deposit_books import Books
from hpf.auth import service as auth_service
from hpf.auth.principal import system_principal
from hpf.cli import run
from hpf.db.engine import make_engine, unit_of_work
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from web.conftest import PASSWORD, SignedIn, WebEnv, make_env, sign_in

VOLATILE = {"audit_record", "audit_chain_head", "web_session", "api_token", "alembic_version"}
ABSURD_FEN: tuple[Any, ...] = (10**17, -100, 0, 0.001, "NaN", "1e3", 2**63, True, None, "")
ABSURD_DATES = ("0001-01-01", "9999-12-31", "2023-02-30", "2023-13-01", "1e3", "")
ABSURD_MONTHS = ("0001-01", "9999-12", "2023-13", "2023-00", "2023-02-30", "")
_keys = itertools.count(1)


def fingerprint(engine: Engine) -> tuple[int, ...]:
    """Rows per table (one query), all tables but the volatile ones."""
    names = sorted(set(inspect(engine).get_table_names()) - VOLATILE)
    sql = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{n}")' for n in names)
    with engine.connect() as conn:
        return tuple(int(v) for v in conn.execute(text(sql)).one())


@dataclass
class Seeded:
    env: WebEnv
    engine: Engine
    employer_ref: str
    depositor_ref: str
    clients: dict[str, SignedIn]


@pytest.fixture(scope="module")
def seeded(backend: str, databases: Any) -> Iterator[Seeded]:
    env = make_env(databases, backend)
    with unit_of_work(env.url) as session:
        code = session.scalar(select(OrgUnit.code).where(OrgUnit.id == env.branch_id))
        assert code is not None
        books = Books(session, load_shipped_policy(), system_principal("test"), code)
        employer = books.employer("12")
        person = books.depositor(employer, 500_000)
        refs = (employer.employer_ref, person.depositor_ref, person.id_number)
        auth_service.create_user(
            session,
            kind="employer",
            login_name=refs[0],
            password=PASSWORD,
            display_name="经办人",
            employer_ref=refs[0],
        )
        auth_service.create_user(
            session,
            kind="depositor",
            login_name=refs[2],
            password=PASSWORD,
            display_name="职工",
            depositor_ref=refs[1],
        )
    clients = {
        "clerk": env.client("clerk"),
        "finance": env.client("finance"),
        "agent": sign_in(env.app, "employer", refs[0]),
        "person": sign_in(env.app, "depositor", refs[2]),
    }
    engine = make_engine(env.url)
    yield Seeded(env, engine, refs[0], refs[1], clients)
    engine.dispose()


def refused(s: Seeded, who: str, method: str, url: str, body: Any) -> None:
    """The request answers a 4xx problem with both languages, and writes nothing."""
    before = fingerprint(s.engine)
    headers = {"Idempotency-Key": f"absurd-{next(_keys)}"}
    response = s.clients[who].request(method, url, json=body, headers=headers)
    assert 400 <= response.status_code < 500, (url, body, response.status_code, response.text)
    problem = response.json()
    assert problem.get("detail") and (problem.get("detail_en") or problem.get("errors")), problem
    assert fingerprint(s.engine) == before, (url, body)


@pytest.mark.parametrize("amount", ABSURD_FEN, ids=repr)
def test_absurd_amounts_on_money_writes(seeded: Seeded, amount: Any) -> None:
    e, d = seeded.employer_ref, seeded.depositor_ref
    refused(seeded, "finance", "POST", f"/api/v1/employers/{e}/funds", {"amount_fen": amount})
    refused(seeded, "clerk", "POST", f"/api/v1/depositors/{d}/base", {"base_fen": amount})
    refused(
        seeded,
        "clerk",
        "POST",
        f"/api/v1/depositors/{d}/transfer-in",
        {"amount_fen": amount, "from_city": "济南"},
    )
    refused(
        seeded,
        "person",
        "POST",
        "/api/v1/me/withdrawals",
        {"type": "rent", "amount_fen": amount, "rent_months": 3, "cost_fen": amount},
    )


@pytest.mark.parametrize("month", ABSURD_MONTHS)
def test_absurd_months_on_the_employer_draft(seeded: Seeded, month: str) -> None:
    refused(seeded, "agent", "POST", "/api/v1/employer/remittances", {"month": month})


@pytest.mark.parametrize("day", ABSURD_DATES)
def test_absurd_dates_on_a_withdrawal(seeded: Seeded, day: str) -> None:
    body = {"type": "retirement", "event_date": day}
    refused(seeded, "person", "POST", "/api/v1/me/withdrawals", body)


LOAN = {"principal": "100000", "rate": "3.1", "months": 360, "first_due": "2023-02-20"}
INTEREST = {"from": "2022-07-01", "to": "2023-06-30", "opening": "100", "rate": "1.5"}
# (endpoint, query, malformed): a malformed value is a 4xx; an extreme but well-formed one
# (10^15 yuan, year 1) may be computed — the calculators write nothing — but never a 5xx
CALCULATOR_CASES = [
    ("loan", {"principal": "1000000000000000"}, False),
    ("loan", {"principal": "-1"}, True),
    ("loan", {"principal": "0.001"}, True),
    ("loan", {"principal": "NaN"}, True),
    ("loan", {"principal": "Infinity"}, True),
    ("loan", {"rate": "NaN"}, True),
    ("loan", {"rate": "-3"}, True),
    ("loan", {"first_due": "9999-12-31"}, True),
    ("loan", {"first_due": "0001-01-01"}, False),
    ("loan", {"first_due": "2023-02-30"}, True),
    ("loan", {"months": 10**9}, True),
    ("interest", {"from": "0001-01-01"}, False),
    ("interest", {"to": "9999-12-31"}, False),
    ("interest", {"from": "2023-02-30"}, True),
    ("interest", {"opening": "1e20"}, True),
    ("interest", {"rate": "NaN"}, True),
    ("interest", {"from": "2023-06-30", "to": "2022-07-01"}, True),
]


@pytest.mark.parametrize(("endpoint", "change", "malformed"), CALCULATOR_CASES)
def test_absurd_values_on_the_public_calculators(
    seeded: Seeded, endpoint: str, change: dict[str, Any], malformed: bool
) -> None:
    http = TestClient(seeded.env.app, raise_server_exceptions=False)
    query = {**(LOAN if endpoint == "loan" else INTEREST), **change}
    answers = [http.get(f"/api/v1/calc/{endpoint}", params=query)]
    if endpoint == "loan":
        answers.append(http.post("/api/v1/calc/loan", json=query))
    for response in answers:
        assert response.status_code < 500, (query, response.text[:300])
        if malformed:
            assert 400 <= response.status_code < 500, (query, response.status_code)
            assert response.json().get("detail"), response.text
        elif response.status_code == 200:
            assert "NaN" not in response.text and "Infinity" not in response.text
    page = http.get(f"/calc/{endpoint}", params=query, headers={"accept": "text/html"})
    assert page.status_code < 500, page.text[:300]


@pytest.mark.parametrize(
    "argv",
    [
        ["calc", "loan", "--principal", "1e15", "--rate", "3.1", "--months", "360",
         "--first-due", "2023-02-20"],
        ["calc", "loan", "--principal", "NaN", "--rate", "3.1", "--months", "360",
         "--first-due", "2023-02-20"],
        ["calc", "loan", "--principal", "-5", "--rate", "3.1", "--months", "360",
         "--first-due", "2023-02-20"],
        ["calc", "loan", "--principal", "100000", "--rate", "3.1", "--months", "360",
         "--first-due", "9999-12-31"],
        ["calc", "loan", "--principal", "100000", "--rate", "3.1", "--months", "360",
         "--first-due", "2023-02-30"],
        ["calc", "loan", "--principal", "100000", "--rate", "3.1", "--months", "999999999",
         "--first-due", "2023-02-20"],
        ["calc", "interest", "--opening", "10000", "--from", "2023-02-30", "--to", "2023-06-30",
         "--rate", "1.5"],
        ["calc", "interest", "--opening", "10000", "--txn", "2022-08-15:1e3", "--from",
         "2022-07-01", "--to", "2023-06-30", "--rate", "1.5"],
        ["calc", "interest", "--opening", "NaN", "--from", "2022-07-01", "--to", "2023-06-30",
         "--rate", "1.5"],
    ],
)  # fmt: skip
def test_absurd_values_on_the_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "error" in err
