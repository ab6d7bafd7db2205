"""``hpf users``, ``hpf tokens`` and ``hpf audit-trail``: user accounts (用户), API tokens, audit trail.

The operator at the command line acts as ``system`` (audited). Passwords are read from a prompt
or stdin, never from the command line.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from hpf.auth import service
from hpf.auth.audit import verify_trail
from hpf.auth.demo import DEMO_PASSWORD, seed_demo_users
from hpf.auth.permissions import PERMISSIONS, ROLE_PERMISSIONS, ROLES, render_markdown
from hpf.clitools import domain_errors, fail, print_json
from hpf.config import get_settings
from hpf.db.engine import unit_of_work
from hpf.org import service as org_service

users_app = typer.Typer(help="用户与角色 Users and roles", no_args_is_help=True)
tokens_app = typer.Typer(help="接口令牌 API tokens", no_args_is_help=True)
audit_app = typer.Typer(help="审计留痕 Audit trail", no_args_is_help=True)

KIND_HELP = "staff | employer | depositor"
STAFF_ROLES = ("clerk", "reviewer", "approver", "finance", "auditor", "service_agent")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("密码 password", hide_input=True, confirmation_prompt=True))


def _user_id(session: Session, kind: str, login: str) -> int:
    user_id = service.find_user_id(session, kind, login)
    if user_id is None:
        fail(f"用户不存在 no such user: {kind} {login}")
    return user_id


@users_app.command("add")
def add(
    kind: str = typer.Option("staff", "--kind", help=KIND_HELP),
    login: str = typer.Option(..., "--login", help="登录名 / 单位账号 / 身份证号"),
    name: str = typer.Option(..., "--name", help="显示名 display name"),
    role: Annotated[list[str] | None, typer.Option("--role", help="Role (repeatable).")] = None,
    branch: str | None = typer.Option(None, "--branch", help="Branch code (管理部代码)."),
    whole_center: bool = typer.Option(False, "--whole-center", help="Sees every branch."),
    employer_ref: str | None = typer.Option(None, "--employer-ref", help="单位账号"),
    depositor_ref: str | None = typer.Option(None, "--depositor-ref", help="个人账号"),
    phone: str | None = typer.Option(None, "--phone"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password."),
) -> None:
    """Add a user. 新增用户（密码从提示或标准输入读取）。"""
    password = _read_password(password_stdin)
    with domain_errors(), unit_of_work() as session:
        branch_id = org_service.unit_by_code(session, branch).id if branch else None
        user_id = service.create_user(
            session,
            kind=kind,
            login_name=login,
            password=password,
            display_name=name,
            roles=role or (),
            branch_id=branch_id,
            whole_center=whole_center,
            employer_ref=employer_ref,
            depositor_ref=depositor_ref,
            phone=phone,
        )
    typer.echo(f"已创建用户 created user {user_id}: {kind} {login}")


@users_app.command("list")
def list_users(
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List users with roles and lock state. 用户列表（含锁定状态）。"""
    with unit_of_work() as session:
        users = service.list_users(session, kind)
        codes = {u.id: u.code for u in org_service.list_units(session)}
    if as_json:
        print_json(
            [
                {
                    "id": u.user_id,
                    "kind": u.kind,
                    "login": u.login_name,
                    "name": u.display_name,
                    "roles": sorted(u.roles),
                    "branch": codes.get(u.branch_id) if u.branch_id else None,
                    "whole_center": u.whole_center,
                    "locked_at": u.locked_at.isoformat() if u.locked_at else None,
                    "failed_attempts": u.failed_attempts,
                }
                for u in users
            ]
        )
        return
    table = Table(
        "id", "类型 kind", "登录名 login", "名称 name", "角色 roles", "机构 branch", "状态"
    )
    for u in users:
        state = f"已锁定 locked {u.locked_at:%Y-%m-%d %H:%M}" if u.locked_at else "正常 ok"
        scope = "全中心" if u.whole_center else codes.get(u.branch_id, "") if u.branch_id else ""
        table.add_row(
            str(u.user_id),
            u.kind,
            u.login_name,
            u.display_name,
            " ".join(sorted(u.roles)),
            scope,
            state,
        )
    Console().print(table)


@users_app.command("unlock")
def unlock(
    login: str = typer.Argument(..., help="Login name."),
    kind: str = typer.Option("staff", "--kind", help=KIND_HELP),
) -> None:
    """Unlock an account locked after failed sign-ins. 解锁账户。"""
    with domain_errors(), unit_of_work() as session:
        service.unlock(session, _user_id(session, kind, login), actor=service.system_principal())
    typer.echo(f"已解锁 unlocked {kind} {login}")


@users_app.command("grant")
def grant(
    login: str = typer.Argument(..., help="Login name."),
    role: str = typer.Argument(..., help="Role, e.g. reviewer."),
    kind: str = typer.Option("staff", "--kind", help=KIND_HELP),
) -> None:
    """Grant a role to a user. 授予角色。"""
    with domain_errors(), unit_of_work() as session:
        roles = service.grant_roles(session, _user_id(session, kind, login), [role])
    typer.echo(f"{login}: {' '.join(sorted(roles))}")


@users_app.command("permissions")
def permissions(
    markdown: bool = typer.Option(False, "--markdown", help="Print docs/permissions.md."),
) -> None:
    """Show the role × permission matrix. 角色权限矩阵。"""
    if markdown:
        typer.echo(render_markdown(), nl=False)
        return
    roles = list(ROLES)
    table = Table("权限 permission", *(f"{ROLES[r][0]}\n{r}" for r in roles))
    for perm, (zh, _en) in PERMISSIONS.items():
        marks = ("✓" if perm in ROLE_PERMISSIONS[r] else "" for r in roles)
        table.add_row(f"{perm}\n{zh}", *marks)
    Console().print(table)


@users_app.command("seed-demo")
def seed_demo() -> None:
    """Create demo users, one per role, password Demo2023! (development only). 创建演示用户。"""
    if get_settings().env == "production":
        fail("生产环境不能创建演示用户 refusing to create demo users when HPF_ENV=production")
    with domain_errors(), unit_of_work() as session:
        made = seed_demo_users(session)
    typer.echo(
        f"已创建 {len(made)} 个演示用户 created {len(made)} demo users (password {DEMO_PASSWORD})"
    )
    for line in made:
        typer.echo(f"  {line}")


@tokens_app.command("issue")
def issue(
    scope: Annotated[
        list[str], typer.Option("--scope", help="Role the token acts as (repeatable).")
    ],
    login: str = typer.Argument(..., help="Login name of the token's user."),
    name: str = typer.Option(..., "--name", help="What the token is for."),
    kind: str = typer.Option("staff", "--kind", help=KIND_HELP),
) -> None:
    """Issue an API token; it is printed once. 签发接口令牌（仅显示一次）。"""
    with domain_errors(), unit_of_work() as session:
        token = service.issue_api_token(
            session, _user_id(session, kind, login), name=name, scopes=frozenset(scope)
        )
        token_id = service.api_token_id(session, token)
    typer.echo(f"令牌 token id {token_id}（仅显示一次 shown once）:", err=True)
    typer.echo(token)


@tokens_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="Token id.")) -> None:
    """Revoke an API token. 吊销接口令牌。"""
    with domain_errors(), unit_of_work() as session:
        service.revoke_api_token(session, token_id)
    typer.echo(f"已吊销 revoked token {token_id}")


@tokens_app.command("list")
def list_tokens() -> None:
    """List API tokens (never the tokens themselves). 令牌列表。"""
    with unit_of_work() as session:
        tokens = service.list_api_tokens(session)
    table = Table("id", "用户 user", "名称 name", "范围 scopes", "创建 created", "状态 state")
    for t in tokens:
        state = f"已吊销 revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "有效 active"
        table.add_row(
            str(t.token_id),
            str(t.user_id),
            t.name,
            " ".join(sorted(t.scopes)),
            f"{t.created_at:%Y-%m-%d %H:%M}",
            state,
        )
    Console().print(table)


@audit_app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Verify the audit trail's hash chain; exit 1 naming the first altered record. 校验审计留痕。"""
    with unit_of_work() as session:
        report = verify_trail(session)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "records": report.records,
                "first_offending_record": report.first_offending_record,
                "problems": [p.__dict__ for p in report.problems],
            }
        )
    elif report.ok:
        typer.echo(f"审计留痕校验通过 audit trail verified: {report.records:,} records")
    else:
        first = report.first_offending_record
        typer.echo(
            "审计留痕校验失败 audit trail verification FAILED"
            + (f": first offending record {first}" if first is not None else ""),
            err=True,
        )
        for problem in report.problems:
            typer.echo(f"  {problem.message}", err=True)
    if not report.ok:
        raise typer.Exit(1)
