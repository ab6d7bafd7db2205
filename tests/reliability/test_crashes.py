"""Crash recovery (issue #10 item 2) on SQLite and PostgreSQL: kill -9 mid-job, restart, re-run.

Jobs, each on a twin of a base database big enough that it takes a second or more:
- **remittance posting** — ``POST /api/v1/remittances/post`` of 100 confirmed June lists (10,000
  lines) on ``hpf serve`` (there is no CLI for it: the web server is its worker); the server is
  killed, restarted, and the same request resent with the same idempotency key;
- **interest settlement** — ``hpf interest settle --year 2023`` (10,000 accounts with 积数);
- **daily overdue batch** — ``hpf loans overdue run --on 2025-06-01`` (the overdue benchmark's
  loans: 10% of them with installments unpaid);
- **backup** — ``hpf backup create``: a partial backup must never verify, the re-run's must.

Each job is killed (SIGKILL to its process group) once its write transaction is seen open;
``@pytest.mark.slow`` adds kills after 10, 30, 50, 70 and 90% of the uninterrupted run's time. After
the kill the database is either untouched or complete (never half-written); after the re-run it
equals the uninterrupted twin: same ``head_hash`` from ``hpf ledger verify --json``, same journal
and posting counts, same balances and business tables (see ``crashkit.fingerprint``).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from conftest import PG_ADMIN_URL
from hpf.auth import service as auth_service
from hpf.auth.principal import system_principal
from hpf.db.engine import make_engine
from hpf.deposits import remittance
from hpf.ops.backup import BackupError, backups, read_manifest, verify_backup
from hpf.org.service import create_unit
from hpf.sim.bulk import CityShape, create_city
from reliability.crashkit import (
    Moment,
    Twins,
    benchmark,
    changed_tables,
    fingerprint,
    kill_group,
    ledger_verify,
    run,
    run_killed,
    start,
)
from reliability.harness import free_port, wait_healthy
from user_factories import make_user

DEPOSITORS = 10_000
EMPLOYERS = 100  # one June list each (one API request posts at most 200)
LOANS = 5_000
ACTOR = system_principal("reliability")
DEFAULT_FRACTIONS: tuple[float, ...] = ()
SLOW_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)


@dataclass
class DepositBase:
    twins: Twins
    june: list[int]
    token: str


def _deposit_base(url: str) -> tuple[list[int], str]:
    """A city of 10,000 depositors: May 2023 posted, June's lists confirmed and funded."""
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        create_unit(s, code="R0", name="可靠性测试中心", kind="center")
        branches = [
            create_unit(s, code=f"R{i}", name=f"管理部{i}", kind="branch", parent_code="R0").id
            for i in range(1, 5)
        ]
        create_city(
            s,
            branches,
            CityShape(employers=EMPLOYERS, depositors=DEPOSITORS, opened_on=date(2023, 1, 1)),
        )
        finance = make_user(s, roles=("finance",), whole_center=True)
        token = auth_service.issue_api_token(
            s, finance.user_id, name="crash", scopes=frozenset({"finance"})
        )
    engine.dispose()
    bench = benchmark("remittance_and_settlement")
    may = bench.prepare_month_bulk(url, date(2023, 5, 1), date(2023, 5, 12))
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        remittance.post_remittances(s, may, date(2023, 5, 12), ACTOR)
    engine.dispose()
    june = bench.prepare_month_bulk(url, date(2023, 6, 1), date(2023, 6, 12))
    bench.analyze(url)
    return june, token


@pytest.fixture(scope="module")
def deposits(backend: str, databases: Any) -> DepositBase:
    url = databases.new_url(backend)
    june, token = _deposit_base(url)
    return DepositBase(Twins(url, databases, PG_ADMIN_URL), june, token)


@pytest.fixture(scope="module")
def loans(backend: str, databases: Any) -> Twins:
    url = databases.new_url(backend)
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        benchmark("loans_overdue_and_repricing")._setup(s, LOANS)
    engine.dispose()
    benchmark("remittance_and_settlement").analyze(url)
    return Twins(url, databases, PG_ADMIN_URL)


def _moments(took: float, slow: bool) -> list[Moment]:
    fractions = SLOW_FRACTIONS if slow else DEFAULT_FRACTIONS
    return [Moment(None), *(Moment(took * f) for f in fractions)]


def _check_recovery(
    twins: Twins,
    job: str,
    tmp: Path,
    jobs: tuple[Any, Any],
    *,
    slow: bool,
) -> list[str]:
    """The uninterrupted run on one twin; per moment, a killed run then a re-run on another.

    ``uninterrupted(url, log) -> seconds``; ``killed(url, log, moment) -> bool`` (False when the
    job finished first); the re-run is ``uninterrupted`` again. Returns one line per case.
    """
    uninterrupted, killed = jobs
    log = tmp / f"{job}.log"
    reference = twins.make()
    initial = fingerprint(reference)
    took = uninterrupted(reference, log)
    final = fingerprint(reference)
    assert changed_tables(initial, final), f"{job} changed nothing"
    outcomes = [f"{job}/{twins.backend}: uninterrupted {took:.1f} s"]
    for moment in _moments(took, slow):
        url = twins.make()
        was_killed = killed(url, log, moment)
        after_kill = fingerprint(url)
        state = (
            "untouched" if after_kill == initial else "complete" if after_kill == final else None
        )
        assert state is not None, (
            f"{job} killed {moment.label} left a half-written database: "
            f"{changed_tables(initial, after_kill)} changed, "
            f"{changed_tables(after_kill, final)} differ from the complete run"
        )
        uninterrupted(url, log)
        recovered = fingerprint(url)
        assert recovered == final, (
            f"{job} killed {moment.label} then re-run differs from the uninterrupted run: "
            f"{changed_tables(recovered, final)}"
        )
        verified = ledger_verify(url, log)  # the real command, as an operator would check
        assert verified["ok"] and verified["head_hash"] == final["head_hash"]
        assert (verified["journals"], verified["postings"]) == (
            final["journals"],
            final["postings"],
        )
        outcomes.append(
            f"  killed {moment.label}: "
            f"{'killed' if was_killed else 'finished first'}, {state}; re-run equal"
        )
    return outcomes


def _cli(args: list[str]) -> tuple[Any, Any]:
    def uninterrupted(url: str, log: Path) -> float:
        return run(args, url, log)

    def killed(url: str, log: Path, moment: Moment) -> bool:
        return run_killed(args, url, log, moment)

    return uninterrupted, killed


# --- remittance posting through the web server ------------------------------------------------


class Server:
    """``hpf serve`` in its own process group on a free port."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = free_port()
        self.proc = start(["serve", "--host", "127.0.0.1", "--port", str(self.port)], url, log)
        self.base = f"http://127.0.0.1:{self.port}"
        wait_healthy(self.base, alive=lambda: self.proc.poll() is None)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


@dataclass
class Call:
    response: httpx.Response | None = None
    error: Exception | None = None


def _post_lists(base: str, token: str, key: str, ids: list[int]) -> Call:
    call = Call()
    try:
        call.response = httpx.post(
            f"{base}/api/v1/remittances/post",
            json={"remittance_ids": ids},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=900,
        )
    except httpx.TransportError as exc:
        call.error = exc
    return call


def _in_background(
    base: str, token: str, key: str, ids: list[int]
) -> tuple[threading.Thread, list[Call]]:
    """The posting request in a thread (started); its answer lands in the list."""
    result: list[Call] = []
    worker = threading.Thread(target=lambda: result.append(_post_lists(base, token, key, ids)))
    worker.start()
    return worker, result


def _posted_all(call: Call, ids: list[int]) -> None:
    assert call.response is not None, call.error
    assert call.response.status_code == 200, call.response.text[:500]
    data = call.response.json()
    assert sorted(data["posted"] + data["already"]) == sorted(ids)


def _remittance_jobs(base: DepositBase) -> tuple[Any, Any]:
    key = f"crash-{uuid.uuid4().hex[:12]}"  # the same key for every run: one intended write

    def uninterrupted(url: str, log: Path) -> float:
        server = Server(url, log)
        try:
            started = time.monotonic()
            _posted_all(_post_lists(server.base, base.token, key, base.june), base.june)
            return time.monotonic() - started
        finally:
            server.stop()

    def killed(url: str, log: Path, moment: Moment) -> bool:
        server = Server(url, log)
        worker, _result = _in_background(server.base, base.token, key, base.june)
        try:
            if not moment.wait(url, worker.is_alive):
                return False
            kill_group(server.proc)
            return True
        finally:
            if server.proc.poll() is None:
                kill_group(server.proc)
            worker.join(timeout=120)

    return uninterrupted, killed


# --- the tests --------------------------------------------------------------------------------


def test_remittance_posting_survives_kill(
    deposits: DepositBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _check_recovery(
        deposits.twins, "remittance", tmp_path, _remittance_jobs(deposits), slow=False
    )
    _report(capsys, lines)


def test_interest_settlement_survives_kill(
    deposits: DepositBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["interest", "settle", "--year", "2023"]
    lines = _check_recovery(deposits.twins, "settlement", tmp_path, _cli(args), slow=False)
    _report(capsys, lines)


def test_overdue_batch_survives_kill(
    loans: Twins, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["loans", "overdue", "run", "--on", "2025-06-01"]
    lines = _check_recovery(loans, "overdue", tmp_path, _cli(args), slow=False)
    _report(capsys, lines)


@pytest.mark.slow
@pytest.mark.parametrize("job", ["remittance", "settlement", "overdue"])
def test_every_job_survives_kills_at_many_moments(
    job: str,
    deposits: DepositBase,
    loans: Twins,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs = {
        "remittance": (deposits.twins, _remittance_jobs(deposits)),
        "settlement": (deposits.twins, _cli(["interest", "settle", "--year", "2023"])),
        "overdue": (loans, _cli(["loans", "overdue", "run", "--on", "2025-06-01"])),
    }
    twins, pair = jobs[job]
    _report(capsys, _check_recovery(twins, job, tmp_path, pair, slow=True))


def test_killed_backup_never_verifies_and_rerun_does(
    deposits: DepositBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _report(capsys, _backup_kills(deposits, tmp_path, ()))


@pytest.mark.slow
def test_backup_killed_at_many_moments(
    deposits: DepositBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _report(capsys, _backup_kills(deposits, tmp_path, SLOW_FRACTIONS))


def _backup_kills(deposits: DepositBase, tmp_path: Path, fractions: tuple[float, ...]) -> list[str]:
    """The uninterrupted backup; then killed once its folder appears (mid-backup) and at each
    fraction of its time, each followed by a re-run."""
    log = tmp_path / "backup.log"
    reference, dest = deposits.twins.make(), tmp_path / "reference"
    took = run(["backup", "create", "--to", str(dest)], reference, log)
    (made,) = backups(dest)
    tables = _books(read_manifest(made).tables)
    lines = [f"backup/{deposits.twins.backend}: uninterrupted {took:.1f} s"]
    for n, fraction in enumerate((None, *fractions)):
        url, dest = deposits.twins.make(), tmp_path / f"killed-{n}"
        moment = (
            Moment(when=lambda d=dest: d.is_dir() and any(d.iterdir()), name="backup folder made")
            if fraction is None
            else Moment(took * fraction)
        )
        killed = run_killed(["backup", "create", "--to", str(dest)], url, log, moment)
        leftovers = sorted(dest.iterdir()) if dest.is_dir() else []
        valid = 0
        for folder in leftovers:
            if _backup_verify(folder, log):  # only a backup complete when killed may verify
                assert _books(read_manifest(folder).tables) == tables
                valid += 1
        assert len(backups(dest)) == valid  # retention and restore see no partial backup
        run(["backup", "create", "--to", str(dest)], url, log)
        newest = backups(dest)[0]
        assert _backup_verify(newest, log) and _books(read_manifest(newest).tables) == tables
        lines.append(
            f"  killed {moment.label}: {'killed' if killed else 'finished first'}, "
            f"{len(leftovers)} folder(s) left, {valid} verifying; re-run verifies"
        )
    return lines


def _books(tables: dict[str, Any]) -> dict[str, Any]:
    """A manifest's tables without the bookkeeping of backups themselves (a killed run that had
    finished recorded itself in ``ops_backup`` and the audit trail before the re-run)."""
    return {k: v for k, v in tables.items() if not k.startswith(("audit", "ops_backup"))}


def _backup_verify(folder: Path, log: Path) -> bool:
    """What ``hpf backup verify`` decides (in-process: the command is this function and an
    exit code; a missing or truncated manifest is a failure too)."""
    try:
        result = verify_backup(folder)
    except (BackupError, OSError) as exc:
        with log.open("a") as out:
            out.write(f"verify {folder}: {exc}\n")
        return False
    return result.ok


def _report(capsys: pytest.CaptureFixture[str], lines: list[str]) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(lines))


# --- losing the database connection mid-request --------------------------------------------------


def _terminate_writer(url: str) -> int:
    """pg_terminate_backend on every backend of ``url`` holding an open write transaction."""
    from reliability.crashkit import _pg_admin

    with _pg_admin() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d "
                    "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
                ),
                {"d": make_url(url).database},
            ).all()
        )


def test_lost_connection_answers_503_and_writes_nothing(
    deposits: DepositBase, backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite runs inside the server process: there is no connection to lose")
    log = tmp_path / "server.log"
    for _attempt in range(3):  # until the termination lands inside the request
        url, key = deposits.twins.make(), f"lost-{uuid.uuid4().hex[:12]}"
        initial = fingerprint(url)
        server = Server(url, log)
        try:
            worker, result = _in_background(server.base, deposits.token, key, deposits.june)
            assert Moment(None).wait(url, worker.is_alive)
            terminated = _terminate_writer(url)
            worker.join(timeout=600)
            (call,) = result
            assert call.response is not None, call.error
            if call.response.status_code == 200:
                continue  # the request had committed before the termination: try again
            assert terminated == 1
            assert call.response.status_code == 503, call.response.text[:500]
            problem = call.response.json()
            assert problem["code"] == "database_unavailable"
            assert "数据库连接中断" in problem["detail"] and "retry" in problem["detail_en"]
            assert call.response.headers["content-type"].startswith("application/problem+json")
            assert fingerprint(url) == initial  # nothing half-written
            # the server recovers; the retry with the same key posts every list exactly once
            _posted_all(_post_lists(server.base, deposits.token, key, deposits.june), deposits.june)
            again = _post_lists(server.base, deposits.token, key, deposits.june)
            assert again.response is not None and again.response.json()["replayed"]
        finally:
            server.stop()
        verified = ledger_verify(url, log)
        assert verified["ok"] and verified["journals"] == initial["journals"] + len(deposits.june)
        return
    pytest.fail("the connection was never lost inside the request (three attempts)")
