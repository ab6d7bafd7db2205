"""``hpf demo seed``: the demo books go through the real use cases, tie the portal users, replay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.demo import DEMO_DEPOSITORS
from hpf.auth.models import UserAccount
from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import make_engine
from hpf.deposits.depositors import balance_fen
from hpf.deposits.models import Depositor, Employer, Remittance
from hpf.interest.models import InterestSettlement
from hpf.ledger.models import Journal
from hpf.ledger.verify import verify_ledger


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("HPF_ENV", "development")
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def test_demo_seed_posts_real_books_and_links_users(
    cli_db: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["users", "seed-demo"]) == 0  # users first, with placeholder references
    assert run(["demo", "seed"]) == 0
    assert "已创建 created" in capsys.readouterr().out
    engine = make_engine(cli_db)
    with Session(engine) as session:
        journals = session.scalar(select(func.count()).select_from(Journal))
        employer = session.scalars(select(Employer)).one()
        statuses = session.execute(
            select(Remittance.status, func.count()).group_by(Remittance.status)
        ).all()
        assert dict(statuses) == {"posted": 17, "draft": 1}
        assert session.scalar(select(func.count()).select_from(InterestSettlement)) == 1
        first = session.scalars(
            select(Depositor).where(Depositor.id_number == DEMO_DEPOSITORS[0][0])
        ).one()
        # 17 months of 6,500 yuan × (12% + 12%) plus the 2023 interest on the first 12 months
        contributions = 17 * 156_000
        interest = balance_fen(session, first) - contributions
        assert 0 < interest < 156_000 * 12 * 15 // 1000  # under 1.5% of the year-end balance
        users = {
            u.login_name: u
            for u in session.scalars(select(UserAccount).where(UserAccount.kind != "staff"))
        }
        assert users["E0001"].employer_ref == employer.employer_ref
        assert users[DEMO_DEPOSITORS[0][0]].depositor_ref == first.depositor_ref
        assert verify_ledger(session).ok
    assert run(["demo", "seed"]) == 0  # replay: nothing new
    assert "已存在 exists" in capsys.readouterr().out
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Journal)) == journals
    engine.dispose()
