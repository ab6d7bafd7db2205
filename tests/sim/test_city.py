"""The simulated city: deterministic books that verify, calibrated to the seed's figures.

- Two runs with the same scale and seed give the same ledger (same head hash), on SQLite and on
  PostgreSQL, and ``hpf ledger verify`` passes on them.
- Calibration: the annual report's figures of 2022 and 2023 against the seed (domain.md §10)
  times the scale. The acceptance band is ±10 % at scale 0.05 (``slow``: minutes). The suite
  keeps a bounded run at scale 0.002 (≈ 1,600 depositors): there a year's loans are ≈ 30 and
  its retirements a handful, so one loan or one retirement moves a figure by several percent;
  the band there is ±25 % (binomial noise of counts that small), on the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import make_engine, unit_of_work
from hpf.deposits.models import Depositor
from hpf.ledger.verify import verify_ledger
from hpf.loans.models import Loan
from hpf.policy.loader import load_shipped_policy
from hpf.sim import calibration as cal
from hpf.sim.run import simulate
from hpf.withdrawals.models import Withdrawal

SHORT = (date(2020, 1, 1), date(2020, 8, 1))
"""Long enough for every business line: loans start in July 2020 (six months of history)."""


def _run(url: str, scale: float, seed: int, months: tuple[date, date] = SHORT) -> str:
    simulate(
        lambda: unit_of_work(url),
        scale=scale,
        seed=seed,
        policy=load_shipped_policy(),
        months=months,
    )
    engine = make_engine(url)
    with Session(engine) as session:
        report = verify_ledger(session)
    engine.dispose()
    assert report.ok, [p.message_en for p in report.problems][:3]
    return report.head_hash


@pytest.fixture
def two_urls(databases: object, backend: str) -> tuple[str, str]:
    return databases.new_url(backend), databases.new_url(backend)  # type: ignore[attr-defined]


def test_same_seed_same_books(two_urls: tuple[str, str]) -> None:
    first, second = two_urls
    head = _run(first, 0.0005, 7)
    assert head and head == _run(second, 0.0005, 7)
    engine = make_engine(first)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Depositor)) >= 400
        kinds = {w.type for w in session.scalars(select(Withdrawal))}
        assert {"purchase", "loan_repayment", "retirement"} <= kinds
        assert session.scalar(select(func.count()).select_from(Loan)) > 0
    engine.dispose()


def test_another_seed_other_books(databases: object) -> None:
    a, b = databases.new_url("sqlite"), databases.new_url("sqlite")  # type: ignore[attr-defined]
    assert _run(a, 0.0005, 1) != _run(b, 0.0005, 2)


def test_refuses_a_database_with_people(databases: object) -> None:
    url = databases.new_url("sqlite")  # type: ignore[attr-defined]
    _run(url, 0.0005, 1, (date(2020, 1, 1), date(2020, 1, 1)))
    with pytest.raises(Exception, match="empty"):
        _run(url, 0.0005, 1)


@pytest.fixture
def cli_db(databases: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = databases.new_url("sqlite")  # type: ignore[attr-defined]
    monkeypatch.setenv("HPF_DATABASE_URL", url)
    monkeypatch.setenv("HPF_ENV", "development")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _figures(capsys: pytest.CaptureFixture[str], year: int) -> dict[str, Decimal]:
    capsys.readouterr()
    assert run(["report", "annual", "--year", str(year), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    return {
        "contributions": Decimal(r["deposits"]["contributions"]),
        "new_depositors": Decimal(r["deposits"]["new_depositors"]),
        "withdrawals": Decimal(r["withdrawals"]["amount"]),
        "loans_issued": Decimal(r["loans"]["issued_amount"]),
        "interest_paid": Decimal(r["deposits"]["interest_credited"]),
        "value_added_distributed": sum(
            (Decimal(v) for v in r["finance"]["distribution"].values()), Decimal(0)
        ),
        "overdue_ratio": Decimal(r["risk"]["overdue_ratio"] or "0"),
    }


def _check_calibration(capsys: pytest.CaptureFixture[str], scale: float, band: float) -> None:
    off = []
    for year in (2022, 2023):
        got = _figures(capsys, year)
        seed = cal.SEED[year]
        for name in (
            "contributions",
            "new_depositors",
            "withdrawals",
            "loans_issued",
            "interest_paid",
            "value_added_distributed",
        ):
            want = Decimal(getattr(seed, name)) * Decimal(str(scale))
            ratio = got[name] / want
            if abs(ratio - 1) > Decimal(str(band)):
                off.append(f"{year} {name}: {got[name]} vs {want:.0f} ({ratio:.3f})")
        assert got["overdue_ratio"] < cal.OVERDUE_RATIO_CEILING
    assert not off, off


def test_calibrated_at_a_small_scale(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sim", "run", "--scale", "0.002", "--seed", "1"]) == 0
    _check_calibration(capsys, 0.002, 0.25)
    assert run(["ledger", "verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["head_hash"]


@pytest.mark.slow
def test_calibrated_at_scale_005(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sim", "run", "--scale", "0.05", "--seed", "1"]) == 0
    _check_calibration(capsys, 0.05, 0.10)


def test_a_resumed_run_ends_with_the_same_books(two_urls: tuple[str, str]) -> None:
    """A run stopped after a month and resumed (``--resume``) ends where an unbroken one does."""
    whole, broken = two_urls
    months = (date(2020, 6, 1), date(2020, 8, 1))
    head = _run(whole, 0.0005, 3, months)
    _run(broken, 0.0005, 3, (months[0], months[0]))
    with pytest.raises(Exception, match="empty"):
        _run(broken, 0.0005, 3, months)

    def resume(seed: int) -> None:
        simulate(
            lambda: unit_of_work(broken),
            scale=0.0005,
            seed=seed,
            policy=load_shipped_policy(),
            months=months,
            resume=True,
        )

    with pytest.raises(Exception, match="scale"):
        resume(4)
    resume(3)
    engine = make_engine(broken)
    with Session(engine) as session:
        report = verify_ledger(session)
    engine.dispose()
    assert report.ok and report.head_hash == head
