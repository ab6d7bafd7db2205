"""Storing goal tables, bindings by hand, manual actuals with evidence (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.goals import registry, service
from hpf.goals.commands import sample_bytes
from hpf.goals.models import GoalActual, GoalIndicator, GoalTableRecord
from hpf.goals.parse import parse_file
from hpf.goals.report import evaluate
from hpf.ops.incidents import BUSINESS_LINES, log_incident
from hpf.policy.loader import get_policy

END = date(2023, 12, 31)
BUSINESS_LINE = next(iter(BUSINESS_LINES))


def _import(session: Session) -> GoalTableRecord:
    stored = service.import_table(
        session, parse_file(sample_bytes(), "s.txt"), source_name="s.txt", actor="t"
    )
    return stored.table


def _by_name(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {i["name"]: i for i in report["indicators"]}  # type: ignore[attr-defined, index]


def test_every_seed_indicator_is_bound_by_meaning(session: Session) -> None:
    table = _import(session)
    codes = [service.binding_code(i) for i in service.indicators(session, table)]
    assert codes == [
        "contributions", "new_depositors", "withdrawals", "loans_issued", "overdue_ratio",
        "value_added_distributed", "interest_paid", "satisfaction_rate", "call_reply_rate",
        "system_stability", "eaudit_completion", "data_security", "online_rate",
    ]  # fmt: skip
    assert registry.recognise("住房公积金缴存额") == "contributions"
    assert registry.recognise("某新指标", "反映个贷逾期额占比") == "manual"
    assert registry.recognise("某新指标", "反映按时答复率") == "call_reply_rate"


def test_reimport_replaces_and_keeps_hand_bindings_and_actuals(session: Session) -> None:
    table = _import(session)
    ind = service.find_indicator(session, table, "群众满意率")
    assert ind.seq == 8 and service.find_indicator(session, table, "8").id == ind.id
    service.set_binding(session, ind, "manual")
    service.record_actual(session, ind, "95%", "12345 通报", as_of=END, actor="t")
    again = service.import_table(
        session, parse_file(sample_bytes(), "s.txt"), source_name="s.txt", actor="t"
    )
    assert again.replaced and again.indicators == 13
    assert session.scalar(select(func.count()).select_from(GoalTableRecord)) == 1
    assert session.scalar(select(func.count()).select_from(GoalIndicator)) == 13
    new = service.find_indicator(session, again.table, "8")
    assert new.binding == "manual"
    assert session.scalar(select(func.count()).select_from(GoalActual)) == 1
    assert service.latest_actual(session, new, END) is not None


def test_manual_actuals_are_checked(session: Session) -> None:
    table = _import(session)
    ind = service.find_indicator(session, table, "1")
    with pytest.raises(InvalidInput, match="amount"):
        service.record_actual(session, ind, "90%", "x", as_of=END, actor="t")
    with pytest.raises(InvalidInput, match="evidence"):
        service.record_actual(session, ind, "85亿元", " ", as_of=END, actor="t")
    with pytest.raises(InvalidInput, match="unknown binding"):
        service.set_binding(session, ind, "nonsense")
    with pytest.raises(InvalidInput, match="no indicator 99"):
        service.find_indicator(session, table, "99")
    with pytest.raises(service.GoalTableNotFound):
        service.table_of(session, 2031)


def test_manual_values_fill_indicators_without_data(session: Session) -> None:
    table = _import(session)
    service.record_actual(
        session,
        service.find_indicator(session, table, "8"),
        "95%",
        "督查室通报",
        as_of=END,
        actor="t",
    )
    stability = service.find_indicator(session, table, "业务系统稳定性")
    service.set_binding(session, stability, "manual")
    service.record_actual(session, stability, "达成", "运维日志", as_of=END, actor="t")
    got = _by_name(evaluate(session, 2023, as_of=END, policy=get_policy()))
    sat = got["群众满意率"]
    assert sat["source"] == "manual" and sat["actual"] == {"value": "0.95", "text": "95%"}
    assert sat["status"] == "达成" and "督查室通报" in str(sat["evidence"])
    assert got["业务系统稳定性"]["status"] == "达成"
    assert got["业务系统稳定性"]["actual"]["value"] is None  # type: ignore[index]
    assert got["来电回复率"]["status"] == "未达成"  # no calls and nothing entered: no evidence
    mid = _by_name(evaluate(session, 2023, as_of=date(2023, 6, 30), policy=get_policy()))
    assert mid["群众满意率"]["source"] == "computed"  # entered as of the year end: not yet
    assert mid["来电回复率"]["status"] == "有风险"


def test_a_major_incident_breaks_system_stability(session: Session) -> None:
    _import(session)
    before = _by_name(evaluate(session, 2023, as_of=date(2023, 6, 30), policy=get_policy()))
    assert before["业务系统稳定性"]["status"] == "进度正常"
    log_incident(
        session,
        occurred_at=datetime(2023, 5, 4, 2, 0, tzinfo=UTC),
        severity="major",
        title="核心系统宕机",
        business_line=BUSINESS_LINE,
    )
    after = _by_name(evaluate(session, 2023, as_of=date(2023, 6, 30), policy=get_policy()))
    s = after["业务系统稳定性"]
    assert s["status"] == "未达成" and s["met"] is False and "重大 1" in str(s["evidence"])


def test_hotline_indicators_come_from_the_tickets(session: Session) -> None:
    from hpf.auth.principal import system_principal
    from hpf.service_desk import service as desk
    from hpf.service_desk import stats
    from hpf.service_desk.service import TicketInput
    from hpf.workflow.stats import BUSINESS_TZ

    _import(session)
    agent = system_principal("agent")

    def at(month: int, day: int, hour: int = 10) -> datetime:
        return datetime(2023, month, day, hour, tzinfo=BUSINESS_TZ)

    ratings = ("satisfied", "basic", "unsatisfied")
    for n, (late, rating) in enumerate(zip((False, False, True), ratings, strict=True)):
        row = desk.add_ticket(
            session,
            TicketInput(
                channel="12329", topic="提取咨询", category="consult", received_at=at(3, 1 + n)
            ),
            agent,
        )
        replied = at(3, 20) if late else at(3, 1 + n, 15)
        desk.reply(session, row.ticket_no, "已答复", agent, replied)
        desk.callback(
            session, row.ticket_no, reached=True, rating=rating, actor=agent, now=at(3, 25)
        )
    got = _by_name(evaluate(session, 2023, as_of=END, policy=get_policy()))
    t = stats.indicators(session, date(2023, 1, 1), END)
    assert (t.calls, t.calls_replied_on_time, t.callbacks_reached) == (3, 2, 3)
    for name in ("群众满意率", "来电回复率"):
        assert got[name]["source"] == "computed"
        assert got[name]["actual"]["value"] == "0.666667"  # type: ignore[index]
        assert got[name]["status"] == "未达成"
        assert got[name]["completion"] in ("0.740741", "0.666667")
