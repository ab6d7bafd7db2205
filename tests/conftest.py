"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from HPF_TEST_PG_URL or the server on 127.0.0.1:5432. Each test run creates
its own databases (migrated with Alembic, never create_all) and drops them at the end. Each
test runs inside an outer transaction that is rolled back. With CI=true a missing PostgreSQL
server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hpf.db.engine import make_engine
from hpf.db.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")
PG_ADMIN_URL = os.environ.get("HPF_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_outcomes: Counter[tuple[str, str]] = Counter()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class Databases:
    """Creates throw-away databases for one test session and drops them afterwards."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pg_names: list[str] = []
        self._pg_error: str | None = None
        self._pg_checked = False

    def pg_available(self) -> str | None:
        """None when PostgreSQL answers, otherwise the reason."""
        if not self._pg_checked:
            self._pg_checked = True
            try:
                admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text("SELECT 1"))
                admin.dispose()
            except Exception as exc:  # any failure to reach the server
                self._pg_error = f"PostgreSQL unavailable at {PG_ADMIN_URL}: {exc}"
        return self._pg_error

    def new_url(self, backend: str) -> str:
        """A new, migrated database on ``backend``."""
        name = f"hpf_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            url = f"sqlite:///{self.tmp / (name + '.db')}"
        else:
            reason = self.pg_available()
            if reason is not None:
                if _in_ci():
                    pytest.fail(reason)
                pytest.skip(reason)
            admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.pg_names.append(name)
            url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        return url

    def drop_all(self) -> None:
        if not self.pg_names:
            return
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.pg_names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def db_url(backend: str, databases: Databases) -> str:
    """One migrated database per backend, shared by the session's rolled-back tests."""
    return databases.new_url(backend)


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        outer.rollback()
        conn.close()


@pytest.fixture
def fresh_db_url(backend: str, databases: Databases) -> str:
    """A database of its own, for tests that commit (concurrency, CLI, crash recovery)."""
    return databases.new_url(backend)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "backend" in fixtures:
            item.add_marker(pytest.mark.db)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        for backend_name in BACKENDS:
            if (
                f"[{backend_name}" in report.nodeid
                or f"-{backend_name}]" in report.nodeid
                or (f"-{backend_name}-" in report.nodeid)
            ):
                _outcomes[(backend_name, report.outcome)] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _outcomes:
        return
    terminalreporter.section("database backends")
    for backend_name in BACKENDS:
        counts = {o: n for (b, o), n in _outcomes.items() if b == backend_name}
        summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "none"
        terminalreporter.write_line(f"{backend_name}: {summary}")
