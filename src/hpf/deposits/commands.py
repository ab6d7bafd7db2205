"""``hpf employers``: open (开户), show, list, and onboard (一链办理) employers from the command line.

Every command runs in one transaction as the command-line operator (audited as ``system``).
Bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.masking import mask_phone
from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail, print_json
from hpf.db.engine import unit_of_work
from hpf.deposits import onboarding
from hpf.deposits.employers import EmployerInput, get_employer, open_employer
from hpf.deposits.models import Depositor, Employer
from hpf.deposits.remittance import suspense_code
from hpf.deposits.rules import EMPLOYER_STATUSES, EMPLOYER_TYPES, parse_month
from hpf.errors import InvalidInput
from hpf.ledger.service import balance_of
from hpf.money import format_yuan
from hpf.org.models import OrgUnit
from hpf.org.service import unit_by_code
from hpf.policy.loader import get_policy

app = typer.Typer(help="缴存单位 Employers", no_args_is_help=True)

_USCC = typer.Option(..., "--uscc", help="统一社会信用代码 (18 characters).")
_NAME = typer.Option(..., "--name", help="单位名称.")
_BRANCH = typer.Option(..., "--branch", help="管理部 code (organisation unit).")
_ER = typer.Option(..., "--employer-rate", help="单位缴存比例, percent (e.g. 12).")
_EE = typer.Option(..., "--employee-rate", help="个人缴存比例, percent (e.g. 12).")
_OPENED = typer.Option(..., "--opened", help="开户日期 YYYY-MM-DD.")
_FIRST = typer.Option(None, "--first-month", help="起缴月份 YYYY-MM (default: opening month).")
_PAY_DAY = typer.Option(10, "--pay-day", help="发薪日 1-28.")
_CONTACT = typer.Option("", "--contact-name", help="联系人.")
_PHONE = typer.Option("", "--contact-phone", help="联系电话.")
_JSON = typer.Option(False, "--json", help="Print JSON.")
_TYPE = typer.Option(
    "other",
    "--type",
    help="单位性质 employer type: " + ", ".join(f"{k} {v[0]}" for k, v in EMPLOYER_TYPES.items()),
)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} 应为日期 YYYY-MM-DD：{text} ({option} must be a date YYYY-MM-DD)")


def _employer_input(
    uscc: str,
    name: str,
    branch: str,
    employer_rate: str,
    employee_rate: str,
    opened: str,
    first_month: str | None,
    pay_day: int,
    contact_name: str,
    contact_phone: str,
) -> EmployerInput:
    try:
        er, ee = onboarding.parse_rate(employer_rate), onboarding.parse_rate(employee_rate)
        first = parse_month(first_month) if first_month else None
    except InvalidInput as exc:
        fail(f"{exc.message_zh} ({exc.message_en})")
    return EmployerInput(
        uscc=uscc,
        name=name,
        branch_code=branch,
        employer_rate_pct=er,
        employee_rate_pct=ee,
        opened_on=_day(opened, "--opened"),
        first_month=first,
        pay_day=pay_day,
        contact_name=contact_name,
        contact_phone=contact_phone,
    )


def _status(code: str) -> str:
    return f"{code} {EMPLOYER_STATUSES.get(code, '')}".strip()


def _facts(session: Session, employer: Employer) -> dict[str, Any]:
    branch = session.get(OrgUnit, employer.branch_id)
    active = session.scalar(
        select(func.count())
        .select_from(Depositor)
        .where(Depositor.employer_id == employer.id, Depositor.status == "01")
    )
    return {
        "employer_ref": employer.employer_ref,
        "uscc": employer.uscc,
        "name": employer.name,
        "branch": branch.code if branch else "",
        "branch_name": branch.name if branch else "",
        "status": employer.status,
        "status_zh": EMPLOYER_STATUSES.get(employer.status, ""),
        "employer_type": employer.employer_type,
        "employer_rate_pct": str(employer.employer_rate_pct),
        "employee_rate_pct": str(employer.employee_rate_pct),
        "pay_day": employer.pay_day,
        "first_month": f"{employer.first_month:%Y-%m}",
        "deferred_until": (
            f"{employer.deferred_until:%Y-%m}" if employer.deferred_until is not None else None
        ),
        "opened_on": employer.opened_on.isoformat(),
        "closed_on": employer.closed_on.isoformat() if employer.closed_on else None,
        "contact_name": employer.contact_name,
        "contact_phone": mask_phone(employer.contact_phone),
        "active_depositors": int(active or 0),
        "suspense_yuan": format_yuan(-balance_of(session, suspense_code(employer))),
    }


@app.command("open")
def open_(
    uscc: str = _USCC,
    name: str = _NAME,
    branch: str = _BRANCH,
    employer_rate: str = _ER,
    employee_rate: str = _EE,
    opened: str = _OPENED,
    first_month: str | None = _FIRST,
    pay_day: int = _PAY_DAY,
    contact_name: str = _CONTACT,
    contact_phone: str = _PHONE,
    employer_type: str = _TYPE,
    as_json: bool = _JSON,
) -> None:
    """Open an employer account (单位开户): credit code, rates and employer type are checked."""
    data = replace(
        _employer_input(
            uscc,
            name,
            branch,
            employer_rate,
            employee_rate,
            opened,
            first_month,
            pay_day,
            contact_name,
            contact_phone,
        ),
        employer_type=employer_type,
    )
    with domain_errors(), unit_of_work() as session:
        employer = open_employer(session, data, get_policy(), system_principal())
        facts = _facts(session, employer)
    if as_json:
        print_json(facts)
        return
    typer.echo(
        f"已开户：单位账号 {facts['employer_ref']}（{facts['name']}），"
        f"统一社会信用代码 {facts['uscc']}，管理部 {facts['branch']}，"
        f"缴存比例 单位 {facts['employer_rate_pct']}% / 个人 {facts['employee_rate_pct']}%，"
        f"起缴月份 {facts['first_month']}"
    )


@app.command("show")
def show(
    employer_ref: str = typer.Argument(..., help="单位账号."),
    as_json: bool = _JSON,
) -> None:
    """One employer's account (单位信息): status, rates, deferral, people, suspense balance."""
    with domain_errors(), unit_of_work() as session:
        facts = _facts(session, get_employer(session, employer_ref.strip()))
    if as_json:
        print_json(facts)
        return
    rows = [
        ("单位账号", facts["employer_ref"]),
        ("单位名称", facts["name"]),
        ("统一社会信用代码", facts["uscc"]),
        ("管理部", f"{facts['branch']} {facts['branch_name']}"),
        ("单位状态", _status(facts["status"])),
        ("单位缴存比例", f"{facts['employer_rate_pct']}%"),
        ("个人缴存比例", f"{facts['employee_rate_pct']}%"),
        ("发薪日", f"每月 {facts['pay_day']} 日"),
        ("起缴月份", facts["first_month"]),
        ("缓缴至", facts["deferred_until"] or "-"),
        ("开户日期", facts["opened_on"]),
        ("销户日期", facts["closed_on"] or "-"),
        ("联系人", facts["contact_name"] or "-"),
        ("联系电话", facts["contact_phone"] or "-"),
        ("正常缴存职工", f"{facts['active_depositors']} 人"),
        ("单位暂收款余额", f"{facts['suspense_yuan']} 元"),
    ]
    table = Table("项目", "内容", title=f"缴存单位 {facts['employer_ref']}", show_header=False)
    for label, value in rows:
        table.add_row(label, str(value))
    Console().print(table)


@app.command("list")
def list_(
    branch: str | None = typer.Option(None, "--branch", help="管理部 code."),
    status: str | None = typer.Option(None, "--status", help="单位状态 01-05."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many rows."),
    as_json: bool = _JSON,
) -> None:
    """Employers by account number (单位列表), with their people in contribution."""
    if status is not None and status not in EMPLOYER_STATUSES:
        fail(
            f"未知的单位状态：{status}（可用：{'、'.join(EMPLOYER_STATUSES)}） "
            f"(unknown status {status})"
        )
    with domain_errors(), unit_of_work() as session:
        active = (
            select(Depositor.employer_id, func.count().label("n"))
            .where(Depositor.status == "01")
            .group_by(Depositor.employer_id)
            .subquery()
        )
        stmt = (
            select(Employer, OrgUnit.code, func.coalesce(active.c.n, 0))
            .join(OrgUnit, OrgUnit.id == Employer.branch_id)
            .outerjoin(active, active.c.employer_id == Employer.id)
        )
        if branch:
            stmt = stmt.where(Employer.branch_id == unit_by_code(session, branch).id)
        if status:
            stmt = stmt.where(Employer.status == status)
        total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        rows = [
            {
                "employer_ref": e.employer_ref,
                "name": e.name,
                "uscc": e.uscc,
                "branch": code,
                "status": e.status,
                "status_zh": EMPLOYER_STATUSES.get(e.status, ""),
                "employer_rate_pct": str(e.employer_rate_pct),
                "employee_rate_pct": str(e.employee_rate_pct),
                "active_depositors": int(n),
            }
            for e, code, n in session.execute(stmt.order_by(Employer.employer_ref).limit(limit))
        ]
    if as_json:
        print_json({"total": total, "employers": rows})
        return
    table = Table(
        "单位账号", "单位名称", "管理部", "状态", "比例(单位/个人)", "在缴人数", title="缴存单位"
    )
    for r in rows:
        table.add_row(
            r["employer_ref"],
            r["name"],
            r["branch"],
            f"{r['status']} {r['status_zh']}",
            f"{r['employer_rate_pct']}% / {r['employee_rate_pct']}%",
            str(r["active_depositors"]),
        )
    Console().print(table)
    typer.echo(f"共 {total} 个单位，显示 {len(rows)} 个")


@app.command("onboard")
def onboard(
    file: str = typer.Option(
        ..., "--file", help="职工名单 CSV/.xlsx: 身份证号,姓名,缴存基数[,手机号,银行卡号]."
    ),
    uscc: str = _USCC,
    name: str = _NAME,
    branch: str = _BRANCH,
    employer_rate: str = _ER,
    employee_rate: str = _EE,
    opened: str = _OPENED,
    first_month: str | None = _FIRST,
    pay_day: int = _PAY_DAY,
    contact_name: str = _CONTACT,
    contact_phone: str = _PHONE,
    key: str | None = typer.Option(
        None, "--key", help="幂等键 (default: derived from the request, so a rerun replays)."
    ),
    check_only: bool = typer.Option(
        False, "--check-only", help="Check every row and write nothing."
    ),
    as_json: bool = _JSON,
) -> None:
    """一链办理: open the employer, enrol the people of FILE, draft the first month's list.

    All or nothing: any bad row refuses the whole file (each bad row is named) and writes nothing.
    """
    data = _employer_input(
        uscc,
        name,
        branch,
        employer_rate,
        employee_rate,
        opened,
        first_month,
        pay_day,
        contact_name,
        contact_phone,
    )
    path = Path(file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        fail(f"无法读取文件 {file}：{exc.strerror or exc} (cannot read {file})")
    with domain_errors():
        people = onboarding.depositors_from_file(raw, path.name)
    request = onboarding.OnboardingRequest(data, people)
    with domain_errors(), unit_of_work() as session:
        if check_only:
            onboarding.check_request(session, request, get_policy())
            typer.echo(f"校验通过：{len(people)} 名职工，未写入任何数据")
            return
        result = onboarding.onboard(
            session,
            request,
            get_policy(),
            system_principal(),
            idempotency_key=key or f"cli:{onboarding.request_digest(request)[:53]}",
        )
    if as_json:
        print_json(
            {
                "employer_ref": result.employer_ref,
                "depositor_refs": list(result.depositor_refs),
                "remittance_id": result.remittance_id,
                "month": f"{result.month:%Y-%m}",
                "total_yuan": format_yuan(result.total_fen),
                "replayed": result.replayed,
            }
        )
        return
    typer.echo(onboarding.summary_zh(result))
