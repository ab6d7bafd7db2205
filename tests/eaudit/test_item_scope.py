"""An e-audit item outside the viewer's branch is not disclosed: its page and its actions
answer 404, exactly like an item that does not exist, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from hpf.db.engine import unit_of_work
from hpf.eaudit.models import SuspiciousItem
from hpf.org.models import OrgUnit
from web.conftest import WebEnv, served_env

HTML = {"accept": "text/html"}
ACTIONS = {
    "assign": {"assignee": "稽核员07"},
    "respond": {"text": "已核实"},
    "close": {"evidence": "已整改"},
}


@pytest.fixture(scope="module")
def env(backend: str, databases: Any) -> Iterator[WebEnv]:
    with served_env(databases, backend) as made:
        yield made


def _item(env: WebEnv, ref: str, *, other_branch: bool) -> int:
    with unit_of_work(env.url) as session:
        branch_id = env.branch_id
        if other_branch:
            branch_id = session.scalar(
                select(OrgUnit.id)
                .where(OrgUnit.kind == "branch", OrgUnit.id != env.branch_id)
                .order_by(OrgUnit.code)
            )
        row = SuspiciousItem(
            month=date(2023, 5, 1),
            rule_code="shared_bank_card",
            object_type="withdrawal",
            object_ref=ref,
            branch_id=branch_id,
            summary="测试疑点",
            evidence="{}",
            status="open",
            found_on=date(2023, 6, 1),
            due_on=date(2023, 6, 30),
        )
        session.add(row)
        session.flush()
        return int(row.id)


def test_an_item_of_another_branch_answers_404_like_a_missing_one(env: WebEnv) -> None:
    auditor = env.client("auditor")  # a branch auditor, not whole-center
    hidden = _item(env, "W-HIDDEN", other_branch=True)
    visible = _item(env, "W-VISIBLE", other_branch=False)
    page = auditor.request("GET", f"/console/service/eaudit/{visible}", headers=HTML)
    assert page.status_code == 200, page.text[:200]
    for item_id in (hidden, 987654321):
        page = auditor.request("GET", f"/console/service/eaudit/{item_id}", headers=HTML)
        assert page.status_code == 404, (item_id, page.text[:200])
        problem = auditor.request("GET", f"/console/service/eaudit/{item_id}")
        assert problem.status_code == 404
        assert problem.json()["code"] == "eaudit_item_not_found"
        for action, data in ACTIONS.items():
            done = auditor.request("POST", f"/console/service/eaudit/{item_id}/{action}", data=data)
            assert done.status_code == 404, (item_id, action, done.text[:200])
    with unit_of_work(env.url) as session:
        row = session.get(SuspiciousItem, hidden)
        assert row is not None and (row.status, row.assignee, row.response) == ("open", "", "")
