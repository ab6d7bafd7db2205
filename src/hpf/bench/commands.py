"""``hpf bench``: the benchmark suite against raw-database baselines (docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hpf.bench.results import CASES, Sizes
from hpf.db.engine import make_engine
from hpf.errors import InvalidInput

PG_ADMIN_URL_ENV = "HPF_BENCH_PG_URL"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ONLY_HELP = f"Run only this case (repeatable): {', '.join(CASES)}."


def machine(url: str) -> dict[str, Any]:
    """The machine and load a run measured on."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            total = next(line for line in f if line.startswith("MemTotal:"))
        info["memory_gib"] = round(int(total.split()[1]) / 1024**2, 1)
    except (OSError, StopIteration):
        pass
    if make_url(url).get_backend_name() == "sqlite":
        info["database"] = f"SQLite {sqlite3.sqlite_version}"
    else:
        engine = make_engine(url)
        with engine.connect() as conn:
            info["database"] = str(conn.execute(text("SHOW server_version")).scalar())
        engine.dispose()
        info["database"] = f"PostgreSQL {info['database']}"
    return info


@contextmanager
def scratch_database(url: str | None, pg: bool) -> Iterator[str]:
    """The database of the run: ``url``, a scratch PostgreSQL database, or a temp SQLite file."""
    if url:
        yield url
        return
    if pg:
        admin_url = os.environ.get(PG_ADMIN_URL_ENV, PG_ADMIN_URL)
        name = f"hpf_bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        return
    folder = Path(tempfile.mkdtemp(prefix="hpf-bench-"))
    try:
        yield f"sqlite:///{folder / 'bench.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench(
    quick: bool = typer.Option(
        False, "--quick", help="A small run (10,000 depositors), under a minute on SQLite."
    ),
    as_json: bool = typer.Option(False, "--json", help='Print {"results": [...]} as JSON.'),
    scale: float = typer.Option(
        1.0, "--scale", min=0.0001, help="1.0 = 1,000,000 depositors, 100,000 loans."
    ),
    url: str | None = typer.Option(
        None, "--url", help="An empty database (default: a new SQLite file, removed after)."
    ),
    pg: bool = typer.Option(
        False, "--pg", help=f"A scratch PostgreSQL database on ${PG_ADMIN_URL_ENV}, dropped after."
    ),
    only: Annotated[list[str] | None, typer.Option("--only", help=ONLY_HELP)] = None,
    rows: int | None = typer.Option(None, "--rows", hidden=True, help="Depositors (tests)."),
) -> None:
    """Benchmarks against raw-database baselines. 性能基准（与裸数据库基线对比）。"""
    only = only or []
    unknown = sorted(set(only) - set(CASES))
    if unknown:
        raise InvalidInput(
            f"未知的基准用例：{', '.join(unknown)}", f"unknown case: {', '.join(unknown)}"
        )
    sizes = Sizes.tiny(rows) if rows else Sizes.quick() if quick else Sizes.for_scale(scale)

    started = time.perf_counter()

    def say(message: str) -> None:
        typer.echo(f"[{time.perf_counter() - started:6.1f} s] {message}", err=as_json)

    from hpf.bench.cases import run_suite  # the whole application: imported when run

    with scratch_database(url, pg) as db_url:
        results = run_suite(db_url, sizes, only=only, say=say)
        where = machine(db_url)
    if as_json:
        typer.echo(json.dumps({"results": [r.as_json() for r in results]}, ensure_ascii=False))
        return
    typer.echo(
        f"machine 机器: {where['cpus']} CPUs, {where.get('memory_gib', '?')} GiB, load "
        f"{where['load_average']}, {where['database']}, Python {where['python']}"
    )
