"""REST API v1 for contributions (归集接口): employers, depositors, remittance lists, arrears, stats.

The same reads as the console and portal pages, and the employer's writes (draft, upload,
confirm) plus the staff's reminder notice. Scoping is that of ``hpf.web.contributions``: staff
(``person.read``) see their branch unless whole-center; an employer agent reaches its own lists
through ``/employer/…`` and a depositor its own statement through ``/me/statement`` — the
employer or account is taken from the principal, never from the URL, and another employer's
list id answers 404. Lists are paginated (``?page=&size=``). ID numbers are masked unless
``person.unmask`` is held; each view of a depositor's data is audited.

A rejected upload answers 422 problem+json with the row errors in ``errors`` (line number as in
Excel, column, code, Chinese and English message) and writes nothing but its audit record; a
file refused as a whole (too large, unreadable, no header) answers 400.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from hpf.auth.principal import Principal
from hpf.deposits import arrears as arrears_service
from hpf.deposits import remittance as remittance_service
from hpf.deposits.arrears import ArrearsItem
from hpf.deposits.models import ReminderNotice
from hpf.deposits.upload import upload
from hpf.money import format_yuan
from hpf.web import contributions as c
from hpf.web.errors import problem_response
from hpf.web.schemas import AUTH_RESPONSES, Page, ProblemOut, RowId
from hpf.web.security import DbSession, require

router = APIRouter(prefix="/api/v1", tags=["api v1: contributions"], responses=AUTH_RESPONSES)

PERSON_READ = "person.read"
EMPLOYER = "employer.self"
STATS_READERS = ("dashboard.read", "report.read")
PageNo = Annotated[int, Query(ge=1, le=100_000)]
Size = Annotated[int, Query(ge=1, le=c.MAX_PAGE_SIZE)]
Search = Annotated[
    str, Query(max_length=100, description="Account number, credit/ID number or part of the name")
]
Ref = Annotated[str, Path(min_length=1, max_length=20)]
MonthQuery = Annotated[str, Query(pattern=c.MONTH_PATTERN, description="YYYY-MM")]
Year = Annotated[
    int | None,
    Query(
        ge=c.FIRST_YEAR,
        le=c.LAST_YEAR,
        description="Interest year, named by the year it ends in (July 1 – June 30)",
    ),
]
EmployerStatus = Literal["01", "02", "03", "04", "05"]
DepositorStatus = Literal["01", "02", "03", "04", "05", "06"]
RemittanceStatus = Literal["draft", "confirmed", "posted", "cancelled"]


class EmployerOut(BaseModel):
    employer_ref: str = Field(description="单位账号")
    uscc: str = Field(description="统一社会信用代码")
    name: str
    branch_id: int
    status: str = Field(description="01 正常, 02 开户, 03 缓缴, 04 销户, 05 封存")
    employer_rate_pct: str
    employee_rate_pct: str
    pay_day: int
    first_month: str = Field(description="YYYY-MM")
    opened_on: date
    depositors: int = Field(description="Depositors contributing now (status 01)")


class ArrearsOut(BaseModel):
    employer_ref: str
    employer_name: str
    branch_id: int
    month: str = Field(description="YYYY-MM")
    due_on: date
    age_days: int
    amount_fen: int


class ReminderOut(BaseModel):
    id: int
    issued_on: date
    months: list[str]
    amount_fen: int
    issued_by: str
    document: str


class EmployerDetail(EmployerOut):
    suspense_balance_fen: int | None = Field(description="单位暂收款 not yet posted")
    arrears: list[ArrearsOut]
    reminders: list[ReminderOut]


class DepositorOut(BaseModel):
    depositor_ref: str = Field(description="个人账号")
    name: str
    id_number: str = Field(description="Masked")
    employer_ref: str | None
    employer_name: str | None
    branch_id: int
    base_fen: int
    status: str = Field(description="01 正常, 02 封存, 03–05 销户, 06 冻结")
    opened_on: date


class DepositorDetail(BaseModel):
    depositor_ref: str
    name: str
    id_number: str
    phone: str
    bank_card: str
    unmasked: bool = Field(description="True when shown unmasked (person.unmask, audited)")
    birth_date: date | None = Field(None, description="From the ID number; only when unmasked")
    sex: str = Field("", description="M or F, from the ID number")
    employer_ref: str | None
    employer_name: str | None
    branch_id: int
    base_fen: int
    status: str
    opened_on: date
    first_contribution_month: date | None
    balance_fen: int | None


class StatementLineOut(BaseModel):
    value_date: date
    posting_date: date
    journal_id: int
    kind: str
    memo: str
    amount_fen: int = Field(description="Positive: paid in; negative: taken out")
    balance_fen: int


class StatementOut(BaseModel):
    code: str
    year: int
    start: date
    end: date
    opening_fen: int
    closing_fen: int
    lines: list[StatementLineOut]


class RemittanceOut(BaseModel):
    id: int
    employer_ref: str
    employer_name: str
    branch_id: int
    month: str = Field(description="YYYY-MM")
    kind: str = Field(description="remittance 汇缴 or back_payment 补缴")
    status: RemittanceStatus
    source: str = Field(description="drafted or upload")
    lines: int
    employer_total_fen: int
    employee_total_fen: int
    total_fen: int
    total: str = Field(description="Total in yuan (元)")
    created_at: datetime | None
    posted_on: date | None


class LineOut(BaseModel):
    depositor_ref: str
    name: str
    id_number: str = Field(description="Masked")
    base_fen: int
    employer_fen: int
    employee_fen: int


class RemittanceDetail(RemittanceOut):
    line_items: list[LineOut] = Field(description=f"The first {c.MAX_LINES_SHOWN} lines")


class DraftIn(BaseModel):
    """Draft the employer's regular list of a month from current bases and rates."""

    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=c.MONTH_PATTERN, description="YYYY-MM")


class UploadOut(BaseModel):
    accepted: bool
    rows: int
    total_fen: int
    employer_total_fen: int
    employee_total_fen: int
    absent: list[str] = Field(description="Current depositors not on the file (information)")
    remittance: RemittanceOut


class RowErrorOut(BaseModel):
    line_no: int = Field(description="Line in the file as Excel shows it (header = 1)")
    column: str
    code: str
    message: str
    message_en: str


class UploadRejected(ProblemOut):
    errors: list[RowErrorOut]


class MonthStatsOut(BaseModel):
    branch_id: int
    month: str
    amount_fen: int
    paying_employers: int
    paying_depositors: int
    new_depositors: int


class BranchBalanceOut(BaseModel):
    branch_id: int
    balance_fen: int


class StatsOut(BaseModel):
    start: str
    end: str
    months: list[MonthStatsOut]
    balances: list[BranchBalanceOut] = Field(description="Depositors' balances today by branch")


# --- converters ---------------------------------------------------------------------------


def _employer(row: c.EmployerRow) -> EmployerOut:
    return EmployerOut(
        employer_ref=row.employer_ref,
        uscc=row.uscc,
        name=row.name,
        branch_id=row.branch_id,
        status=row.status,
        employer_rate_pct=str(row.employer_rate_pct),
        employee_rate_pct=str(row.employee_rate_pct),
        pay_day=row.pay_day,
        first_month=f"{row.first_month:%Y-%m}",
        opened_on=row.opened_on,
        depositors=row.depositors,
    )


def _arrears(item: ArrearsItem) -> ArrearsOut:
    return ArrearsOut(
        employer_ref=item.employer_ref,
        employer_name=item.employer_name,
        branch_id=item.branch_id,
        month=f"{item.month:%Y-%m}",
        due_on=item.due_on,
        age_days=item.age_days,
        amount_fen=item.amount_fen,
    )


def _reminder(notice: ReminderNotice) -> ReminderOut:
    return ReminderOut(
        id=notice.id,
        issued_on=notice.issued_on,
        months=[m for m in notice.months.split(",") if m],
        amount_fen=notice.amount_fen,
        issued_by=notice.issued_by,
        document=notice.document,
    )


def _depositor(row: c.DepositorRow) -> DepositorOut:
    return DepositorOut(
        depositor_ref=row.depositor_ref,
        name=row.name,
        id_number=row.id_number,
        employer_ref=row.employer_ref,
        employer_name=row.employer_name,
        branch_id=row.branch_id,
        base_fen=row.base_fen,
        status=row.status,
        opened_on=row.opened_on,
    )


def _remittance(row: c.RemittanceRow) -> RemittanceOut:
    return RemittanceOut(
        id=row.id,
        employer_ref=row.employer_ref,
        employer_name=row.employer_name,
        branch_id=row.branch_id,
        month=f"{row.month:%Y-%m}",
        kind=row.kind,
        status=row.status,
        source=row.source,
        lines=row.lines,
        employer_total_fen=row.employer_total_fen,
        employee_total_fen=row.employee_total_fen,
        total_fen=row.total_fen,
        total=format_yuan(row.total_fen),
        created_at=row.created_at,
        posted_on=row.posted_on,
    )


def _statement(db: DbSession, depositor_ref: str, year: int | None) -> StatementOut:
    year = year or c.current_interest_year()
    statement = c.statement_of(db, depositor_ref, year)
    if statement is None:
        raise c.depositor_not_found(depositor_ref)
    return StatementOut(
        code=statement.code,
        year=year,
        start=statement.start,
        end=statement.end,
        opening_fen=statement.opening_fen,
        closing_fen=statement.closing_fen,
        lines=[
            StatementLineOut(
                value_date=line.value_date,
                posting_date=line.posting_date,
                journal_id=line.journal_id,
                kind=line.kind,
                memo=line.memo,
                amount_fen=line.amount_fen,
                balance_fen=line.balance_fen,
            )
            for line in statement.lines
        ],
    )


# --- staff reads --------------------------------------------------------------------------


@router.get("/employers", summary="Employers 缴存单位列表")
def list_employers(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    q: Search = "",
    status: EmployerStatus | None = None,
    page: PageNo = 1,
    size: Size = 20,
) -> Page[EmployerOut]:
    rows, total = c.list_employers(db, principal, q=q, status=status or "", page=page, size=size)
    return Page[EmployerOut](items=[_employer(r) for r in rows], page=page, size=size, total=total)


@router.get("/employers/{employer_ref}", summary="One employer 单位详情")
def get_employer(
    request: Request,
    employer_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
) -> EmployerDetail:
    employer = c.get_employer_visible(db, principal, employer_ref)
    owed = [
        i
        for i in arrears_service.arrears(
            db, date.today(), c.policy_of(request), branch_id=employer.branch_id
        )
        if i.employer_ref == employer.employer_ref
    ]
    return EmployerDetail(
        **_employer(c.employer_row(db, employer)).model_dump(),
        suspense_balance_fen=c.suspense_balance(db, employer),
        arrears=[_arrears(i) for i in owed],
        reminders=[_reminder(n) for n in c.reminders_of(db, employer)],
    )


@router.get("/employers/{employer_ref}/remittances", summary="An employer's lists 单位清册")
def employer_remittance_history(
    employer_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    page: PageNo = 1,
    size: Size = 20,
) -> Page[RemittanceOut]:
    employer = c.get_employer_visible(db, principal, employer_ref)
    rows, total = c.list_remittances(db, employer=employer, page=page, size=size)
    return Page[RemittanceOut](
        items=[_remittance(r) for r in rows], page=page, size=size, total=total
    )


@router.post(
    "/employers/{employer_ref}/reminders",
    status_code=201,
    summary="Issue a reminder notice 催缴通知",
)
def issue_reminder(
    request: Request,
    employer_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("deposit.manage"))],
) -> ReminderOut:
    employer = c.get_employer_visible(db, principal, employer_ref)
    notice = arrears_service.issue_reminder(
        db, employer, date.today(), c.policy_of(request), principal
    )
    return _reminder(notice)


@router.get("/depositors", summary="Depositors 缴存职工列表")
def list_depositors(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    q: Search = "",
    employer: Annotated[str, Query(max_length=20, description="单位账号")] = "",
    status: DepositorStatus | None = None,
    page: PageNo = 1,
    size: Size = 20,
) -> Page[DepositorOut]:
    of_employer = c.get_employer_visible(db, principal, employer) if employer else None
    rows, total = c.list_depositors(
        db,
        principal=principal,
        employer=of_employer,
        q=q,
        status=status or "",
        page=page,
        size=size,
    )
    return Page[DepositorOut](
        items=[_depositor(r) for r in rows], page=page, size=size, total=total
    )


@router.get("/depositors/{depositor_ref}", summary="One depositor 职工详情 (audited)")
def get_depositor(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
) -> DepositorDetail:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    detail = c.depositor_detail(db, principal, depositor)
    c.audit_person_view(
        db, principal, depositor, unmasked=detail["unmasked"], ip=c.client_ip(request)
    )
    return DepositorDetail.model_validate(detail)


@router.get(
    "/depositors/{depositor_ref}/statement", summary="A depositor's statement 对账单 (audited)"
)
def depositor_statement(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    year: Year = None,
) -> StatementOut:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    c.audit_person_view(db, principal, depositor, unmasked=False, ip=c.client_ip(request))
    return _statement(db, depositor.depositor_ref, year)


@router.get("/remittances", summary="Remittance lists of a month 汇缴清册")
def list_remittances(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    month: MonthQuery = "",
    status: RemittanceStatus | None = None,
    page: PageNo = 1,
    size: Size = 20,
) -> Page[RemittanceOut]:
    rows, total = c.list_remittances(
        db,
        principal=principal,
        month=c.parse_month_text(month, date.today()),
        status=status or "",
        page=page,
        size=size,
    )
    return Page[RemittanceOut](
        items=[_remittance(r) for r in rows], page=page, size=size, total=total
    )


@router.get("/arrears", summary="Arrears 欠缴清单")
def list_arrears(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    page: PageNo = 1,
    size: Size = 100,
) -> Page[ArrearsOut]:
    items = c.arrears_visible(db, principal, c.policy_of(request))
    chunk = items[(page - 1) * size : page * size]
    return Page[ArrearsOut](
        items=[_arrears(i) for i in chunk], page=page, size=size, total=len(items)
    )


@router.get("/stats/monthly", summary="Monthly contribution statistics 归集月度统计")
def monthly_stats(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STATS_READERS))],
    start: Annotated[str, Query(alias="from", pattern=c.MONTH_PATTERN)] = "",
    end: Annotated[str, Query(alias="to", pattern=c.MONTH_PATTERN)] = "",
) -> StatsOut:
    first, last = c.stats_range(start, end)
    rows, balances = c.stats_visible(db, principal, first, last)
    return StatsOut(
        start=f"{first:%Y-%m}",
        end=f"{last:%Y-%m}",
        months=[
            MonthStatsOut(
                branch_id=r.branch_id,
                month=f"{r.month:%Y-%m}",
                amount_fen=r.amount_fen,
                paying_employers=r.paying_employers,
                paying_depositors=r.paying_depositors,
                new_depositors=r.new_depositors,
            )
            for r in rows
        ],
        balances=[
            BranchBalanceOut(branch_id=b, balance_fen=v) for b, v in sorted(balances.items())
        ],
    )


# --- the employer's own lists -------------------------------------------------------------


@router.get("/employer/remittances", summary="The employer's lists 本单位清册")
def my_remittances(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    page: PageNo = 1,
    size: Size = 20,
) -> Page[RemittanceOut]:
    employer = c.own_employer(db, principal)
    rows, total = c.list_remittances(db, employer=employer, page=page, size=size)
    return Page[RemittanceOut](
        items=[_remittance(r) for r in rows], page=page, size=size, total=total
    )


@router.post("/employer/remittances", status_code=201, summary="Draft a month's list 生成清册")
def draft_remittance(
    body: DraftIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> RemittanceOut:
    employer = c.own_employer(db, principal)
    month = c.parse_month_text(body.month, date.today())
    lst = remittance_service.draft(db, employer, month, c.policy_of(request), principal)
    return _remittance(c.remittance_row(db, lst))


@router.get("/employer/remittances/{remittance_id}", summary="One of the employer's lists 清册详情")
def my_remittance(
    remittance_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> RemittanceDetail:
    employer = c.own_employer(db, principal)
    lst = c.get_remittance_of(db, employer, remittance_id)
    return RemittanceDetail(
        **_remittance(c.remittance_row(db, lst)).model_dump(),
        line_items=[
            LineOut(
                depositor_ref=line.depositor_ref,
                name=line.name,
                id_number=line.id_number,
                base_fen=line.base_fen,
                employer_fen=line.employer_fen,
                employee_fen=line.employee_fen,
            )
            for line in c.lines_of(db, lst)
        ],
    )


@router.post(
    "/employer/remittances/{remittance_id}/upload",
    response_model=UploadOut,
    summary="Upload the list file 上传汇缴清册",
    responses={
        422: {
            "description": "The file has row errors; nothing was written",
            "model": UploadRejected,
            "content": {"application/problem+json": {}},
        }
    },
)
async def upload_remittance(
    request: Request,
    remittance_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    file: Annotated[UploadFile, File(description="汇缴清册 .xlsx or .csv (UTF-8 or GBK)")],
) -> Any:
    employer = c.own_employer(db, principal)
    lst = c.get_remittance_of(db, employer, remittance_id)
    data, filename = await c.read_upload(file)
    with db.begin_nested():
        parsed = upload(db, lst, data, filename, c.policy_of(request), principal)
    if not parsed.ok:
        count = len(parsed.errors)
        return problem_response(
            request,
            422,
            "remittance_file_invalid",
            f"清册有 {count} 处错误，未做任何修改" if count else "清册没有数据行",
            f"the list has {count} row errors; nothing was changed"
            if count
            else "the list has no rows",
            extra={"errors": c.row_errors_json(parsed)},
        )
    return UploadOut(
        accepted=True,
        rows=len(parsed.rows),
        total_fen=parsed.total_fen,
        employer_total_fen=parsed.employer_total_fen,
        employee_total_fen=parsed.employee_total_fen,
        absent=list(parsed.absent),
        remittance=_remittance(c.remittance_row(db, lst)),
    )


@router.post("/employer/remittances/{remittance_id}/confirm", summary="Confirm the list 确认清册")
def confirm_remittance(
    remittance_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> RemittanceOut:
    employer = c.own_employer(db, principal)
    lst = c.get_remittance_of(db, employer, remittance_id)
    remittance_service.confirm(db, lst, principal)
    return _remittance(c.remittance_row(db, lst))


@router.get("/employer/depositors", summary="The employer's depositors 本单位职工")
def my_depositors(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    q: Search = "",
    page: PageNo = 1,
    size: Size = 20,
) -> Page[DepositorOut]:
    employer = c.own_employer(db, principal)
    rows, total = c.list_depositors(db, employer=employer, q=q, page=page, size=size)
    return Page[DepositorOut](
        items=[_depositor(r) for r in rows], page=page, size=size, total=total
    )


# --- the depositor's own statement --------------------------------------------------------


@router.get("/me/statement", summary="My statement 本人对账单")
def my_statement(
    db: DbSession,
    principal: Annotated[Principal, Depends(require("depositor.self"))],
    year: Year = None,
) -> StatementOut:
    if not principal.depositor_ref:
        raise c.depositor_not_found("")
    return _statement(db, principal.depositor_ref, year)
