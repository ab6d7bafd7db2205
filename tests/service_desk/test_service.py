"""Tickets on both backends: the life of a ticket, the indicators against hand counts, import."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories import make_branch
from hpf.auth.audit import utc
from hpf.auth.models import AuditRecord
from hpf.auth.principal import system_principal
from hpf.service_desk import importer, service, stats
from hpf.service_desk.models import Ticket
from hpf.service_desk.service import TicketInput, TicketStateError
from hpf.workflow.stats import BUSINESS_TZ

AGENT = system_principal("agent")


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUSINESS_TZ)  # type: ignore[misc]


def ticket(session: Session, channel: str, category: str, received: datetime) -> str:
    row = service.add_ticket(
        session,
        TicketInput(channel=channel, topic="提取咨询", category=category, received_at=received),
        AGENT,
    )
    return row.ticket_no


def test_life_of_a_ticket(session: Session) -> None:
    branch = make_branch(session)
    row = service.add_ticket(
        session,
        TicketInput(
            channel="12329",
            topic="贷款额度",
            category="投诉",
            received_at=cst(2023, 5, 2, 9, 0),
            caller_name="张三",
            branch_code=branch.code,
        ),
        AGENT,
    )
    assert row.ticket_no == f"GD20230502{row.id:06d}"
    assert utc(row.due_at) == cst(2023, 5, 7, 9, 0)  # complaint: 5 days (placeholder)
    number = row.ticket_no
    with pytest.raises(TicketStateError):
        service.callback(
            session, number, reached=True, rating="满意", actor=AGENT, now=cst(2023, 5, 3)
        )
    service.assign(session, number, "李四", AGENT, cst(2023, 5, 2, 10))
    service.escalate(session, number, "来电人再次来电", AGENT, cst(2023, 5, 3, 10))
    row = service.reply(session, number, "已答复额度计算方法", AGENT, cst(2023, 5, 4, 10))
    assert (row.status, row.escalation_level, row.assignee) == ("replied", 1, "李四")
    with pytest.raises(TicketStateError):
        service.reply(session, number, "再次答复", AGENT, cst(2023, 5, 4, 11))
    service.callback(session, number, reached=False, rating=None, actor=AGENT, now=cst(2023, 5, 5))
    assert service.get_ticket(session, number).status == "replied"  # try again later
    row = service.callback(
        session, number, reached=True, rating="基本满意", actor=AGENT, now=cst(2023, 5, 6)
    )
    assert (row.status, row.rating, row.callback_reached) == ("closed", "basic", True)
    actions = session.scalars(
        select(AuditRecord.action).where(AuditRecord.object_id == number).order_by(AuditRecord.id)
    ).all()
    assert actions == [
        "ticket.add",
        "ticket.assign",
        "ticket.escalate",
        "ticket.reply",
        "ticket.callback",
        "ticket.callback",
    ]


def test_escalate_overdue_is_set_based(session: Session) -> None:
    late = ticket(session, "12345", "consult", cst(2031, 1, 1, 9))
    fresh = ticket(session, "12345", "complaint", cst(2031, 1, 1, 9))
    assert service.escalate_overdue(session, cst(2031, 1, 3)) >= 1
    session.expire_all()
    assert service.get_ticket(session, late).status == "escalated"
    assert service.get_ticket(session, fresh).status == "open"


def _fixture_set(session: Session) -> None:
    """Seven tickets around May 2023 (China time); the hand counts are in the test below."""

    def full(
        channel: str,
        category: str,
        received: datetime,
        replied: datetime | None,
        callback: datetime | None = None,
        reached: bool = True,
        rating: str | None = None,
    ) -> None:
        number = ticket(session, channel, category, received)
        if replied is not None:
            service.reply(session, number, "答复", AGENT, replied)
        if callback is not None:
            service.callback(
                session, number, reached=reached, rating=rating, actor=AGENT, now=callback
            )

    # T1 call, consult (due 05-03 09:00), replied in time; callback reached, 满意
    full("12329", "consult", cst(2023, 5, 2, 9), cst(2023, 5, 2, 15), cst(2023, 5, 4), True, "满意")
    # T2 call, complaint (due 05-08 10:00), replied late; callback reached, 不满意
    full(
        "12329", "complaint", cst(2023, 5, 3, 10), cst(2023, 5, 9), cst(2023, 5, 10), True, "不满意"
    )
    # T3 call, help (due 05-13), replied in time; callback did not reach the person
    full("12345", "help", cst(2023, 5, 10), cst(2023, 5, 12), cst(2023, 5, 15), False)
    # T4 call, never answered
    full("12345", "consult", cst(2023, 5, 20), None)
    # T5 web message (not a call), replied; callback reached, 基本满意
    full(
        "web", "suggestion", cst(2023, 5, 21), cst(2023, 5, 22), cst(2023, 5, 23), True, "基本满意"
    )
    # T6 call received 04-30 23:30 China time (April), callback in May reached, 满意
    full(
        "12329",
        "consult",
        cst(2023, 4, 30, 23, 30),
        cst(2023, 5, 1, 8),
        cst(2023, 5, 2),
        True,
        "满意",
    )
    # T7 call received 05-31 23:50 China time (May), replied 06-01 in time, callback in June
    full(
        "12329",
        "consult",
        cst(2023, 5, 31, 23, 50),
        cst(2023, 6, 1, 9),
        cst(2023, 6, 2),
        True,
        "基本满意",
    )


def test_indicators_equal_hand_counts(session: Session) -> None:
    _fixture_set(session)
    ind = stats.indicators(session, date(2023, 5, 1), date(2023, 5, 31))
    # tickets received in May: T1 T2 T3 T4 T5 T7 = 6; calls among them: T1 T2 T3 T4 T7 = 5
    assert (ind.tickets, ind.calls) == (6, 5)
    # answered within the deadline: T1 T3 T7 = 3 → 来电答复率 3/5 = 60%
    assert ind.calls_replied_on_time == 3
    assert ind.call_reply_rate == Decimal("0.6")
    # callbacks in May: T1 T2 T3 T5 T6 = 5; reached: T1 T2 T5 T6 = 4
    # 满意 T1 T6 = 2, 基本满意 T5 = 1, 不满意 T2 = 1 → 满意率 (2+1)/4 = 75%
    assert (ind.callbacks, ind.callbacks_reached) == (5, 4)
    assert (ind.satisfied, ind.basic, ind.unsatisfied) == (2, 1, 1)
    assert ind.satisfaction_rate == Decimal("0.75")
    # June: T7's callback reached, 基本满意 → 1/1
    june = stats.indicators(session, date(2023, 6, 1), date(2023, 6, 30))
    assert (june.calls, june.callbacks_reached, june.satisfaction_rate) == (0, 1, Decimal(1))


HEADER = [
    "工单编号",
    "受理时间",
    "来源渠道",
    "来电人",
    "诉求主题",
    "工单类别",
    "答复时间",
    "回访时间",
    "回访是否成功",
    "满意度",
]


def _csv(rows: list[list[str]], encoding: str = "gbk") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode(encoding)


def test_import_gbk_csv_and_xlsx(session: Session) -> None:
    data = _csv(
        [
            [
                "RX-1",
                "2023-05-02 09:00",
                "12329",
                "王五",
                "缴存基数",
                "咨询",
                "2023-05-02 10:00",
                "2023-05-03 10:00",
                "是",
                "满意",
            ],
            ["RX-2", "2023/5/2 9:30", "12345热线", "", "提取进度", "求助", "", "", "", ""],
        ]
    )
    result = importer.import_tickets(session, data, "export.csv", AGENT)
    assert (result.imported, result.replied, result.called_back) == (2, 1, 1)
    first = service.get_ticket(session, "RX-1")
    assert (first.status, first.rating, first.source) == ("closed", "satisfied", "import")
    assert utc(first.received_at) == cst(2023, 5, 2, 9)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(["RX-3", datetime(2023, 5, 4, 8, 0), "网站留言", "", "贷款", "建议"])
    buf = io.BytesIO()
    wb.save(buf)
    assert importer.import_tickets(session, buf.getvalue(), "x.xlsx", AGENT).imported == 1
    assert service.get_ticket(session, "RX-3").channel == "web"


def test_import_is_all_or_nothing_with_row_errors(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(Ticket))
    data = _csv(
        [
            ["RY-1", "2023-05-02 09:00", "12329", "", "好的行", "咨询", "", "", "", ""],
            ["RY-2", "昨天", "12329", "", "时间错", "咨询", "", "", "", ""],
            ["RY-1", "2023-05-02 09:00", "传真", "", "", "咨询", "", "", "", ""],
            [
                "RY-4",
                "2023-05-02 09:00",
                "12329",
                "",
                "回访无评价",
                "咨询",
                "2023-05-02 10:00",
                "2023-05-03",
                "是",
                "",
            ],
        ],
        "utf-8-sig",
    )
    with pytest.raises(importer.TicketFileRejected) as caught:
        importer.import_tickets(session, data, "bad.csv", AGENT)
    errors = {(e.line_no, e.column) for e in caught.value.errors}
    assert errors == {
        (3, "受理时间"),
        (4, "工单编号"),
        (4, "来源渠道"),
        (4, "诉求主题"),
        (5, "满意度"),
    }
    assert session.scalar(select(func.count()).select_from(Ticket)) == before
    with pytest.raises(importer.TicketFileRejected, match="missing required columns"):
        importer.import_tickets(session, "编号,内容\n1,2\n".encode(), "x.csv", AGENT)
