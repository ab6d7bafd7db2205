"""``hpf demo``: demo data for development and the ``make demo`` walk-through."""

from __future__ import annotations

import typer

from hpf.auth.demo import DEMO_PASSWORD, seed_demo_users
from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail
from hpf.config import get_settings
from hpf.db.engine import unit_of_work
from hpf.org import service as org_service
from hpf.policy.loader import get_policy
from hpf.sim.demo import seed_demo_books, seed_demo_goals

app = typer.Typer(help="演示数据 Demo data (development only)", no_args_is_help=True)


@app.command("seed")
def seed() -> None:
    """Seed the organisation, demo books and demo users; running it again changes nothing.

    创建演示数据：机构、演示单位及其职工（2022-07 起逐月汇缴、2023 年度结息）、2023 年绩效目标表、各角色演示用户。
    """
    if get_settings().env == "production":
        fail("生产环境不能创建演示数据 refusing to seed demo data when HPF_ENV=production")
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
