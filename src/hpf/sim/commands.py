"""``hpf demo`` and ``hpf sim``: the demo city for ``make demo``, the simulated city, demo data.

- ``hpf demo [--scale S] [--seed N]``: builds the simulated city at a small scale (2020–2023;
  :mod:`hpf.sim.run`), imports the 2023 goal table, ties one demo user per role to it and prints
  the address and the sign-ins; a second run finds the city and only prints.
- ``hpf demo seed``: the tiny demo fund of :mod:`hpf.sim.demo` (one employer, twelve people).
- ``hpf sim run --scale S --seed N``: the simulated city alone, into ``HPF_DATABASE_URL``.
"""

from __future__ import annotations

import time
from datetime import date

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from hpf.auth.demo import DEMO_DEPOSITORS, DEMO_EMPLOYER, DEMO_PASSWORD, DEMO_STAFF, seed_demo_users
from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail
from hpf.config import get_settings
from hpf.db.engine import unit_of_work
from hpf.deposits.models import Depositor, Employer
from hpf.org import service as org_service
from hpf.policy.loader import get_policy
from hpf.sim.demo import seed_demo_books, seed_demo_goals
from hpf.sim.run import FIRST_MONTH, LAST_MONTH, month_count, simulate

DEMO_SCALE = 0.0005
"""``make demo``: about 400 depositors; a fresh clone serves in under a minute."""
ADDRESS = "http://127.0.0.1:8000"

app = typer.Typer(
    help="演示数据 Demo data (development only): bare `hpf demo` builds the demo city",
    invoke_without_command=True,
)
sim_app = typer.Typer(
    help="模拟城市 Simulated city (calibrated to the goal table)", no_args_is_help=True
)


def _refuse_production() -> None:
    if get_settings().env == "production":
        fail("生产环境不能创建演示数据 refusing to seed demo data when HPF_ENV=production")


def _run_city(scale: float, seed: int, resume: bool = False) -> float:
    """Simulate 2020–2023 with a progress bar; returns the seconds taken."""
    started = time.perf_counter()
    columns = (
        TextColumn("[bold]模拟城市 simulated city[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("", total=month_count((FIRST_MONTH, LAST_MONTH)))

        def advance(month: date) -> None:
            done = month_count((FIRST_MONTH, month))
            progress.update(task, completed=done, description=f"{month:%Y-%m}")

        with domain_errors():
            simulate(
                unit_of_work,
                scale=scale,
                seed=seed,
                policy=get_policy(),
                on_month=advance,
                resume=resume,
            )
    return time.perf_counter() - started


@sim_app.command("run")
def sim_run(
    scale: float = typer.Option(0.05, "--scale", help="1.0 = Linyi (≈0.8 M depositors)"),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same books"),
    resume: bool = typer.Option(
        False, "--resume", help="Go on from the last month done (same scale and seed)"
    ),
) -> None:
    """Build the simulated city and run 2020–2023 through the real batch paths (empty database).

    模拟城市：按绩效目标表校准，2020–2023 年逐月缴存、提取、贷款、结息、增值收益分配；
    中断后用 --resume 从最后完成的月份继续，结果与不中断相同。
    """
    _refuse_production()
    took = _run_city(scale, seed, resume)
    typer.echo(f"模拟完成 simulated 2020–2023 at scale {scale} (seed {seed}) in {took:.1f} s")


@app.callback()
def demo(
    ctx: typer.Context,
    scale: float = typer.Option(DEMO_SCALE, "--scale", help="City size: 1.0 = Linyi"),
    seed: int = typer.Option(1, "--seed", help="Random seed"),
) -> None:
    """Build the demo city (simulated 2020–2023), the goal table and one user per role.

    演示城市：模拟 2020–2023 年业务、导入 2023 年绩效目标表、每个角色一个演示用户。
    """
    if ctx.invoked_subcommand is not None:
        return
    _refuse_production()
    with unit_of_work() as session:
        built = bool(session.scalar(select(func.count()).select_from(Depositor)))
    if not built:
        took = _run_city(scale, seed)
        typer.echo(f"演示城市已建成 demo city built in {took:.1f} s (scale {scale}, seed {seed})")
    else:
        typer.echo("演示城市已存在 demo city exists")
    with domain_errors(), unit_of_work() as session:
        seed_demo_goals(session)
        first = session.scalars(select(Depositor).order_by(Depositor.id).limit(2)).all()
        employer = session.get(Employer, first[0].employer_id) if first[0].employer_id else None
        if employer is None:
            employer = session.scalars(select(Employer).order_by(Employer.id).limit(1)).one()
        seed_demo_users(
            session,
            branch_id=employer.branch_id,
            employer_ref=employer.employer_ref,
            depositor_refs={p.id_number: p.depositor_ref for p in first},
        )
    typer.echo(f"地址 address: {ADDRESS}")
    typer.echo(f"演示密码 demo password: {DEMO_PASSWORD}")
    for role in DEMO_STAFF:
        typer.echo(f"  员工 staff {role:<14} → {ADDRESS}/signin  login {role}")
    login = DEMO_EMPLOYER[0]
    typer.echo(f"  单位 employer {login:<12} → {ADDRESS}/signin?kind=employer  login {login}")
    for id_number, name, _ref in DEMO_DEPOSITORS:
        typer.echo(f"  个人 depositor {name} → {ADDRESS}/signin?kind=depositor  login {id_number}")


@app.command("seed")
def seed() -> None:
    """Seed the organisation, demo books and demo users; running it again changes nothing.

    创建演示数据：机构、演示单位及其职工（2022-07 起逐月汇缴、2023 年度结息）、2023 年绩效目标表、各角色演示用户。
    """
    _refuse_production()
    with domain_errors(), unit_of_work() as session:
        org_service.seed_linyi(session)
        branch = next(u for u in org_service.list_units(session) if u.kind == "branch")
        books = seed_demo_books(session, branch, get_policy(), system_principal("demo"))
        goals_year = seed_demo_goals(session)
        made = seed_demo_users(
            session,
            branch_id=books.branch_id,
            employer_ref=books.employer_ref,
            depositor_refs=books.depositor_refs,
        )
    state = "已创建 created" if books.created else "已存在 exists"
    typer.echo(
        f"演示单位 demo employer {books.employer_ref} ({state}), "
        f"{len(books.depositor_refs)} 名职工 depositors"
    )
    if goals_year is not None:
        typer.echo(f"已导入 {goals_year} 年绩效目标表 imported the {goals_year} goal table")
    typer.echo(f"已创建 {len(made)} 个演示用户 created {len(made)} demo users")
    for line in made:
        typer.echo(f"  {line}")
    typer.echo(f"演示密码 demo password: {DEMO_PASSWORD}")
