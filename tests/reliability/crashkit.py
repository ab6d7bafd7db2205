"""Crash harness: twin databases, the real ``hpf`` command killed with SIGKILL, fingerprints.

A *base* database is built once per backend; every run gets a *twin* (PostgreSQL: ``CREATE
DATABASE … TEMPLATE``; SQLite: a file copy), so the uninterrupted run and each crashed one start
from the same state. A job runs as a subprocess in its own process group and is killed (SIGKILL,
the whole group: a ``pg_dump`` child dies too) at a :class:`Moment`: after a delay, or as soon as
its write transaction is seen open (PostgreSQL: the job's backend holds a transaction id in
``pg_stat_activity``; SQLite: another connection cannot take the write lock).

:func:`fingerprint` summarises a database as the ledger chain head, journal and posting counts and
a digest of every business table by its natural columns (surrogate ids of new rows and ``*_at``
timestamps left out: a killed transaction consumes sequence values, and clocks differ).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from hpf.db.engine import make_engine
from reliability.harness import hpf_command

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SKIPPED_TABLES = ("alembic_version",)
SKIPPED_PREFIXES = ("audit", "auth_session", "ops_backup")
"""The audit trail (its own hash chain over clock times) and session/backup bookkeeping."""


def benchmark(name: str) -> ModuleType:
    """A benchmark script as a module (their setups build big books quickly)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    if spec.name in sys.modules:
        return sys.modules[spec.name]
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


# --- twins --------------------------------------------------------------------------------------


@dataclass
class Twins:
    """Copies of one base database."""

    base: str
    databases: Any
    """The session's ``conftest.Databases`` (drops PostgreSQL twins at the end)."""
    admin_url: str

    @property
    def backend(self) -> str:
        return "sqlite" if self.base.startswith("sqlite") else "postgresql"

    def make(self) -> str:
        name = f"hpf_twin_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if self.backend == "sqlite":
            source = Path(make_url(self.base).database or "")
            target = source.with_name(name + ".db")
            with contextlib.closing(sqlite3.connect(source)) as src:
                src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                with contextlib.closing(sqlite3.connect(target)) as dst:
                    src.backup(dst)
            return f"sqlite:///{target}"
        base_name = make_url(self.base).database
        admin = make_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base_name}"'))
        admin.dispose()
        self.databases.pg_names.append(name)
        return make_url(self.base).set(database=name).render_as_string(hide_password=False)


# --- jobs ---------------------------------------------------------------------------------------


def start(args: list[str], url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``hpf ARGS`` on ``url`` in a process group of its own."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*hpf_command(), *args],
            env={**os.environ, "HPF_DATABASE_URL": url, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run(args: list[str], url: str, log: Path, timeout: float = 900) -> float:
    """``hpf ARGS`` to completion (exit 0); returns the seconds it took."""
    started = time.monotonic()
    proc = start(args, url, log)
    code = proc.wait(timeout=timeout)
    assert code == 0, f"hpf {' '.join(args)} exited {code}: {log.read_text()[-2000:]}"
    return time.monotonic() - started


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def writer_open(url: str, exclude_pid: int | None = None) -> bool:
    """True while some other connection holds an open write transaction on ``url``."""
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        con = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        else:
            con.execute("ROLLBACK")
            return False
        finally:
            con.close()
    name = make_url(url).database
    with _pg_admin() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
            ),
            {"d": name},
        ).scalar_one()
    return bool(n)


_admin_engines: dict[str, Any] = {}


@contextlib.contextmanager
def _pg_admin() -> Iterator[Any]:
    from conftest import PG_ADMIN_URL

    if PG_ADMIN_URL not in _admin_engines:
        _admin_engines[PG_ADMIN_URL] = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with _admin_engines[PG_ADMIN_URL].connect() as conn:
        yield conn


@dataclass(frozen=True)
class Moment:
    """When to kill: ``delay`` seconds after the start, once ``when()`` holds, or (neither given)
    once the write transaction is open."""

    delay: float | None = None
    when: Callable[[], bool] | None = None
    name: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return "transaction open" if self.delay is None else f"after {self.delay:.2f} s"

    def wait(self, url: str, alive: Callable[[], bool], timeout: float = 300) -> bool:
        """Block until the moment; False when the job ended first."""
        if self.delay is not None:
            deadline = time.monotonic() + self.delay
            while time.monotonic() < deadline:
                if not alive():
                    return False
                time.sleep(0.005)
            return alive()
        seen = self.when or (lambda: writer_open(url))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive():
                return False
            if seen():
                return alive()
            time.sleep(0.005)
        raise AssertionError(f"the moment to kill ({self.label}) never came")


def run_killed(args: list[str], url: str, log: Path, moment: Moment) -> bool:
    """``hpf ARGS`` killed with SIGKILL at ``moment``; False when it finished first."""
    proc = start(args, url, log)
    try:
        if not moment.wait(url, lambda: proc.poll() is None):
            return False
        kill_group(proc)
        return True
    finally:
        if proc.poll() is None:
            kill_group(proc)


# --- fingerprints -------------------------------------------------------------------------------


def fingerprint(url: str) -> dict[str, Any]:
    """The chain head, journal/posting counts and a digest per business table."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            head = conn.execute(text("SELECT last_seq, last_hash FROM ledger_chain_head")).one()
            out: dict[str, Any] = {
                "last_seq": int(head[0]),
                "head_hash": head[1],
                "journals": conn.execute(text("SELECT count(*) FROM ledger_journal")).scalar_one(),
                "postings": conn.execute(text("SELECT count(*) FROM ledger_posting")).scalar_one(),
            }
            schema = inspect(conn)
            for table in sorted(schema.get_table_names()):
                if table in SKIPPED_TABLES or table.startswith(SKIPPED_PREFIXES):
                    continue
                cols = [
                    c["name"]
                    for c in schema.get_columns(table)
                    if c["name"] != "id" and not c["name"].endswith("_at")
                ]
                if not cols:
                    continue
                quoted = ", ".join(f'"{c}"' for c in cols)
                rows = sorted(
                    repr(tuple(r)) for r in conn.execute(text(f'SELECT {quoted} FROM "{table}"'))
                )
                out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
            return out
    finally:
        engine.dispose()


def changed_tables(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def ledger_verify(url: str, log: Path) -> dict[str, Any]:
    """``hpf ledger verify --json`` on ``url`` (exit 0 required)."""
    done = subprocess.run(
        [*hpf_command(), "ledger", "verify", "--json"],
        env={**os.environ, "HPF_DATABASE_URL": url},
        capture_output=True,
        timeout=600,
    )
    with log.open("ab") as out:
        out.write(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout.decode()[-1000:] + done.stderr.decode()[-1000:]
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def dispose_cached_engines(url: str) -> None:
    """Close pooled connections that ``unit_of_work(url)`` keeps (a template must be idle)."""
    from hpf.db import engine as db_engine

    factory = db_engine._factories.pop(url, None)
    if factory is not None:
        bind = factory.kw.get("bind")
        if bind is not None:
            bind.dispose()


def copy_path(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst) if src.is_dir() else shutil.copy2(src, dst)
