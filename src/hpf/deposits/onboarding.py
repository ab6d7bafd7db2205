"""一链办理: open an employer, open (or join) its first depositors and draft the first month's
remittance list (汇缴清册) in one all-or-nothing request under one idempotency key.

Every value of the request is checked before anything is written (:func:`check_request`): the
unified social credit code (统一社会信用代码, check character), the branch, the rates and bases in
force, each person's ID number (居民身份证号码, check digit), name, base, phone and bank card, and
duplicates within the request. Any bad value refuses the whole request with one ``RowError`` per
problem (``OnboardingRefused``) and nothing is written. The writes then run inside a savepoint, so
an unexpected refusal half-way still leaves nothing behind.

Idempotency: the request's digest and outcome are kept in the audit trail record
``employer.onboard`` whose object id is the idempotency key. The same key with the same request
returns the first outcome (``replayed=True``) and writes nothing; with a different request it is
refused (``IdempotencyConflict``). Two concurrent requests with one key race for the credit code,
which is unique: the loser finds the winner's record and replays it.

Rules chosen here (domain.md is silent): at least one and at most ``MAX_DEPOSITORS`` people; every
person joins on the employer's opening day; the first contribution month is not before the opening
month; an existing account of the same person is unfrozen or transferred (启封/内部转移) as
``open_depositor`` does, but a closed (销户) or court-frozen (冻结) account refuses its row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.models import AuditRecord
from hpf.auth.principal import Principal
from hpf.dates import parse_date
from hpf.deposits.depositors import DepositorInput, open_depositor
from hpf.deposits.employers import EmployerInput, limits_for, open_employer
from hpf.deposits.models import Depositor, Employer
from hpf.deposits.remittance import draft
from hpf.deposits.remittance_cells import CellError, cell_text, column_key, id_cell, money_cell
from hpf.deposits.rules import (
    CLOSED_DEPOSITOR_STATUSES,
    ContributionLimits,
    check_base,
    check_rates,
    month_start,
    parse_employer_type,
    parse_month,
)
from hpf.deposits.tabular import read_table
from hpf.errors import DomainError, InvalidInput
from hpf.identifiers import mask, parse_uscc
from hpf.money import format_yuan
from hpf.org.models import OrgUnit
from hpf.policy.loader import Policy

MAX_DEPOSITORS = 5_000
"""The most people one request may carry (a larger employer uploads its list afterwards)."""
MAX_KEY_LENGTH = 60
MAX_ERRORS_IN_MESSAGE = 10
AUDIT_ACTION = "employer.onboard"
EMPLOYER_LINE = 0
"""The line number of employer-level errors (单位信息)."""

_PHONE_RE = re.compile(r"^[0-9+\-() ]{5,20}$")
_CARD_RE = re.compile(r"^[0-9]{12,25}$")


class OnboardingRefused(InvalidInput):
    """The request has bad values; nothing was written. ``errors`` names each one."""

    code = "onboarding_refused"

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = tuple(errors)
        shown = self.errors[:MAX_ERRORS_IN_MESSAGE]
        more_zh = (
            f"；另有 {len(self.errors) - len(shown)} 处" if len(self.errors) > len(shown) else ""
        )
        more_en = f"; and {len(self.errors) - len(shown)} more" if more_zh else ""
        super().__init__(
            f"一链办理未通过校验（{len(self.errors)} 处错误），未写入任何数据："
            + "；".join(e.text_zh for e in shown)
            + more_zh,
            f"onboarding refused ({len(self.errors)} errors), nothing written: "
            + "; ".join(e.text_en for e in shown)
            + more_en,
        )


class IdempotencyConflict(DomainError):
    """The idempotency key was used for a different onboarding request (幂等键冲突)."""

    code = "idempotency_conflict"


@dataclass(frozen=True)
class RowError:
    """One bad value: the line it is on (0 = the employer's data), the field, the reason."""

    line: int
    field: str
    message_zh: str
    message_en: str

    @property
    def text_zh(self) -> str:
        where = "单位信息" if self.line == EMPLOYER_LINE else f"第 {self.line} 行"
        return f"{where} {self.field}：{self.message_zh}"

    @property
    def text_en(self) -> str:
        where = "employer" if self.line == EMPLOYER_LINE else f"line {self.line}"
        return f"{where} {_FIELDS_EN.get(self.field, self.field)}: {self.message_en}"


_FIELDS_EN = {
    "统一社会信用代码": "credit code",
    "单位名称": "name",
    "发薪日": "pay day",
    "联系人": "contact",
    "联系电话": "contact phone",
    "起缴月份": "first month",
    "管理部": "branch",
    "缴存比例": "rates",
    "单位缴存比例": "employer rate",
    "个人缴存比例": "employee rate",
    "开户日期": "opening date",
    "身份证号": "ID number",
    "姓名": "name",
    "缴存基数": "base",
    "手机号": "phone",
    "银行卡号": "bank card",
}


@dataclass(frozen=True)
class NewDepositor:
    """One person of the request as given (cells as typed; checked by :func:`check_request`)."""

    id_number: object
    name: str
    base_yuan: object
    """The contribution base in yuan (``"5000.00"``, an xlsx number...)."""
    line: int
    """Where the person is in the caller's list (a file's line number, or 1, 2, 3...)."""
    phone: str = ""
    bank_card: str = ""


@dataclass(frozen=True)
class OnboardingRequest:
    employer: EmployerInput
    depositors: tuple[NewDepositor, ...]


@dataclass(frozen=True)
class OnboardingResult:
    employer_ref: str
    depositor_refs: tuple[str, ...]
    remittance_id: int
    month: date
    total_fen: int
    replayed: bool


@dataclass(frozen=True)
class _Checked:
    """A request whose every value passed: what the writes need."""

    employer: EmployerInput
    people: tuple[tuple[str, str, int, str, str], ...]
    """(ID number, name, base fen, phone, bank card) per person, in request order."""


# --- the use case -----------------------------------------------------------------------------
def onboard(
    session: Session,
    request: OnboardingRequest,
    policy: Policy,
    actor: Principal,
    *,
    idempotency_key: str,
) -> OnboardingResult:
    """一链办理 in the caller's transaction; all or nothing; idempotent per ``idempotency_key``."""
    key = _checked_key(idempotency_key)
    digest = request_digest(request)
    replay = _replay_of(session, key, digest)
    if replay is not None:
        return replay
    checked = _check(session, request, policy)
    try:
        with session.begin_nested():
            return _write(session, checked, policy, actor, key, digest)
    except IntegrityError:
        # A concurrent request won the race for the credit code (or a person's ID number).
        replay = _replay_of(session, key, digest)
        if replay is not None:
            return replay
        _check(session, request, policy)  # another key took the code: refuse with its row error
        raise


def check_request(session: Session, request: OnboardingRequest, policy: Policy) -> None:
    """Check every value of ``request`` against the rules and the database; writes nothing.

    Raises ``OnboardingRefused`` listing every problem found.
    """
    _check(session, request, policy)


def request_digest(request: OnboardingRequest) -> str:
    """A digest of the request as given, to tell a replay from a different request."""
    text = json.dumps(
        request_payload(request), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    raw = hashlib.sha256(text.encode()).hexdigest()
    # Groups of 8: the trail masks long digit runs (phones, cards) in its detail text.
    return "-".join(raw[i : i + 8] for i in range(0, 64, 8))


# --- payloads (the workflow type and the CLI file share them) --------------------------------
def request_payload(request: OnboardingRequest) -> dict[str, Any]:
    """The request as JSON data (the payload of an ``employer_onboarding`` application)."""
    e = request.employer
    return {
        "employer": {
            "uscc": e.uscc.strip().upper(),
            "name": e.name.strip(),
            "branch_code": e.branch_code.strip(),
            "employer_rate_pct": str(e.employer_rate_pct),
            "employee_rate_pct": str(e.employee_rate_pct),
            "opened_on": e.opened_on.isoformat(),
            "first_month": None if e.first_month is None else f"{e.first_month:%Y-%m}",
            "pay_day": e.pay_day,
            "contact_name": e.contact_name.strip(),
            "contact_phone": e.contact_phone.strip(),
            "employer_type": e.employer_type.strip(),
        },
        "depositors": [
            {
                "line": p.line,
                "id_number": cell_text(p.id_number).upper(),
                "name": p.name.strip(),
                "base_yuan": cell_text(p.base_yuan),
                "phone": p.phone.strip(),
                "bank_card": p.bank_card.strip(),
            }
            for p in request.depositors
        ],
    }


def request_from_payload(payload: Mapping[str, Any]) -> OnboardingRequest:
    """The request of an application payload; raises ``OnboardingRefused`` on a malformed one."""
    errors: list[RowError] = []
    raw = payload.get("employer")
    if not isinstance(raw, Mapping):
        raise OnboardingRefused(
            [RowError(EMPLOYER_LINE, "employer", "缺少单位信息", "employer data missing")]
        )
    employer = _employer_input(raw, errors)
    people_raw = payload.get("depositors")
    if not isinstance(people_raw, list):
        errors.append(
            RowError(EMPLOYER_LINE, "depositors", "缺少职工名单", "depositor list missing")
        )
        people_raw = []
    people = []
    for index, item in enumerate(people_raw, start=1):
        if not isinstance(item, Mapping):
            errors.append(RowError(index, "row", "应为对象", "must be an object"))
            continue
        line = item.get("line", index)
        people.append(
            NewDepositor(
                id_number=_text(item.get("id_number")),
                name=_text(item.get("name")),
                base_yuan=_text(item.get("base_yuan")),
                line=line if isinstance(line, int) and not isinstance(line, bool) else index,
                phone=_text(item.get("phone")),
                bank_card=_text(item.get("bank_card")),
            )
        )
    if errors or employer is None:
        raise OnboardingRefused(errors)
    return OnboardingRequest(employer, tuple(people))


_FILE_COLUMNS: dict[str, frozenset[str]] = {
    "phone": frozenset({"手机号", "手机号码", "联系电话", "phone", "mobile"}),
    "bank_card": frozenset({"银行卡号", "银行账号", "bank_card", "card"}),
}


def depositors_from_file(data: bytes, filename: str) -> tuple[NewDepositor, ...]:
    """The people of a CSV or .xlsx list: header 身份证号, 姓名, 缴存基数 (手机号, 银行卡号 optional).

    Line numbers are those seen in Excel (the header is a line too). A missing column refuses
    the file; cells are checked later, row by row, by :func:`check_request`.
    """
    table = read_table(data, filename, limit=MAX_DEPOSITORS + 1)
    if not table.rows:
        raise OnboardingRefused([RowError(1, "file", "文件为空", "the file is empty")])
    header_line, header = table.rows[0]
    cols: dict[str, int] = {}
    for i, value in enumerate(header):
        key = column_key(value)
        if key is None:
            plain = "".join(cell_text(value).split()).lower()
            key = next((k for k, names in _FILE_COLUMNS.items() if plain in names), None)
        if key is not None and key not in cols:
            cols[key] = i
    missing = [
        zh
        for k, zh in (("id", "身份证号"), ("name", "姓名"), ("base", "缴存基数"))
        if k not in cols
    ]
    if missing:
        raise OnboardingRefused(
            [
                RowError(
                    header_line,
                    "header",
                    f"缺少必需的列：{'、'.join(missing)}（表头应为 身份证号,姓名,缴存基数[,手机号,银行卡号]）",
                    "required columns: 身份证号 (ID number), 姓名 (name), 缴存基数 (base)",
                )
            ]
        )
    if table.truncated or len(table.rows) - 1 > MAX_DEPOSITORS:
        raise OnboardingRefused(
            [
                RowError(
                    EMPLOYER_LINE,
                    "file",
                    f"一次最多 {MAX_DEPOSITORS} 人",
                    f"at most {MAX_DEPOSITORS} people per request",
                )
            ]
        )

    def cell(cells: tuple[object, ...], key: str) -> object:
        at = cols.get(key)
        return cells[at] if at is not None and at < len(cells) else None

    return tuple(
        NewDepositor(
            id_number=cell(cells, "id"),
            name=cell_text(cell(cells, "name")),
            base_yuan=cell(cells, "base"),
            line=line,
            phone=cell_text(cell(cells, "phone")),
            bank_card=cell_text(cell(cells, "bank_card")),
        )
        for line, cells in table.rows[1:]
    )


# --- checks -----------------------------------------------------------------------------------
def _check(session: Session, request: OnboardingRequest, policy: Policy) -> _Checked:
    errors: list[RowError] = []
    employer, limits = _check_employer(session, request.employer, policy, errors)
    if not request.depositors:
        errors.append(
            RowError(
                EMPLOYER_LINE, "depositors", "至少需要一名职工", "at least one person is required"
            )
        )
    elif len(request.depositors) > MAX_DEPOSITORS:
        errors.append(
            RowError(
                EMPLOYER_LINE,
                "depositors",
                f"一次最多 {MAX_DEPOSITORS} 人",
                f"at most {MAX_DEPOSITORS} people per request",
            )
        )
    people = _check_people(session, request.depositors, limits, errors)
    if errors:
        raise OnboardingRefused(sorted(errors, key=lambda e: e.line))
    assert employer is not None
    return _Checked(employer, tuple(people))


def _check_employer(
    session: Session, data: EmployerInput, policy: Policy, errors: list[RowError]
) -> tuple[EmployerInput | None, ContributionLimits | None]:
    def bad(field: str, zh: str, en: str) -> None:
        errors.append(RowError(EMPLOYER_LINE, field, zh, en))

    start = len(errors)
    uscc = data.uscc
    try:
        uscc = parse_uscc(data.uscc)
    except InvalidInput as exc:
        bad("统一社会信用代码", exc.message_zh, exc.message_en)
    else:
        if session.scalar(select(Employer.id).where(Employer.uscc == uscc)) is not None:
            bad("统一社会信用代码", f"该代码已开户：{uscc}", f"an employer with {uscc} exists")
    name = data.name.strip()
    if not name or len(name) > 200:
        bad("单位名称", "不能为空且不超过200字", "required, at most 200 characters")
    if not 1 <= data.pay_day <= 28:
        bad("发薪日", "应在1–28日之间", "must be between 1 and 28")
    if len(data.contact_name.strip()) > 50:
        bad("联系人", "不超过50字", "at most 50 characters")
    if data.contact_phone.strip() and not _PHONE_RE.match(data.contact_phone.strip()):
        bad("联系电话", "应为电话号码（不超过20位）", "must be a phone number (≤ 20 characters)")
    employer_type = data.employer_type
    try:
        employer_type = parse_employer_type(data.employer_type)
    except InvalidInput as exc:
        bad("单位性质", exc.message_zh, exc.message_en)
    if data.first_month is not None and month_start(data.first_month) < month_start(data.opened_on):
        bad("起缴月份", "不能早于开户月份", "must not be before the opening month")
    branch = session.scalar(select(OrgUnit).where(OrgUnit.code == data.branch_code.strip()))
    limits = None
    if branch is None or branch.kind != "branch":
        bad("管理部", f"不存在：{data.branch_code}", f"no such branch: {data.branch_code}")
    else:
        try:
            limits = limits_for(policy, branch, data.opened_on)
            check_rates(data.employer_rate_pct, data.employee_rate_pct, limits)
        except DomainError as exc:
            bad("缴存比例", exc.message_zh, exc.message_en)
    if len(errors) > start:
        return None, limits
    return (
        EmployerInput(
            uscc=uscc,
            name=name,
            branch_code=branch.code if branch else data.branch_code,
            employer_rate_pct=data.employer_rate_pct,
            employee_rate_pct=data.employee_rate_pct,
            opened_on=data.opened_on,
            first_month=data.first_month,
            pay_day=data.pay_day,
            contact_name=data.contact_name.strip(),
            contact_phone=data.contact_phone.strip(),
            employer_type=employer_type,
        ),
        limits,
    )


def _check_people(
    session: Session,
    rows: Sequence[NewDepositor],
    limits: ContributionLimits | None,
    errors: list[RowError],
) -> list[tuple[str, str, int, str, str]]:
    people: list[tuple[str, str, int, str, str]] = []
    seen: dict[str, int] = {}
    ids: list[str] = []
    lines_of: dict[str, int] = {}
    for row in rows:
        start = len(errors)

        def bad(field: str, zh: str, en: str, line: int = row.line) -> None:
            errors.append(RowError(line, field, zh, en))

        id_number = ""
        try:
            id_number = id_cell(row.id_number)
        except CellError as exc:
            bad("身份证号", exc.message_zh, exc.message_en)
        else:
            if id_number in seen:
                bad(
                    "身份证号",
                    f"与第 {seen[id_number]} 行重复：{mask(id_number)}",
                    f"repeats line {seen[id_number]}: {mask(id_number)}",
                )
            else:
                seen[id_number] = row.line
                ids.append(id_number)
                lines_of[id_number] = row.line
        name = row.name.strip()
        if not name or len(name) > 50:
            bad("姓名", "不能为空且不超过50字", "required, at most 50 characters")
        base_fen = 0
        try:
            base_fen = money_cell(row.base_yuan)
        except CellError as exc:
            bad("缴存基数", exc.message_zh, exc.message_en)
        else:
            if limits is not None:
                try:
                    check_base(base_fen, limits)
                except DomainError as exc:
                    bad("缴存基数", exc.message_zh, exc.message_en)
        phone, card = row.phone.strip(), "".join(row.bank_card.split())
        if phone and not _PHONE_RE.match(phone):
            bad("手机号", "应为电话号码（不超过20位）", "must be a phone number (≤ 20 characters)")
        if card and not _CARD_RE.match(card):
            bad("银行卡号", "应为12–25位数字", "must be 12-25 digits")
        if len(errors) == start:
            people.append((id_number, name, base_fen, phone, card))
    for id_number, status in _existing_statuses(session, ids):
        line = lines_of[id_number]
        if status in CLOSED_DEPOSITOR_STATUSES:
            errors.append(
                RowError(
                    line,
                    "身份证号",
                    f"该职工的个人账户已销户：{mask(id_number)}",
                    "the person's account is closed",
                )
            )
        elif status == "06":
            errors.append(
                RowError(
                    line,
                    "身份证号",
                    f"该职工的个人账户已冻结：{mask(id_number)}",
                    "the person's account is frozen by a court or the center",
                )
            )
    return people


def _existing_statuses(session: Session, ids: Sequence[str]) -> list[tuple[str, str]]:
    """(ID number, status) of the people of ``ids`` who already have an account."""
    found: list[tuple[str, str]] = []
    for start in range(0, len(ids), 900):
        chunk = list(ids[start : start + 900])
        found.extend(
            (row.id_number, row.status)
            for row in session.execute(
                select(Depositor.id_number, Depositor.status).where(Depositor.id_number.in_(chunk))
            )
        )
    return found


# --- writes -----------------------------------------------------------------------------------
def _write(
    session: Session,
    checked: _Checked,
    policy: Policy,
    actor: Principal,
    key: str,
    digest: str,
) -> OnboardingResult:
    employer = open_employer(session, checked.employer, policy, actor)
    refs = []
    for id_number, name, base_fen, phone, card in checked.people:
        person = open_depositor(
            session,
            DepositorInput(
                id_number=id_number,
                name=name,
                employer_ref=employer.employer_ref,
                base_fen=base_fen,
                joined_on=checked.employer.opened_on,
                phone=phone,
                bank_card=card,
            ),
            policy,
            actor,
        )
        refs.append(person.depositor_ref)
    first = draft(session, employer, employer.first_month, policy, actor)
    result = OnboardingResult(
        employer.employer_ref, tuple(refs), first.id, first.month, first.total_fen, False
    )
    record(
        session,
        actor=actor,
        action=AUDIT_ACTION,
        object_type="onboarding",
        object_id=key,
        detail={
            "request": digest,
            "employer": result.employer_ref,
            "depositors": list(result.depositor_refs),
            "remittance": result.remittance_id,
            "month": f"{result.month:%Y-%m}",
            "total": result.total_fen,
        },
    )
    return result


def _replay_of(session: Session, key: str, digest: str) -> OnboardingResult | None:
    text = session.scalar(
        select(AuditRecord.detail)
        .where(
            AuditRecord.action == AUDIT_ACTION,
            AuditRecord.object_type == "onboarding",
            AuditRecord.object_id == key,
        )
        .order_by(AuditRecord.id)
        .limit(1)
    )
    if text is None:
        return None
    detail = json.loads(text)
    if detail.get("request") != digest:
        raise IdempotencyConflict(
            f"幂等键 {key} 已用于另一笔不同的一链办理",
            f"idempotency key {key} was used for a different onboarding request",
        )
    return OnboardingResult(
        employer_ref=str(detail["employer"]),
        depositor_refs=tuple(str(r) for r in detail["depositors"]),
        remittance_id=int(detail["remittance"]),
        month=parse_month(str(detail["month"])),
        total_fen=int(detail["total"]),
        replayed=True,
    )


def _checked_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"幂等键不能为空且不超过{MAX_KEY_LENGTH}个字符",
            f"idempotency key must be 1-{MAX_KEY_LENGTH} characters",
        )
    return key


# --- small parsers ----------------------------------------------------------------------------
def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _employer_input(raw: Mapping[str, Any], errors: list[RowError]) -> EmployerInput | None:
    start = len(errors)

    def bad(field: str, zh: str, en: str) -> None:
        errors.append(RowError(EMPLOYER_LINE, field, zh, en))

    rates: dict[str, Decimal] = {}
    for field, zh in (("employer_rate_pct", "单位缴存比例"), ("employee_rate_pct", "个人缴存比例")):
        try:
            rates[field] = parse_rate(raw.get(field))
        except InvalidInput as exc:
            bad(zh, exc.message_zh, exc.message_en)
    opened_on = None
    try:
        opened_on = parse_date(_text(raw.get("opened_on")))
    except InvalidInput as exc:
        bad("开户日期", exc.message_zh, exc.message_en)
    first_month = None
    if raw.get("first_month"):
        try:
            first_month = parse_month(_text(raw.get("first_month")))
        except InvalidInput as exc:
            bad("起缴月份", exc.message_zh, exc.message_en)
    pay_day = raw.get("pay_day", 10)
    if isinstance(pay_day, bool) or not isinstance(pay_day, int):
        bad("发薪日", "应为1–28的整数", "must be a whole number 1-28")
        pay_day = 10
    if len(errors) > start or opened_on is None:
        return None
    return EmployerInput(
        uscc=_text(raw.get("uscc")),
        name=_text(raw.get("name")),
        branch_code=_text(raw.get("branch_code")),
        employer_rate_pct=rates["employer_rate_pct"],
        employee_rate_pct=rates["employee_rate_pct"],
        opened_on=opened_on,
        first_month=first_month,
        pay_day=pay_day,
        contact_name=_text(raw.get("contact_name")),
        contact_phone=_text(raw.get("contact_phone")),
        employer_type=_text(raw.get("employer_type")) or "other",
    )


def parse_rate(value: object) -> Decimal:
    """A contribution rate in percent (``"8"``, ``"7.5"``), at most two decimals."""
    text = _text(value).removesuffix("%").strip()
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(
            f"缴存比例应为百分数：{value!r}", f"a rate is a percentage: {value!r}"
        ) from None
    exponent = rate.as_tuple().exponent
    if not rate.is_finite() or not isinstance(exponent, int) or exponent < -2:
        raise InvalidInput(
            f"缴存比例最多两位小数：{value!r}", f"a rate has at most 2 decimals: {value!r}"
        )
    if not 0 <= rate < 100:
        raise InvalidInput(
            f"缴存比例应在0–100之间：{value!r}", f"a rate is between 0 and 100: {value!r}"
        )
    return rate


def summary_zh(result: OnboardingResult) -> str:
    """One line describing an outcome, for the CLI."""
    state = "（重放，未重复写入）" if result.replayed else ""
    return (
        f"一链办理完成{state}：单位账号 {result.employer_ref}，开户/转入职工 "
        f"{len(result.depositor_refs)} 人，{result.month:%Y-%m} 汇缴清册 {result.remittance_id}"
        f"（合计 {format_yuan(result.total_fen, grouping=True)} 元）"
    )
