"""The leadership cockpit (领导驾驶舱) and ``GET /api/v1/goals/{year}/report``, on both backends.

The annual report and finance statement pages show what `hpf report annual --json` and
`hpf finance statement … --json` print.

The demo books (contributions 2022-07 … 2023-11 in branch A) and the shipped 临沂 2023 goal table
(``hpf demo seed`` imports it): the page shows a card for every indicator of the table with its
target, actual, completion, status and last year's value, the monthly trends as chart data (the
contributions of 2023 add up to the indicator's actual), the drill-down to branch A; the API
equals ``hpf goals report --year 2023 --json``; a role without ``dashboard.read`` gets 403; a
year without a table 404.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from hpf.auth.principal import system_principal
from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import unit_of_work
from hpf.goals import service as goals_service
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from hpf.sim.demo import seed_demo_books, seed_demo_goals
from user_factories import make_user
from web.conftest import PASSWORD, SignedIn, sign_in

HTML = {"accept": "text/html"}
DATA_RE = re.compile(r'<script type="application/json" id="cockpit-data">(.*?)</script>', re.S)
CARD_RE = re.compile(
    r'<section class="hpf-indicator border-(\w+)" data-seq="(\d+)" data-status="([^"]+)"'
)


@dataclass
class Seeded:
    names: list[str]
    leader: SignedIn  # leadership of the whole centre (the demo's 演示领导)


@pytest.fixture(scope="module")
def seeded(web: Any) -> Iterator[Seeded]:
    with unit_of_work(web.url) as session:
        make_user(
            session,
            roles=("leadership",),
            whole_center=True,
            branch_id=web.branch_id,
            login_name="leader",
            password=PASSWORD,
        )
        branch = session.scalar(select(OrgUnit).where(OrgUnit.id == web.branch_id))
        assert branch is not None
        seed_demo_books(session, branch, load_shipped_policy(), system_principal("test"))
        assert seed_demo_goals(session) == 2023
        assert seed_demo_goals(session) is None  # a table is there: nothing imported again
        table = goals_service.table_of(session, 2023)
        names = [i.name for i in goals_service.indicators(session, table)]
    leader = sign_in(web.app, "staff", "leader")
    yield Seeded(names, leader)
    leader.http.close()


def chart_data(page: str) -> dict[str, Any]:
    match = DATA_RE.search(page)
    assert match, "the page lacks its chart data"
    return json.loads(html.unescape(match[1]))


def test_cockpit_shows_every_indicator(web: Any, seeded: Seeded) -> None:
    client = seeded.leader
    page = client.request("GET", "/console/cockpit", headers=HTML)
    assert page.status_code == 200, page.text
    text = page.text
    assert 'href="/console/cockpit"' in text  # in the console navigation
    assert "/static/vendor/echarts/echarts.min.js" in text
    assert "/static/cockpit.js" in text
    cards = CARD_RE.findall(text)
    assert len(cards) == len(seeded.names) == 13
    assert [int(seq) for _, seq, _ in cards] == list(range(1, 14))
    styles = {"达成": "success", "进度正常": "primary", "有风险": "warning", "未达成": "danger"}
    for style, _seq, status in cards:
        assert styles[status] == style
    for name in seeded.names:
        assert html.escape(name) in text
    api = client.request("GET", "/api/v1/goals/2023/report").json()
    for ind in api["indicators"]:
        assert html.escape(ind["target"]["text"]) in text
        assert html.escape(ind["actual"]["text"]) in text
        if ind["history"]["last_year"]["text"]:
            assert html.escape(ind["history"]["last_year"]["text"]) in text
    data = chart_data(text)["charts"]
    bindings = {i["binding"] for i in api["indicators"]}
    assert {"contributions", "withdrawals", "loans_issued"} <= set(data)
    assert set(data) <= bindings
    for binding in data:
        assert f'data-chart="{binding}"' in text
    contributions = data["contributions"]
    assert contributions["months"] == [f"{m:02d}" for m in range(1, 13)]
    actual = next(i for i in api["indicators"] if i["binding"] == "contributions")
    total = Decimal(str(sum(contributions["series"][0]["data"])))
    assert abs(total - Decimal(actual["actual"]["value"]) / 10_000) < Decimal("0.1")
    assert sum(contributions["series"][1]["data"]) > 0  # 2022-07 … 2022-12
    assert contributions["target"] == float(Decimal(actual["target"]["value"]) / 10_000)
    # staff of one branch (the test users) see the centre's cards and their branch's trends
    branch = web.client("leadership").request("GET", "/console/cockpit", headers=HTML)
    assert len(CARD_RE.findall(branch.text)) == 13
    assert 'id="cockpit-branch"' not in branch.text
    assert chart_data(branch.text)["charts"]["contributions"]["target"] is None


def test_drill_down_by_branch(web: Any, seeded: Seeded) -> None:
    client = seeded.leader
    with unit_of_work(web.url) as session:
        others = [
            b.id
            for b in session.scalars(select(OrgUnit).where(OrgUnit.kind == "branch"))
            if b.id != web.branch_id
        ]
    page = client.request("GET", f"/console/cockpit?year=2023&branch={web.branch_id}", headers=HTML)
    assert page.status_code == 200
    assert f'<option value="{web.branch_id}" selected>' in page.text
    mine = chart_data(page.text)["charts"]["contributions"]
    assert sum(mine["series"][0]["data"]) > 0
    assert mine["target"] is None  # the centre's target is not a branch's
    assert 'id="cockpit-branches"' in page.text
    if others:
        other = client.request(
            "GET",
            f"/console/cockpit?year=2023&branch={others[0]}",
            headers={**HTML, "hx-request": "true"},
        )
        assert other.status_code == 200
        assert sum(chart_data(other.text)["charts"]["contributions"]["series"][0]["data"]) == 0


def test_api_equals_the_cli_report(
    web: Any, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HPF_DATABASE_URL", web.url)
    get_settings.cache_clear()
    try:
        assert run(["goals", "report", "--year", "2023", "--json"]) == 0
    finally:
        get_settings.cache_clear()
    cli = json.loads(capsys.readouterr().out)
    response = web.client("leadership").request("GET", "/api/v1/goals/2023/report")
    assert response.status_code == 200
    assert response.json() == cli
    assert len(cli["indicators"]) == 13
    mid = web.client("leadership").request("GET", "/api/v1/goals/2023/report?as_of=2023-06-30")
    assert mid.json()["as_of"] == "2023-06-30"
    early = web.client("leadership").request("GET", "/api/v1/goals/2023/report?as_of=2022-06-30")
    assert early.status_code == 400


def test_permissions_and_missing_year(web: Any, seeded: Seeded) -> None:
    for key in ("clerk", "depositorA", "employer1"):
        client = web.client(key)
        assert client.request("GET", "/console/cockpit", headers=HTML).status_code == 403
        assert client.request("GET", "/api/v1/goals/2023/report").status_code == 403
    leader = web.client("leadership")
    missing = leader.request("GET", "/api/v1/goals/2019/report")
    assert missing.status_code == 404
    assert missing.json()["code"] == "goal_table_not_found"
    assert leader.request("GET", "/console/cockpit?year=2019", headers=HTML).status_code == 404
    assert (
        'href="/console/cockpit"'
        not in web.client("clerk").request("GET", "/console", headers=HTML).text
    )


def test_annual_report_and_finance_statement_pages(
    web: Any, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HPF_DATABASE_URL", web.url)
    get_settings.cache_clear()
    try:
        assert run(["report", "annual", "--year", "2023", "--json"]) == 0
        annual = json.loads(capsys.readouterr().out)
        assert run(["finance", "statement", "trial-balance", "--period", "2023", "--json"]) == 0
        trial = json.loads(capsys.readouterr().out)
    finally:
        get_settings.cache_clear()
    client = seeded.leader
    page = client.request("GET", "/console/reports/annual?year=2023", headers=HTML)
    assert page.status_code == 200
    assert 'href="/console/reports/annual"' in page.text
    assert annual["deposits"]["contributions"] in page.text
    assert annual["deposits"]["balance_end"] in page.text
    page = client.request(
        "GET", "/console/reports/statements?name=trial-balance&period=2023", headers=HTML
    )
    assert page.status_code == 200
    assert trial["totals"]["credit"] in page.text
    every = client.request("GET", "/console/reports/statements?period=2023-06", headers=HTML)
    assert every.status_code == 200 and every.text.count("hpf-report-table") == 4
    bad = client.request("GET", "/console/reports/statements?period=2023-13", headers=HTML)
    assert bad.status_code == 400 and 'id="report-error"' in bad.text
    unknown = client.request("GET", "/console/reports/statements?name=x&period=2023", headers=HTML)
    assert unknown.status_code == 400
    for path in ("/console/reports/annual", "/console/reports/statements"):
        assert web.client("clerk").request("GET", path, headers=HTML).status_code == 403
