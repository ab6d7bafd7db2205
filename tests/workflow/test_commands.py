"""``hpf workflow types`` and ``hpf workflow stats`` end to end on a committed database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from hpf.auth.service import create_user, principal_of
from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import make_engine
from hpf.identifiers import make_id_number
from hpf.org.service import create_unit
from hpf.workflow import service


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def test_types_lists_routes_per_band(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # keep rich from wrapping the table
    assert run(["workflow", "types", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    contact = [r for r in rows if r["code"] == "contact_change"]
    assert contact == [
        {
            "code": "contact_change",
            "name_zh": "变更联系方式",
            "name_en": "change of contact details",
            "up_to_yuan": None,
            "steps": ["accept", "review"],
        }
    ]
    assert run(["workflow", "types"]) == 0
    assert "申请→受理→复核→办结" in capsys.readouterr().out


def test_stats(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    engine = make_engine(cli_db)
    at = datetime(2026, 5, 6, 3, 0, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        center = create_unit(session, code="W0", name="中心", kind="center")
        branch = create_unit(session, code="W1", name="管理部", kind="branch", parent_code="W0")
        assert center.id != branch.id
        clerk, reviewer = (
            principal_of(
                session,
                create_user(
                    session,
                    kind="staff",
                    login_name=name,
                    password="secret123",
                    display_name=name,
                    roles=(role,),
                    branch_id=branch.id,
                ),
            )
            for name, role in (("c1", "clerk"), ("r1", "reviewer"))
        )
        for n, channel in enumerate(("mobile_app", "counter", "wechat")):
            applicant = principal_of(
                session,
                create_user(
                    session,
                    kind="depositor",
                    login_name=make_id_number("371302", date(1990, 1, 1 + n), n, male=True),
                    password="secret123",
                    display_name=f"职工{n}",
                ),
            )
            app_id = service.submit(
                session,
                business_type="contact_change",
                applicant=applicant,
                channel=channel,
                payload={"phone": f"1391234567{n}"},
                branch_id=branch.id,
                idempotency_key=f"cli-{n}",
                now=at,
            )
            if channel != "wechat":
                service.act(session, app_id, actor=clerk, action="accept", now=at)
                service.act(session, app_id, actor=reviewer, action="review", now=at)
    engine.dispose()
    args = ["workflow", "stats", "--from", "2026-05-01", "--to", "2026-05-31"]
    assert run([*args, "--json", "--branch", "W1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["completed"] == 2 and data["completed_online"] == 1
    assert data["online_rate"] == "50.00%"
    assert {"status": "submitted", "channel": "wechat", "count": 1} in data["submitted"]
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "网办率 online rate: 50.00%" in out and "已办结 completed" in out
    assert run(["workflow", "stats", "--from", "May", "--to", "2026-05-31"]) == 2
    assert run([*args, "--branch", "NOPE"]) == 2
