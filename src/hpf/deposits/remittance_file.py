"""The monthly remittance list (汇缴清册) uploaded by an employer: read, validate, report (domain.md §3).

Pure: bytes in, a ``ParsedRemittance`` out; no database, no web. An HR clerk downloads the drafted
list (``template_csv``), edits it, and uploads it as .xlsx or .csv (UTF-8 or GBK). Whole-file
problems (too big, empty, unreadable, wrong encoding, missing columns, too many rows) raise
``RemittanceFileRejected``; every row problem becomes a ``RowError`` with the line number the clerk
sees in Excel (the header is line 1). A list with any error posts nothing: ``ParsedRemittance.ok``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from hpf.deposits.remittance_cells import (
    COLUMNS,
    HEADER_SCAN_ROWS,
    MAX_CELL_CHARS,
    CellError,
    cell_text,
    find_header,
    id_cell,
    money_cell,
    name_key,
)
from hpf.deposits.rules import (
    ContributionLimits,
    ContributionRuleError,
    MonthlyAmounts,
    check_base,
    clamp_base,
    monthly_amounts,
)
from hpf.deposits.tabular import Cell, UnreadableTable, read_table
from hpf.errors import DomainError
from hpf.identifiers import mask
from hpf.money import format_yuan
from hpf.tabular_safety import safe_csv_writer

PROGRESS_EVERY = 1_000

_TEMPLATE_ORDER = ("account", "id", "name", "base", "employer", "employee")
_Fail = Callable[[str, str, str, str], None]
"""Reports one row error: (column key, code, message_zh, message_en)."""


class RemittanceFileRejected(DomainError):
    """The whole uploaded 汇缴清册 is refused before any row is checked; one clear message."""

    code = "remittance_file_rejected"


@dataclass(frozen=True)
class EmployeeOnFile:
    """What the caller knows of one of the employer's current depositors (在缴职工)."""

    depositor_ref: str
    id_number: str
    name: str
    base_fen: int


@dataclass(frozen=True)
class RemittanceContext:
    """Everything a 汇缴清册 is checked against: the employer, the month, rates, limits, staff."""

    employer_ref: str
    employer_name: str
    month: date  # the month's first day
    employer_rate_pct: Decimal
    employee_rate_pct: Decimal
    limits: ContributionLimits
    employees: Mapping[str, EmployeeOnFile]  # keyed by the 18-character ID number, upper case
    other_employer_ids: Callable[[str], str | None]  # ID -> the other employer's ref, or None
    max_bytes: int = 10 * 1024 * 1024  # a 100,000-row CSV is about 6 MB
    max_rows: int = 100_000


@dataclass(frozen=True)
class RemittanceRow:
    """One accepted line of the 汇缴清册: a person, the base and the two monthly amounts."""

    line_no: int
    depositor_ref: str
    id_number: str
    name: str
    base_fen: int
    employer_fen: int
    employee_fen: int
    previous_base_fen: int | None = None  # the base on record, when the list carries a new one

    @property
    def total_fen(self) -> int:
        return self.employer_fen + self.employee_fen


@dataclass(frozen=True)
class RowError:
    """One problem on one line of an uploaded 汇缴清册 (column as headed in the file)."""

    line_no: int
    column: str
    code: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class ParsedRemittance:
    """The outcome of reading a 汇缴清册: accepted rows, row errors and the accepted total."""

    rows: tuple[RemittanceRow, ...]
    errors: tuple[RowError, ...]
    total_fen: int
    absent: tuple[str, ...] = field(default=())
    """Depositor refs of current staff not on the list (information, not an error)."""

    @property
    def ok(self) -> bool:
        """True when the list may be posted: no errors and at least one row."""
        return not self.errors and bool(self.rows)

    @property
    def employer_total_fen(self) -> int:
        return sum(r.employer_fen for r in self.rows)

    @property
    def employee_total_fen(self) -> int:
        return sum(r.employee_fen for r in self.rows)


def read_remittance_file(
    data: bytes,
    filename: str,
    ctx: RemittanceContext,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ParsedRemittance:
    """Read and check an uploaded 汇缴清册; every row error is collected, none stops the rest.

    Raises ``RemittanceFileRejected`` for a file that cannot be taken as a list at all. The size
    is checked first, before any decoding or parsing.
    """
    if len(data) > ctx.max_bytes:
        raise RemittanceFileRejected(
            f"文件过大（{_size(len(data))}），上限为 {_size(ctx.max_bytes)}",
            f"the file is too large ({_size(len(data))}); the limit is {_size(ctx.max_bytes)}",
            code="file_too_large",
        )
    if not data.strip():
        raise _empty("文件为空", "the file is empty")
    try:
        table = read_table(data, filename, limit=ctx.max_rows + HEADER_SCAN_ROWS + 1)
    except UnreadableTable as exc:
        raise RemittanceFileRejected(exc.message_zh, exc.message_en, code=exc.code) from None
    if not table.rows:
        raise _empty("文件为空", "the file is empty")
    try:
        header_at, cols, labels = find_header(table.rows)
    except CellError as exc:
        raise RemittanceFileRejected(exc.message_zh, exc.message_en, code=exc.code) from None
    body = table.rows[header_at + 1 :]
    if table.truncated or len(body) > ctx.max_rows:
        raise RemittanceFileRejected(
            f"数据行超过上限 {ctx.max_rows} 行，请分批上传",
            f"more than {ctx.max_rows} data rows; split the list into several files",
            code="too_many_rows",
        )
    if not body:
        raise _empty("文件只有表头，没有数据行", "the file has a header but no data rows")

    rows: list[RemittanceRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    expected: dict[int, MonthlyAmounts] = {}
    total = len(body)
    for done, (line_no, cells) in enumerate(body, start=1):
        row = _check_row(line_no, cells, cols, labels, ctx, seen, expected, errors)
        if row is not None:
            rows.append(row)
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    absent = tuple(sorted(e.depositor_ref for i, e in ctx.employees.items() if i not in seen))
    return ParsedRemittance(tuple(rows), tuple(errors), sum(r.total_fen for r in rows), absent)


def draft_rows(ctx: RemittanceContext) -> tuple[RemittanceRow, ...]:
    """The drafted list: each current depositor at the record base (brought within the limits)."""
    drafted = []
    staff = sorted(ctx.employees.values(), key=lambda e: (e.depositor_ref, e.id_number))
    for line_no, person in enumerate(staff, start=2):
        base = clamp_base(person.base_fen, ctx.limits)
        amounts = _amounts(base, ctx)
        drafted.append(
            RemittanceRow(
                line_no,
                person.depositor_ref,
                person.id_number.upper(),
                person.name,
                base,
                amounts.employer_fen,
                amounts.employee_fen,
                person.base_fen if base != person.base_fen else None,
            )
        )
    return tuple(drafted)


def template_csv(ctx: RemittanceContext) -> bytes:
    """The drafted 汇缴清册 as UTF-8 CSV with BOM, for HR to download, edit and upload again.

    ID numbers are written after a tab so Excel keeps them as text instead of rounding them.
    """
    out = [[COLUMNS[key][1] for key in _TEMPLATE_ORDER]]
    for row in draft_rows(ctx):
        out.append(
            [
                row.depositor_ref,
                "\t" + row.id_number,
                row.name,
                format_yuan(row.base_fen),
                format_yuan(row.employer_fen),
                format_yuan(row.employee_fen),
            ]
        )
    return _csv_bytes(out)


def error_report_csv(parsed: ParsedRemittance) -> bytes:
    """The row errors as UTF-8 CSV with BOM (opens in Excel): 行号,列,错误代码,错误说明,Error."""
    out = [["行号", "列", "错误代码", "错误说明", "Error"]]
    for e in parsed.errors:
        out.append([str(e.line_no), e.column, e.code, e.message_zh, e.message_en])
    return _csv_bytes(out)


def _check_row(
    line_no: int,
    cells: tuple[Cell, ...],
    cols: Mapping[str, int],
    labels: Mapping[str, str],
    ctx: RemittanceContext,
    seen: dict[str, int],
    expected: dict[int, MonthlyAmounts],
    errors: list[RowError],
) -> RemittanceRow | None:
    """Check one line; append its errors and return the row only when it has none."""
    start = len(errors)

    def fail(key: str, code: str, zh: str, en: str) -> None:
        errors.append(RowError(line_no, labels[key], code, zh, en))

    def cell(key: str) -> Cell:
        i = cols.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    person: EmployeeOnFile | None = None
    id_number = ""
    try:
        id_number = id_cell(cell("id"))
    except CellError as exc:
        fail("id", exc.code, exc.message_zh, exc.message_en)
    if id_number:
        if id_number in seen:
            fail(
                "id",
                "id_duplicate",
                f"身份证号 {mask(id_number)} 与第 {seen[id_number]} 行重复",
                f"ID number {mask(id_number)} repeats line {seen[id_number]}",
            )
        else:
            seen[id_number] = line_no
            person = ctx.employees.get(id_number)
            if person is None:
                _not_ours(id_number, ctx, fail)

    name = cell_text(cell("name"))
    if not name:
        fail("name", "name_missing", "姓名为空", "the name is missing")
    elif person is not None and name != person.name and name_key(name) != name_key(person.name):
        fail(
            "name",
            "name_mismatch",
            f"姓名“{name[:MAX_CELL_CHARS]}”与登记的“{person.name}”不一致",
            f"name {name[:MAX_CELL_CHARS]!r} differs from the record {person.name!r}",
        )
    account = cell_text(cell("account"))
    if account and person is not None and account != person.depositor_ref:
        fail(
            "account",
            "account_mismatch",
            f"个人账号 {account[:MAX_CELL_CHARS]} 与登记的 {person.depositor_ref} 不一致",
            f"account {account[:MAX_CELL_CHARS]} differs from the record {person.depositor_ref}",
        )

    base = _amount_of("base", cell("base"), fail)
    if base is not None:
        try:
            check_base(base, ctx.limits)
        except ContributionRuleError as exc:
            fail("base", "base_out_of_limits", exc.message_zh, exc.message_en)
            base = None
    given = {key: _amount_of(key, cell(key), fail) for key in ("employer", "employee")}
    if base is not None:
        if base not in expected:
            expected[base] = _amounts(base, ctx)
        want = expected[base]
        for key, fen in (("employer", want.employer_fen), ("employee", want.employee_fen)):
            got = given[key]
            if got is not None and got != fen:
                _, zh, en = COLUMNS[key]
                fail(
                    key,
                    "amount_mismatch",
                    f"{zh}应为 {format_yuan(fen)} 元（基数 × 比例），文件中为 {format_yuan(got)} 元",
                    f"{en} should be {format_yuan(fen)} (base × rate); the file has {format_yuan(got)}",
                )
    if len(errors) > start or person is None or base is None:
        return None
    employer_fen, employee_fen = given["employer"], given["employee"]
    assert employer_fen is not None and employee_fen is not None  # no error means both parsed
    return RemittanceRow(
        line_no,
        person.depositor_ref,
        id_number,
        person.name,
        base,
        employer_fen,
        employee_fen,
        person.base_fen if person.base_fen != base else None,
    )


def _not_ours(id_number: str, ctx: RemittanceContext, fail: _Fail) -> None:
    if ctx.other_employer_ids(id_number) is not None:
        fail(
            "id",
            "other_employer",
            f"身份证号 {mask(id_number)} 的职工属于其他单位，请先办理转移或封存",
            f"the person with ID {mask(id_number)} belongs to another employer; transfer first",
        )
    else:
        fail(
            "id",
            "unknown_depositor",
            f"身份证号 {mask(id_number)} 不是本单位在缴职工，请先办理开户或启封",
            f"ID {mask(id_number)} is not a current depositor of this employer; register first",
        )


def _amount_of(key: str, value: Cell, fail: _Fail) -> int | None:
    """The cell's amount in fen, or None after reporting why it is not one."""
    prefix = "base" if key == "base" else "amount"
    _, zh, en = COLUMNS[key]
    try:
        fen = money_cell(value)
    except CellError as exc:
        fail(key, f"{prefix}_{exc.code}", f"{zh}{exc.message_zh}", f"{en}: {exc.message_en}")
        return None
    if fen < 0:
        fail(key, f"{prefix}_negative", f"{zh}不能为负数", f"{en} cannot be negative")
        return None
    return fen


def _amounts(base_fen: int, ctx: RemittanceContext) -> MonthlyAmounts:
    return monthly_amounts(
        base_fen, ctx.employer_rate_pct, ctx.employee_rate_pct, ctx.limits.rounding
    )


def _csv_bytes(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    safe_csv_writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _empty(zh: str, en: str) -> RemittanceFileRejected:
    return RemittanceFileRejected(zh, en, code="file_empty")


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} B"
