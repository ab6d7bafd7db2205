"""Import of a hotline platform's ticket export (热线平台工单导出): .xlsx or .csv (UTF-8/GBK).

All or nothing: every row is checked first; one bad row rejects the file with every row error
(line numbers as Excel shows them, the header is line 1) and nothing is written. Columns are found
by their Chinese headings (aliases below); 工单编号, 受理时间, 来源渠道 and 诉求主题 are required.
Reply and callback columns, when filled, record the reply and the callback as the platform had them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.principal import Principal
from hpf.deposits.tabular import Cell, read_table
from hpf.errors import DomainError
from hpf.org.models import OrgUnit
from hpf.service_desk import rules
from hpf.service_desk.models import Ticket
from hpf.service_desk.service import TicketInput, _aware, add_ticket

MAX_ROWS = 50_000
MOMENT_YEARS = (1990, 2100)
REQUIRED = ("ticket_no", "received_at", "channel", "topic")
_ALIASES: dict[str, str] = {
    "工单编号": "ticket_no",
    "工单号": "ticket_no",
    "受理时间": "received_at",
    "来电时间": "received_at",
    "登记时间": "received_at",
    "来源渠道": "channel",
    "渠道": "channel",
    "来源": "channel",
    "来电人": "caller_name",
    "诉求人": "caller_name",
    "姓名": "caller_name",
    "联系电话": "caller_phone",
    "来电号码": "caller_phone",
    "诉求主题": "topic",
    "主题": "topic",
    "标题": "topic",
    "诉求内容": "content",
    "内容": "content",
    "工单类别": "category",
    "诉求类别": "category",
    "类别": "category",
    "承办单位": "branch",
    "管理部": "branch",
    "答复时限": "due_at",
    "办理时限": "due_at",
    "答复时间": "replied_at",
    "办结时间": "replied_at",
    "答复内容": "reply",
    "办理结果": "reply",
    "回访时间": "callback_at",
    "回访是否成功": "callback_reached",
    "是否回访成功": "callback_reached",
    "回访成功": "callback_reached",
    "满意度": "rating",
    "回访结果": "rating",
    "满意度评价": "rating",
}
_LABELS = {v: k for k, v in reversed(_ALIASES.items())}


class TicketFileRejected(DomainError):
    """The ticket export cannot be imported: the whole file, or rows with errors."""

    code = "ticket_file_rejected"

    def __init__(self, message_zh: str, message_en: str, errors: tuple[RowError, ...] = ()):
        super().__init__(message_zh, message_en)
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    line_no: int
    column: str
    message_zh: str
    message_en: str


@dataclass
class ParsedRow:
    line_no: int
    ticket: TicketInput
    replied_at: datetime | None = None
    reply: str = ""
    callback_at: datetime | None = None
    reached: bool | None = None
    rating: str | None = None


@dataclass
class ImportResult:
    imported: int
    replied: int
    called_back: int
    ticket_nos: list[str] = field(default_factory=list)


def _key(value: Cell) -> str | None:
    text = "".join(unicodedata.normalize("NFKC", "" if value is None else str(value)).split())
    return _ALIASES.get(text.strip("*"))


def _text(value: Cell) -> str:
    return "" if value is None else str(value).strip()


def parse_moment(value: Cell) -> datetime:
    """A cell as a moment: an xlsx datetime/date, or text ``YYYY-MM-DD[ HH:MM[:SS]]`` (/ too).

    Years outside ``MOMENT_YEARS`` are refused (ValueError) like a malformed cell: a ticket of
    0001-01-01 or 9999-12-31 is a typo, and would overflow when moved to UTC.
    """
    moment = _moment(value)
    if not MOMENT_YEARS[0] <= moment.year <= MOMENT_YEARS[1]:
        raise ValueError(_text(value))
    return moment


def _moment(value: Cell) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    text = _text(value).replace("/", "-").replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            return datetime(1899, 12, 30) + timedelta(days=float(value))  # an Excel serial
        except (OverflowError, ValueError):
            raise ValueError(text) from None
    raise ValueError(text)


def parse_file(session: Session, data: bytes, filename: str) -> list[ParsedRow]:
    """Read and check every row; raises TicketFileRejected listing every row error."""
    table = read_table(data, filename, limit=MAX_ROWS + 1)
    if table.truncated or len(table.rows) > MAX_ROWS + 1:
        raise TicketFileRejected(
            f"文件超过 {MAX_ROWS} 行，请分批导入", f"more than {MAX_ROWS} rows: split the file"
        )
    if not table.rows:
        raise TicketFileRejected("文件为空", "the file is empty")
    _, header = table.rows[0]
    cols: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = _key(cell)
        if key is not None and key not in cols:
            cols[key] = i
    missing = [_LABELS[k] for k in REQUIRED if k not in cols]
    if missing:
        raise TicketFileRejected(
            f"缺少必需的列：{'、'.join(missing)}", f"missing required columns: {', '.join(missing)}"
        )
    branches: dict[str, str] = {}
    for code, name in session.execute(select(OrgUnit.code, OrgUnit.name)):
        branches[code] = branches[name] = code
    existing = set(session.scalars(select(Ticket.ticket_no)))
    seen: dict[str, int] = {}
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    for line_no, cells in table.rows[1:]:
        row = _check_row(line_no, cells, cols, branches, existing, seen, errors)
        if row is not None:
            rows.append(row)
    if errors:
        raise TicketFileRejected(
            f"{len(errors)} 处错误，整个文件未导入（第一处：第 {errors[0].line_no} 行 "
            f"{errors[0].column}：{errors[0].message_zh}）",
            f"{len(errors)} errors: nothing was imported (first: line {errors[0].line_no} "
            f"{errors[0].column}: {errors[0].message_en})",
            tuple(errors),
        )
    if not rows:
        raise TicketFileRejected("文件中没有工单", "the file holds no tickets")
    return rows


def _check_row(
    line_no: int,
    cells: tuple[Cell, ...],
    cols: dict[str, int],
    branches: dict[str, str],
    existing: set[str],
    seen: dict[str, int],
    errors: list[RowError],
) -> ParsedRow | None:
    start = len(errors)

    def cell(key: str) -> Cell:
        i = cols.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    def fail(key: str, zh: str, en: str) -> None:
        errors.append(RowError(line_no, _LABELS[key], zh, en))

    def moment(key: str, required: bool = False) -> datetime | None:
        value = cell(key)
        if _text(value) == "" and not isinstance(value, datetime | date):
            if required:
                fail(key, "不能为空", "required")
            return None
        try:
            return parse_moment(value)
        except ValueError:
            fail(key, f"时间格式错误：{_text(value)}", f"not a date-time: {_text(value)}")
            return None

    number = _text(cell("ticket_no"))
    if not number:
        fail("ticket_no", "不能为空", "required")
    elif number in existing:
        fail("ticket_no", f"工单已导入过：{number}", f"ticket already imported: {number}")
    elif number in seen:
        fail("ticket_no", f"与第 {seen[number]} 行重复", f"duplicates line {seen[number]}")
    else:
        seen[number] = line_no
    received = moment("received_at", required=True)
    channel = category = None
    try:
        channel = rules.parse_channel(_text(cell("channel")))
    except DomainError as exc:
        fail("channel", exc.message_zh, exc.message_en)
    try:
        category = rules.parse_category(_text(cell("category")) or "consult")
    except DomainError as exc:
        fail("category", exc.message_zh, exc.message_en)
    topic = _text(cell("topic"))
    if not topic:
        fail("topic", "不能为空", "required")
    branch_text = _text(cell("branch"))
    branch = branches.get(branch_text) if branch_text else None
    if branch_text and branch is None:
        fail("branch", f"未知的管理部：{branch_text}", f"unknown branch: {branch_text}")
    due = moment("due_at")
    replied = moment("replied_at")
    reply = _text(cell("reply"))
    callback_at = moment("callback_at")
    reached: bool | None = None
    rating: str | None = None
    reached_text, rating_text = _text(cell("callback_reached")), _text(cell("rating"))
    if reached_text:
        try:
            reached = rules.parse_yes_no(reached_text, "回访是否成功", "callback reached")
        except DomainError as exc:
            fail("callback_reached", exc.message_zh, exc.message_en)
    if rating_text:
        try:
            rating = rules.parse_rating(rating_text)
        except DomainError as exc:
            fail("rating", exc.message_zh, exc.message_en)
        if reached is None and not reached_text:
            reached = True  # a rating is only given by a person reached
    no_callback_time = _text(cell("callback_at")) == "" and not isinstance(
        cell("callback_at"), datetime | date
    )
    if reached is not None and no_callback_time:
        fail("callback_at", "记录了回访结果但没有回访时间", "a callback result without its time")
    if reached is not None and len(errors) == start:
        try:
            rules.check_callback(reached, rating)
        except DomainError as exc:
            fail("rating", exc.message_zh, exc.message_en)
    if callback_at is not None and replied is None:
        fail("replied_at", "回访前须有答复时间", "a callback needs a reply first")
    if received is not None:
        for key, value in (("replied_at", replied), ("due_at", due), ("callback_at", callback_at)):
            if value is not None and value < received:
                fail(key, "早于受理时间", "before the ticket was received")
    if len(errors) > start or received is None or channel is None or category is None:
        return None
    return ParsedRow(
        line_no,
        TicketInput(
            channel=channel,
            topic=topic,
            category=category,
            received_at=received,
            caller_name=_text(cell("caller_name")),
            caller_phone=_text(cell("caller_phone")),
            content=_text(cell("content")),
            branch_code=branch,
            ticket_no=number,
            due_at=due,
        ),
        replied_at=replied,
        reply=reply or "（平台已答复）",
        callback_at=callback_at,
        reached=reached,
        rating=rating,
    )


def import_tickets(session: Session, data: bytes, filename: str, actor: Principal) -> ImportResult:
    """Check the whole export, then record every ticket (in the caller's one transaction)."""
    rows = parse_file(session, data, filename)
    result = ImportResult(0, 0, 0)
    for parsed in rows:
        row = add_ticket(session, parsed.ticket, actor, source="import", audited=False)
        if parsed.replied_at is not None:
            row.replied_at = _aware(parsed.replied_at)
            row.reply = parsed.reply
            row.replied_by = "platform"
            row.status = "replied"
            result.replied += 1
        if parsed.callback_at is not None and parsed.reached is not None:
            row.callback_at = _aware(parsed.callback_at)
            row.callback_reached = parsed.reached
            row.rating = parsed.rating
            if parsed.reached:
                row.status = "closed"
            result.called_back += 1
        result.imported += 1
        result.ticket_nos.append(row.ticket_no)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="ticket.import",
        object_type="service_ticket",
        object_id=filename[:60],
        detail={"rows": result.imported},
    )
    return result
