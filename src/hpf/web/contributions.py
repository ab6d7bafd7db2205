"""Contributions as the web shows them (归集查询): scoped lists, IDOR-safe reads, masking, uploads.

Who sees what (数据范围): staff holding ``person.read`` see the employers, depositors and
remittance lists of their branch (all branches when whole-center); an employer agent only their
own employer (``employer_ref`` of the principal), a depositor only their own account
(``depositor_ref``). Anything outside that answers 404 exactly like a missing record, so refs
and ids cannot be probed. ID numbers are masked in lists; a detail page shows them unmasked only
to ``person.unmask`` holders, and every view of a depositor's data is written to the audit trail.

The reads are queries over the ``hpf.deposits`` tables; every change goes through the services
of ``hpf.deposits`` (draft, upload, confirm, issue_reminder).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import Request, UploadFile
from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.masking import mask_bank_card, mask_id_number, mask_phone
from hpf.auth.principal import Principal
from hpf.dates import add_months, interest_year, months_between
from hpf.deposits.arrears import ArrearsItem, arrears
from hpf.deposits.models import Depositor, Employer, ReminderNotice, Remittance, RemittanceLine
from hpf.deposits.remittance_file import (
    ParsedRemittance,
    RemittanceFileRejected,
    read_remittance_file,
)
from hpf.deposits.rules import month_start
from hpf.deposits.stats import MonthStats, balances_by_branch, monthly
from hpf.deposits.upload import context_for
from hpf.ledger.chart import DEPOSITORS_FUNDS, EMPLOYER_SUSPENSE, subsidiary_code
from hpf.ledger.models import Journal
from hpf.ledger.rules import LedgerError
from hpf.ledger.service import balance_of
from hpf.ledger.statement import Statement, account_statement
from hpf.org.models import OrgUnit
from hpf.policy.loader import Policy, load_policy
from hpf.web.errors import Problem
from hpf.web.i18n import _ as N_

MAX_PAGE_SIZE = 100
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_LINES_SHOWN = 500
MONTH_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"
"""A month in a query string or form: ``YYYY-MM``."""
FIRST_YEAR, LAST_YEAR = 1991, 2099
"""Interest years a statement may ask for (the first housing fund dates from 1991)."""

EMPLOYER_STATUS_LABELS = {
    "01": N_("Normal"),
    "02": N_("Opened"),
    "03": N_("Deferred"),
    "04": N_("Closed"),
    "05": N_("Sealed"),
}
DEPOSITOR_STATUS_LABELS = {
    "01": N_("Normal"),
    "02": N_("Sealed"),
    "03": N_("Closed (merged)"),
    "04": N_("Closed (transferred out)"),
    "05": N_("Closed (withdrawn)"),
    "06": N_("Frozen"),
}
REMITTANCE_STATUS_LABELS = {
    "draft": N_("Draft"),
    "confirmed": N_("Confirmed"),
    "posted": N_("Posted"),
    "cancelled": N_("Cancelled"),
}
REMITTANCE_KIND_LABELS = {
    "remittance": N_("Monthly remittance"),
    "back_payment": N_("Back payment"),
}


# --- errors -------------------------------------------------------------------------------


def employer_not_found(ref: str) -> Problem:
    return Problem(404, "employer_not_found", f"单位不存在：{ref}", f"no such employer: {ref}")


def depositor_not_found(ref: str) -> Problem:
    return Problem(
        404, "depositor_not_found", f"个人账户不存在：{ref}", f"no such personal account: {ref}"
    )


def remittance_not_found(remittance_id: int) -> Problem:
    return Problem(
        404,
        "remittance_not_found",
        f"清册不存在：{remittance_id}",
        f"no such remittance list: {remittance_id}",
    )


# --- helpers ------------------------------------------------------------------------------


def policy_of(request: Request) -> Policy:
    """The policy in force for this application (loaded once per app)."""
    state = request.app.state
    policy: Policy | None = getattr(state, "policy", None)
    if policy is None:
        policy = load_policy(state.settings.policy_file)
        state.policy = policy
    return policy


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def parse_month_text(text: str | None, default: date) -> date:
    """``YYYY-MM`` (already pattern-checked by the route) to the month's first day."""
    if not text:
        return month_start(default)
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def current_interest_year(today: date | None = None) -> int:
    """The interest year running today, named by the year it ends in (June 30)."""
    return interest_year(today or date.today())[1].year


def clean_query(text: str) -> str:
    """A search text without surrounding blanks or NUL characters (PostgreSQL refuses them)."""
    return text.replace("\x00", "").strip()


def pages_of(total: int, size: int) -> int:
    return max(1, (total + size - 1) // size)


def _scoped(column: Any, principal: Principal) -> ColumnElement[bool] | None:
    """The branch condition for staff (None: no condition, whole center)."""
    if principal.kind not in ("staff", "system"):
        return false()
    if principal.whole_center:
        return None
    if principal.branch_id is None:
        return false()
    return column == principal.branch_id  # type: ignore[no-any-return]


def branch_names(session: Session) -> dict[int, str]:
    return {u.id: u.name for u in session.scalars(select(OrgUnit))}


def visible_branch_id(principal: Principal) -> int | None:
    """The branch to filter on for staff of one branch; None for whole-center staff."""
    return None if principal.whole_center else principal.branch_id


# --- employers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmployerRow:
    employer_ref: str
    uscc: str
    name: str
    branch_id: int
    status: str
    employer_rate_pct: Decimal
    employee_rate_pct: Decimal
    pay_day: int
    first_month: date
    opened_on: date
    depositors: int


def _employer_row(employer: Employer, depositors: int) -> EmployerRow:
    return EmployerRow(
        employer.employer_ref,
        employer.uscc,
        employer.name,
        employer.branch_id,
        employer.status,
        employer.employer_rate_pct,
        employer.employee_rate_pct,
        employer.pay_day,
        employer.first_month,
        employer.opened_on,
        depositors,
    )


def active_depositor_counts(session: Session, employer_ids: list[int]) -> dict[int, int]:
    if not employer_ids:
        return {}
    rows = session.execute(
        select(Depositor.employer_id, func.count())
        .where(Depositor.employer_id.in_(employer_ids), Depositor.status == "01")
        .group_by(Depositor.employer_id)
    ).all()
    return {int(e): int(n) for e, n in rows if e is not None}


def list_employers(
    session: Session,
    principal: Principal,
    *,
    q: str = "",
    status: str = "",
    page: int = 1,
    size: int = 20,
) -> tuple[list[EmployerRow], int]:
    """One page of the employers the staff member may see (by account number), and the total."""
    size, page = max(1, min(size, MAX_PAGE_SIZE)), max(1, page)
    stmt = select(Employer)
    scope = _scoped(Employer.branch_id, principal)
    if scope is not None:
        stmt = stmt.where(scope)
    q = clean_query(q)
    if q:
        stmt = stmt.where(
            or_(
                Employer.employer_ref == q,
                Employer.uscc == q.upper(),
                Employer.name.contains(q, autoescape=True),
            )
        )
    if status:
        stmt = stmt.where(Employer.status == status)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    employers = list(
        session.scalars(stmt.order_by(Employer.employer_ref).offset((page - 1) * size).limit(size))
    )
    counts = active_depositor_counts(session, [e.id for e in employers])
    return [_employer_row(e, counts.get(e.id, 0)) for e in employers], total


def employer_row(session: Session, employer: Employer) -> EmployerRow:
    return _employer_row(
        employer, active_depositor_counts(session, [employer.id]).get(employer.id, 0)
    )


def get_employer_visible(session: Session, principal: Principal, employer_ref: str) -> Employer:
    """The employer if ``principal`` may see it (staff of its branch, or its own agent); else 404."""
    employer = session.scalar(select(Employer).where(Employer.employer_ref == employer_ref))
    if employer is None:
        raise employer_not_found(employer_ref)
    if principal.kind == "employer":
        if principal.employer_ref != employer.employer_ref:
            raise employer_not_found(employer_ref)
    elif not principal.can_see_branch(employer.branch_id):
        raise employer_not_found(employer_ref)
    return employer


def own_employer(session: Session, principal: Principal) -> Employer:
    """The signed-in employer agent's employer; 404 when none is linked."""
    ref = principal.employer_ref
    if principal.kind != "employer" or not ref:
        raise employer_not_found(ref or "")
    return get_employer_visible(session, principal, ref)


def suspense_balance(session: Session, employer: Employer) -> int | None:
    """单位暂收款 received and not yet posted (fen, positive), None without an account."""
    try:
        return -balance_of(session, subsidiary_code(EMPLOYER_SUSPENSE, employer.employer_ref))
    except LedgerError:
        return None


def reminders_of(session: Session, employer: Employer) -> list[ReminderNotice]:
    return list(
        session.scalars(
            select(ReminderNotice)
            .where(ReminderNotice.employer_id == employer.id)
            .order_by(ReminderNotice.issued_on.desc(), ReminderNotice.id.desc())
        )
    )


# --- depositors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DepositorRow:
    depositor_ref: str
    name: str
    id_number: str
    """Masked."""
    employer_ref: str | None
    employer_name: str | None
    branch_id: int
    base_fen: int
    status: str
    opened_on: date


def list_depositors(
    session: Session,
    *,
    principal: Principal | None = None,
    employer: Employer | None = None,
    q: str = "",
    status: str = "",
    page: int = 1,
    size: int = 20,
) -> tuple[list[DepositorRow], int]:
    """One page of depositors: those of ``principal``'s branch, or those of ``employer``."""
    size, page = max(1, min(size, MAX_PAGE_SIZE)), max(1, page)
    stmt = select(Depositor, Employer.employer_ref, Employer.name).outerjoin(
        Employer, Employer.id == Depositor.employer_id
    )
    if employer is not None:
        stmt = stmt.where(Depositor.employer_id == employer.id)
    if principal is not None:
        scope = _scoped(Depositor.branch_id, principal)
        if scope is not None:
            stmt = stmt.where(scope)
    if employer is None and principal is None:
        stmt = stmt.where(false())
    q = clean_query(q)
    if q:
        stmt = stmt.where(
            or_(
                Depositor.depositor_ref == q,
                Depositor.id_number == q.upper(),
                Depositor.name.contains(q, autoescape=True),
            )
        )
    if status:
        stmt = stmt.where(Depositor.status == status)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(
        stmt.order_by(Depositor.depositor_ref).offset((page - 1) * size).limit(size)
    ).all()
    return [
        DepositorRow(
            d.depositor_ref,
            d.name,
            mask_id_number(d.id_number),
            ref,
            name,
            d.branch_id,
            d.base_fen,
            d.status,
            d.opened_on,
        )
        for d, ref, name in rows
    ], total


def get_depositor_visible(session: Session, principal: Principal, depositor_ref: str) -> Depositor:
    """The depositor if ``principal`` may see it (staff of its branch, or the person); else 404."""
    depositor = session.scalar(select(Depositor).where(Depositor.depositor_ref == depositor_ref))
    if depositor is None:
        raise depositor_not_found(depositor_ref)
    if principal.kind == "depositor":
        if principal.depositor_ref != depositor.depositor_ref:
            raise depositor_not_found(depositor_ref)
    elif not principal.can_see_branch(depositor.branch_id):
        raise depositor_not_found(depositor_ref)
    return depositor


def balance_of_ref(session: Session, depositor_ref: str) -> int | None:
    """A depositor's balance (fen, positive) from the ledger; None without an account."""
    try:
        return -balance_of(session, subsidiary_code(DEPOSITORS_FUNDS, depositor_ref))
    except LedgerError:
        return None


def depositor_detail(
    session: Session, principal: Principal, depositor: Depositor
) -> dict[str, Any]:
    """A depositor's data for a page or the API: masked unless ``person.unmask`` is held."""
    unmask = principal.has("person.unmask") or principal.depositor_ref == depositor.depositor_ref
    employer = session.get(Employer, depositor.employer_id) if depositor.employer_id else None
    return {
        "depositor_ref": depositor.depositor_ref,
        "name": depositor.name,
        "id_number": depositor.id_number if unmask else mask_id_number(depositor.id_number),
        "phone": depositor.phone if unmask else mask_phone(depositor.phone),
        "bank_card": depositor.bank_card if unmask else mask_bank_card(depositor.bank_card),
        "unmasked": unmask,
        "birth_date": depositor.birth_date if unmask else None,
        "sex": depositor.sex,
        "employer_ref": employer.employer_ref if employer else None,
        "employer_name": employer.name if employer else None,
        "branch_id": depositor.branch_id,
        "base_fen": depositor.base_fen,
        "status": depositor.status,
        "opened_on": depositor.opened_on,
        "first_contribution_month": depositor.first_contribution_month,
        "balance_fen": balance_of_ref(session, depositor.depositor_ref),
    }


def audit_person_view(
    session: Session, principal: Principal, depositor: Depositor, *, unmasked: bool, ip: str
) -> None:
    """查看留痕: a staff member opened a depositor's data (``person.unmask`` when unmasked)."""
    audit.record_read(
        session,
        actor=principal,
        action="person.unmask" if unmasked else "person.view",
        object_type="depositor",
        object_id=depositor.depositor_ref,
        detail={"fields": ["id_number", "phone", "bank_card"] if unmasked else []},
        ip=ip,
    )


def statement_of(session: Session, depositor_ref: str, year: int) -> Statement | None:
    """The depositor account's statement for the interest year ending June 30 of ``year``."""
    try:
        return account_statement(
            session,
            ledger_code_of(depositor_ref),
            date(year - 1, 7, 1),
            date(year, 6, 30),
        )
    except LedgerError:
        return None


def ledger_code_of(depositor_ref: str) -> str:
    return subsidiary_code(DEPOSITORS_FUNDS, depositor_ref)


def year_choices(today: date | None = None) -> list[int]:
    current = current_interest_year(today)
    return list(range(current, max(FIRST_YEAR, current - 10) - 1, -1))


# --- remittance lists ---------------------------------------------------------------------


@dataclass(frozen=True)
class RemittanceRow:
    id: int
    employer_ref: str
    employer_name: str
    branch_id: int
    month: date
    kind: str
    status: str
    source: str
    lines: int
    employer_total_fen: int
    employee_total_fen: int
    total_fen: int
    created_at: datetime | None
    posted_on: date | None


def _remittance_row(r: Remittance, employer_ref: str, employer_name: str) -> RemittanceRow:
    return RemittanceRow(
        r.id,
        employer_ref,
        employer_name,
        r.branch_id,
        r.month,
        r.kind,
        r.status,
        r.source,
        r.lines,
        r.employer_total_fen,
        r.employee_total_fen,
        r.total_fen,
        r.created_at,
        r.posted_on,
    )


def remittance_row(session: Session, remittance: Remittance) -> RemittanceRow:
    employer = session.get(Employer, remittance.employer_id)
    assert employer is not None
    return _remittance_row(remittance, employer.employer_ref, employer.name)


def list_remittances(
    session: Session,
    *,
    principal: Principal | None = None,
    employer: Employer | None = None,
    month: date | None = None,
    status: str = "",
    page: int = 1,
    size: int = 20,
) -> tuple[list[RemittanceRow], int]:
    """One page of remittance lists: of ``principal``'s branch, or of ``employer``; newest first."""
    size, page = max(1, min(size, MAX_PAGE_SIZE)), max(1, page)
    stmt = select(Remittance, Employer.employer_ref, Employer.name).join(
        Employer, Employer.id == Remittance.employer_id
    )
    if employer is not None:
        stmt = stmt.where(Remittance.employer_id == employer.id)
    if principal is not None:
        scope = _scoped(Remittance.branch_id, principal)
        if scope is not None:
            stmt = stmt.where(scope)
    if employer is None and principal is None:
        stmt = stmt.where(false())
    if month is not None:
        stmt = stmt.where(Remittance.month == month)
    if status:
        stmt = stmt.where(Remittance.status == status)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(
        stmt.order_by(Remittance.month.desc(), Employer.employer_ref, Remittance.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return [_remittance_row(r, ref, name) for r, ref, name in rows], total


def get_remittance_of(session: Session, employer: Employer, remittance_id: int) -> Remittance:
    """The employer's own list ``remittance_id``; 404 for another employer's (or none)."""
    remittance = session.get(Remittance, remittance_id)
    if remittance is None or remittance.employer_id != employer.id:
        raise remittance_not_found(remittance_id)
    return remittance


def regular_list_of_month(session: Session, employer: Employer, month: date) -> Remittance | None:
    """The employer's regular list of ``month`` that is not cancelled (at most one)."""
    return session.scalar(
        select(Remittance)
        .where(
            Remittance.employer_id == employer.id,
            Remittance.month == month,
            Remittance.kind == "remittance",
            Remittance.status != "cancelled",
        )
        .order_by(Remittance.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class LineRow:
    depositor_ref: str
    name: str
    id_number: str
    """Masked."""
    base_fen: int
    employer_fen: int
    employee_fen: int

    @property
    def total_fen(self) -> int:
        return self.employer_fen + self.employee_fen


def lines_of(
    session: Session, remittance: Remittance, limit: int = MAX_LINES_SHOWN
) -> list[LineRow]:
    rows = session.execute(
        select(
            Depositor.depositor_ref,
            Depositor.name,
            Depositor.id_number,
            RemittanceLine.base_fen,
            RemittanceLine.employer_fen,
            RemittanceLine.employee_fen,
        )
        .join(Depositor, Depositor.id == RemittanceLine.depositor_id)
        .where(RemittanceLine.remittance_id == remittance.id)
        .order_by(Depositor.depositor_ref)
        .limit(limit)
    ).all()
    return [
        LineRow(ref, name, mask_id_number(idn), base, er, ee)
        for ref, name, idn, base, er, ee in rows
    ]


# --- uploads ------------------------------------------------------------------------------


async def read_upload(file: UploadFile) -> tuple[bytes, str]:
    """The uploaded bytes (at most one byte over the limit, so the service can refuse it)."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    return data, (file.filename or "upload.csv")[:200]


@dataclass(frozen=True)
class UploadOutcome:
    """What an upload came to: accepted, rejected row by row, or refused as a whole file."""

    parsed: ParsedRemittance | None
    refused: RemittanceFileRejected | None = None

    @property
    def ok(self) -> bool:
        return self.parsed is not None and self.parsed.ok


def check_only(
    session: Session, remittance: Remittance, data: bytes, filename: str, policy: Policy
) -> UploadOutcome:
    """Validate a file against the list without writing anything (for the error report)."""
    try:
        parsed = read_remittance_file(data, filename, context_for(session, remittance, policy))
    except RemittanceFileRejected as exc:
        return UploadOutcome(None, exc)
    return UploadOutcome(parsed)


def row_errors_json(parsed: ParsedRemittance) -> list[dict[str, Any]]:
    return [
        {
            "line_no": e.line_no,
            "column": e.column,
            "code": e.code,
            "message": e.message_zh,
            "message_en": e.message_en,
        }
        for e in parsed.errors
    ]


# --- arrears and statistics ---------------------------------------------------------------


def arrears_visible(
    session: Session, principal: Principal, policy: Policy, today: date | None = None
) -> list[ArrearsItem]:
    """The arrears list today of the branches ``principal`` may see."""
    if principal.kind not in ("staff", "system"):
        return []
    if not principal.whole_center and principal.branch_id is None:
        return []
    branch = None if principal.whole_center else principal.branch_id
    return arrears(session, today or date.today(), policy, branch_id=branch)


@dataclass(frozen=True)
class EmployerArrears:
    employer_ref: str
    employer_name: str
    months: int
    oldest_age_days: int
    amount_fen: int


def arrears_by_employer(items: list[ArrearsItem]) -> list[EmployerArrears]:
    """The arrears items summed per employer, the longest overdue first."""
    grouped: dict[str, list[ArrearsItem]] = {}
    for item in items:
        grouped.setdefault(item.employer_ref, []).append(item)
    out = [
        EmployerArrears(
            ref,
            group[0].employer_name,
            len(group),
            max(i.age_days for i in group),
            sum(i.amount_fen for i in group),
        )
        for ref, group in grouped.items()
    ]
    return sorted(out, key=lambda e: (-e.oldest_age_days, e.employer_ref))


MAX_STATS_MONTHS = 120


def books_day(session: Session, today: date) -> date:
    """The default end of a statistics page: today, or the last posting date when the books end
    earlier (an archive or the demo city of 2020–2023), so the page opens on data."""
    last = session.scalar(select(func.max(Journal.posting_date)))
    return last if last is not None and last < today else today


def stats_range(start: str, end: str, today: date | None = None) -> tuple[date, date]:
    """The months of a statistics query: default the last 12; at most ten years, in order."""
    today = today or date.today()
    last = parse_month_text(end, today)
    first = parse_month_text(start, add_months(month_start(last), -11))
    if first > last:
        first, last = last, first
    if months_between(first, last) >= MAX_STATS_MONTHS:
        first = add_months(last, -(MAX_STATS_MONTHS - 1))
    return first, last


def stats_visible(
    session: Session, principal: Principal, first: date, last: date, today: date | None = None
) -> tuple[list[MonthStats], dict[int, int]]:
    """Monthly statistics and today's balances of the branches ``principal`` may see."""
    if not principal.whole_center and principal.branch_id is None:
        return [], {}
    branch = None if principal.whole_center else principal.branch_id
    rows = monthly(session, first, last, branch_id=branch)
    balances = balances_by_branch(session, today or date.today())
    if branch is not None:
        balances = {b: v for b, v in balances.items() if b == branch}
    return rows, balances
